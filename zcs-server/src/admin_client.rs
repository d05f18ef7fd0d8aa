//! A tool's way into the running server of its home: one admin SOAP request (JSON) to
//! the admin port the server reported in `log/zcs.listeners`, over TLS with the
//! certificate pinned to this home's, authenticated by an admin token the tool mints
//! and revokes itself (it can read the directory, as Zimbra's tools run as the zimbra
//! user). `zmprov flushCache` and zmprov's changes use it so the running server's
//! directory cache sees them.
//!
//! Not in charge of deciding what to ask; a stopped server is not an error here.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zcs_core::EntryKind;
use zcs_directory::Provisioning;

use crate::home::Home;
use crate::soap::token::{self, TokenData};

/// How long a minted token lives (it is revoked right after the request anyway).
const TOKEN_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// Sends the admin request `name` (e.g. `FlushCacheRequest`) with JSON body `request`
/// to the server running on `home`, and returns the response element's JSON.
/// `Ok(None)` when no server runs there.
///
/// # Errors
/// A text for the operator: no admin listener, no admin account, TLS or HTTP failure,
/// or the server's fault (`code: reason`).
pub async fn call_running_server(
    home: &Home,
    prov: &Provisioning,
    name: &str,
    request: serde_json::Value,
) -> Result<Option<serde_json::Value>, String> {
    if crate::control::running_pid(home).is_none() {
        return Ok(None);
    }
    let mut addr = crate::control::read_listeners(home)
        .into_iter()
        .find(|l| l.protocol == "admin" && l.error.is_none())
        .map(|l| l.addr)
        .ok_or("the server runs but reports no admin listener")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    // Only the administrators are read, not every account of a large directory.
    let admins = zcs_directory::SearchQuery::new(&[EntryKind::Account]).with_filter(
        zcs_directory::provisioning::member_url::Filter::Equal(
            "zimbraIsAdminAccount".into(),
            "TRUE".into(),
        ),
    );
    let admin = prov
        .directory()
        .search_entries(&admins)
        .await
        .map_err(|e| e.to_string())?
        .entries
        .into_iter()
        .find(|a| {
            a.attrs
                .get("zimbraIsAdminAccount")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
                && a.attrs
                    .get("zimbraAccountStatus")
                    .is_none_or(|s| s.eq_ignore_ascii_case("active"))
        })
        .ok_or("no active admin account to send the request as")?;
    let key = token::load_key(prov).await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    let data = TokenData {
        account: admin.id,
        expires_ms: now + TOKEN_LIFETIME_MS,
        admin: true,
        tid: token::new_tid(),
    };
    token::register(prov, &admin, &data, now)
        .await
        .map_err(|e| e.to_string())?;
    let tok = token::encode(&key, &data);
    let body = serde_json::json!({
        "Header": { "context": { "_jsns": "urn:zimbra", "authToken": tok } },
        "Body": { name: request },
    })
    .to_string();
    let reply = post(home, addr, &tok, &body).await;
    if let Ok(Some(fresh)) = prov.find_account(&admin.id.to_string()).await
        && let Err(e) = token::unregister(prov, &fresh, data.tid).await
    {
        tracing::warn!(error = %e, "could not revoke the token a tool used");
    }
    let json: serde_json::Value =
        serde_json::from_str(&reply?).map_err(|e| format!("bad reply from the server: {e}"))?;
    let body = &json["Body"];
    if let Some(fault) = body.get("Fault") {
        let code = fault["Detail"]["Error"]["Code"].as_str().unwrap_or("");
        let why = fault["Reason"]["Text"].as_str().unwrap_or("request failed");
        return Err(format!("{code}: {why}"));
    }
    let resp = name.strip_suffix("Request").unwrap_or(name).to_string() + "Response";
    Ok(Some(body[resp.as_str()].clone()))
}

/// POSTs `body` (JSON) to `/service/admin/soap` at `addr` over TLS with the admin token
/// `tok` as cookie, trusting exactly the certificate this home's server presents;
/// returns the reply body (dechunked). Shared by the tools that talk to the running
/// server (`zmprov fc`, `zmrestore`, `zmmboxsearch`).
///
/// # Errors
/// The certificate cannot be read, the connection or TLS fails, or no reply came.
pub async fn post(home: &Home, addr: SocketAddr, tok: &str, body: &str) -> Result<String, String> {
    let (cert_path, _) = crate::tls::CertPaths::new(home.root()).active();
    let pinned = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| format!("read {}: {e}", cert_path.display()))?
        .next()
        .ok_or_else(|| format!("no certificate in {}", cert_path.display()))?
        .map_err(|e| format!("read {}: {e}", cert_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        cert: pinned.into_owned(),
        algs: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to the admin port {addr}: {e}"))?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS to the admin port {addr}: {e}"))?;
    // RFC 9112 §3: one request, the connection closed after the reply.
    // No cookie before a login: an empty token would read as a bad one.
    let cookie = if tok.is_empty() {
        String::new()
    } else {
        format!("Cookie: ZM_ADMIN_AUTH_TOKEN={tok}\r\n")
    };
    let head = format!(
        "POST /service/admin/soap HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         {cookie}Connection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes())
        .await
        .and(tls.write_all(body.as_bytes()).await)
        .and(tls.flush().await)
        .map_err(|e| format!("send the request: {e}"))?;
    let mut raw = Vec::new();
    // A server closing without close_notify still sent the whole reply.
    if let Err(e) = tls.read_to_end(&mut raw).await
        && raw.is_empty()
    {
        return Err(format!("read the reply: {e}"));
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or("the server closed the connection before replying")?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(rest));
    }
    Ok(rest.to_string())
}

/// The body of a chunked HTTP/1.1 reply (RFC 9112 §7.1).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Accepts exactly the certificate this home's server presents (loopback to our own
/// server: no name to check against a public CA), still checking handshake signatures.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the admin port presents another certificate than this home's".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
        assert_eq!(dechunk("zz\r\nhello"), "");
    }

    #[tokio::test]
    async fn a_stopped_server_is_not_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = Home::at(tmp.path());
        let dir = zcs_directory::SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
            .await
            .expect("open");
        let prov = Provisioning::new(Arc::new(dir), zcs_directory::AuthRegistry::with_builtins());
        let r = call_running_server(&home, &prov, "FlushCacheRequest", serde_json::json!({})).await;
        assert_eq!(r, Ok(None));
    }
}
