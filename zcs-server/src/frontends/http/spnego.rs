//! `GET /service/spnego`: SPNEGO single sign-on (Zimbra's SpnegoAuthServlet, admin guide
//! appendix B; HTTP Negotiate is RFC 4559). Without an `Authorization: Negotiate` header
//! the answer is `401` with `WWW-Authenticate: Negotiate` (RFC 4559 §4.1), whose page
//! sends a browser that cannot negotiate on to `zimbraSpnegoAuthErrorURL`. With one, the
//! Kerberos ticket in it is checked against this server's keytab
//! ([`zcs_directory::auth::spnego`]), the client principal's account logs in (status
//! checked, failed-login throttle applied) and gets the `ZM_AUTH_TOKEN` cookie a password
//! login would get, with a redirect to the web client (`redirectURL` when it is a local
//! path); the AP-REP of mutual authentication rides in the answer's
//! `WWW-Authenticate: Negotiate` (RFC 4559 §5). A refused token redirects to
//! `zimbraSpnegoAuthErrorURL` when set, else answers `401` (bad token, unknown
//! principal) or `403` (an account that may not log in). With `zimbraSpnegoAuthEnabled`
//! FALSE the URL is `404`.
//!
//! The keytab is [`DEFAULT_KEYTAB`] unless [`configure`] named another file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::collections::HashMap;
use zcs_core::{FaultCode, ServiceError};
use zcs_directory::auth::spnego::{DEFAULT_KEYTAB, Spnego, SpnegoError, SpnegoSettings};

use super::{AppState, caller_of, text};

/// The acceptor of this process (its keytab and replay cache).
static ACCEPTOR: OnceLock<Spnego> = OnceLock::new();

/// Names the keytab file SPNEGO reads (Zimbra's
/// `<zimbra home>/data/mailboxd/spnego/jetty.keytab`). Call before the first request;
/// false when the acceptor was already set up (the first name stays).
pub fn configure(keytab: impl Into<PathBuf>) -> bool {
    ACCEPTOR.set(Spnego::new(keytab)).is_ok()
}

/// The keytab under the server's home, used when [`configure`] named none.
static HOME_KEYTAB: OnceLock<PathBuf> = OnceLock::new();

/// Names the server home's keytab (`<home>/data/mailboxd/spnego/jetty.keytab`): the one
/// read unless [`configure`] named another before the first request. The first call wins.
pub fn default_keytab(keytab: PathBuf) {
    let _ = HOME_KEYTAB.set(keytab);
}

fn acceptor() -> &'static Spnego {
    ACCEPTOR.get_or_init(|| match HOME_KEYTAB.get() {
        Some(p) => Spnego::new(p.clone()),
        None => Spnego::new(DEFAULT_KEYTAB),
    })
}

/// The token of an `Authorization: Negotiate <token>` header (scheme without case).
fn negotiate_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("Negotiate")
                .then(|| rest.trim())
        })
}

/// Where to send the browser after a login: `redirectURL` when it is a local path (no
/// scheme, no `//`, no backslash, no control character), else `/`.
fn local_target(asked: Option<&str>) -> &str {
    match asked {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.bytes().any(|b| b.is_ascii_control()) =>
        {
            p
        }
        _ => "/",
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `401` with `WWW-Authenticate: Negotiate`; a browser that cannot answer shows the page,
/// which moves on to the error URL when one is set.
fn challenge(error_url: Option<&str>) -> Response {
    let body = match error_url {
        Some(u) => format!(
            "<html><head><meta http-equiv=\"refresh\" content=\"0;url={0}\"></head>\
             <body><a href=\"{0}\">Log in</a></body></html>\n",
            html_escape(u)
        ),
        None => "<html><body>Kerberos single sign-on required.</body></html>\n".into(),
    };
    let mut resp = (StatusCode::UNAUTHORIZED, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Negotiate"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The fault a login gets for a refused SPNEGO attempt: `account.AUTH_FAILED` for what
/// the client sent (counted by the failed-login throttle), the status fault for an
/// account that may not log in, `service.FAILURE` for our own misconfiguration.
fn fault(e: SpnegoError) -> ServiceError {
    match e {
        SpnegoError::Token(_) | SpnegoError::Accept(_) | SpnegoError::NoAccount(_) => {
            ServiceError::auth_failed()
        }
        SpnegoError::Status { fault, .. } => fault,
        SpnegoError::Disabled => ServiceError::new(FaultCode::Failure, "SPNEGO disabled"),
        SpnegoError::Keytab { .. } | SpnegoError::Directory(_) => {
            ServiceError::new(FaultCode::Failure, e.to_string())
        }
    }
}

/// `GET /service/spnego`.
pub(super) async fn spnego(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let svc = &state.svc;
    let settings = match SpnegoSettings::load(&svc.prov).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(code = %e.code, "spnego: cannot read the settings");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "directory unavailable\n");
        }
    };
    if !settings.enabled {
        return text(StatusCode::NOT_FOUND, "SPNEGO is not enabled\n");
    }
    let Some(token) = negotiate_token(&headers) else {
        return challenge(settings.error_url.as_deref());
    };
    let caller = caller_of(&state, peer, &headers).await;
    let spnego = acceptor();
    let mut answer: Vec<u8> = Vec::new();
    let mut failure: Option<String> = None;
    let mut status_refused = false;
    let login = async {
        match spnego.login(&svc.prov, &settings, token).await {
            Ok(l) => {
                tracing::info!(principal = %l.principal, account = %l.account.name,
                    ip = %caller.remote_ip, "spnego: ticket accepted");
                answer = l.response_token;
                Ok(l.account)
            }
            Err(e) => {
                match &e {
                    SpnegoError::Keytab { .. } | SpnegoError::Directory(_) => {
                        tracing::error!(ip = %caller.remote_ip, error = %e,
                            "spnego: server misconfigured");
                    }
                    _ => tracing::info!(ip = %caller.remote_ip, reason = %e,
                        "spnego: login refused"),
                }
                failure = Some(e.to_string());
                status_refused = matches!(e, SpnegoError::Status { .. });
                Err(fault(e))
            }
        }
    };
    match svc.sso_cookie(&caller, "spnego", login).await {
        Ok(cookie) => {
            let mut resp = redirect(local_target(query.get("redirectURL").map(String::as_str)));
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.insert(header::SET_COOKIE, v);
            }
            if !answer.is_empty() {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&answer);
                if let Ok(v) = HeaderValue::from_str(&format!("Negotiate {b64}")) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            resp
        }
        Err(e) => {
            if failure.is_none() {
                // Refused before the token was looked at (a suspended address).
                tracing::info!(ip = %caller.remote_ip, code = %e.code, "spnego: login refused");
            }
            if let Some(url) = settings.error_url.as_deref() {
                return redirect(url);
            }
            // An authentic principal whose account may not log in is forbidden, not
            // challenged again.
            if status_refused {
                return text(StatusCode::FORBIDDEN, "account may not log in\n");
            }
            match e.code {
                FaultCode::AuthFailed => challenge(None),
                FaultCode::Failure => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "single sign-on is misconfigured on this server\n",
                ),
                _ => text(StatusCode::FORBIDDEN, "account may not log in\n"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_header_and_targets() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(negotiate_token(&h), None);
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("negotiate  YWJj "),
        );
        assert_eq!(negotiate_token(&h), Some("YWJj"));
        assert_eq!(local_target(Some("/zimbra/")), "/zimbra/");
        for bad in ["//evil.test", "https://evil.test", "/\\x", "x", "/a\nb"] {
            assert_eq!(local_target(Some(bad)), "/", "{bad}");
        }
        assert_eq!(html_escape("/a?b=\"<c>&"), "/a?b=&quot;&lt;c&gt;&amp;");
    }

    #[test]
    fn faults() {
        use zcs_directory::auth::spnego::TokenError;
        assert_eq!(
            fault(SpnegoError::Token(TokenError::Ntlm)).code,
            FaultCode::AuthFailed
        );
        assert_eq!(
            fault(SpnegoError::NoAccount("x@R".into())).code,
            FaultCode::AuthFailed
        );
        let keytab = SpnegoError::Keytab {
            path: "/k".into(),
            reason: "missing".into(),
        };
        assert_eq!(fault(keytab).code, FaultCode::Failure);
    }
}
