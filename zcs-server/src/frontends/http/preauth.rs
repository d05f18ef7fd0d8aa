//! `GET /service/preauth?account=&by=&timestamp=&expires=&preauth=[&redirectURL=]`
//! (Zimbra's PreAuthServlet, `store/docs/preauth.md`): a portal that holds the domain's
//! `zimbraPreAuthKey` signs a login for a user; a valid, fresh signature sets the
//! `ZM_AUTH_TOKEN` cookie and redirects to the web client (or `redirectURL`, when it is
//! a path on this server). A wrong or stale one gets 400 and no cookie, and counts as a
//! failed login of the client's address. On the admin port `admin=1` signs an admin
//! login and sets `ZM_ADMIN_AUTH_TOKEN` instead (`SoapService::preauth_cookie`).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zcs_core::FaultCode;

use super::{AppState, caller_of, text};

/// Where to send the browser: `redirectURL` when it is a local path (never another
/// site: no scheme, no `//`, no backslash), else `/`.
fn redirect_target(asked: Option<&str>) -> String {
    match asked {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.bytes().any(|b| b.is_ascii_control()) =>
        {
            p.to_string()
        }
        _ => "/".into(),
    }
}

/// `GET /service/preauth`.
pub async fn preauth(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = caller_of(&state, peer, &headers).await;
    match state.svc.preauth_cookie(&caller, &query).await {
        Ok(cookie) => {
            let target = redirect_target(query.get("redirectURL").map(String::as_str));
            let mut resp = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&target) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) if e.code == FaultCode::InvalidRequest => {
            text(StatusCode::BAD_REQUEST, format!("{}\n", e.message))
        }
        Err(_) => text(StatusCode::BAD_REQUEST, "authentication failed\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_local() {
        assert_eq!(redirect_target(None), "/");
        assert_eq!(
            redirect_target(Some("/zimbra/?app=mail")),
            "/zimbra/?app=mail"
        );
        for bad in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil",
            "evil",
            "/a\r\nb",
        ] {
            assert_eq!(redirect_target(Some(bad)), "/", "{bad}");
        }
    }
}
