//! `zmprov`'s reverse-proxy commands (spec/06 §2.14), read from the directory as the
//! proxy's configuration generator takes them: `getAllReverseProxyURLs garpu` (the
//! route-lookup URL of every lookup target), `getAllReverseProxyBackends garpb` (the
//! `server host:port;` upstream lines) and `getAllReverseProxyDomains garpd` (domains
//! with their own certificate and virtual host names).

use zcs_core::Entry;
use zcs_directory::Provisioning;

use super::commands::CmdError;
use crate::home::Home;
use crate::localconfig::LocalConfig;

/// The route-lookup path on a mailbox server's extension port.
const LOOKUP_PATH: &str = "/service/extension/nginx-lookup";

/// What `garpb` prints when no server is a lookup target: one placeholder upstream, so
/// the generated configuration is never an empty `upstream {}` block (Zimbra's output).
const NO_BACKEND: &str = "    server localhost:8080;\n";

/// `server`'s value of `attr`, else the global config's.
fn attr(server: &Entry, global: &Entry, attr: &str) -> Option<String> {
    Provisioning::server_attr(server, global, attr)
}

/// Whether `server` is a reverse-proxy lookup target (`zimbraReverseProxyLookupTarget`).
fn is_target(server: &Entry, global: &Entry) -> bool {
    attr(server, global, "zimbraReverseProxyLookupTarget")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The host name the proxy reaches `server` by.
fn host(server: &Entry) -> String {
    server
        .attrs
        .get("zimbraServiceHostname")
        .unwrap_or(&server.name)
        .to_string()
}

/// Whether `server` runs the mailbox service (`zimbraServiceEnabled`).
fn runs_mailbox(server: &Entry) -> bool {
    server
        .attrs
        .get_all("zimbraServiceEnabled")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("mailbox"))
}

/// Local config `zimbra_require_interprocess_security` (default on): whether the proxy
/// must reach a `mixed`/`both` mailbox server over TLS.
fn interprocess_security() -> bool {
    let value = Home::from_env()
        .ok()
        .and_then(|h| LocalConfig::load(&h).ok())
        .and_then(|lc| lc.get("zimbra_require_interprocess_security"));
    !matches!(
        value.as_deref().map(str::trim),
        Some("0" | "false" | "FALSE")
    )
}

/// `garpu`: `<host>:<zimbraExtensionBindPort>/service/extension/nginx-lookup` of every
/// mailbox server that is a lookup target, on one line, each followed by a space.
pub(super) async fn urls(p: &Provisioning, _a: &[String]) -> Result<String, CmdError> {
    let global = p.global_config().await?;
    let mut line = String::new();
    for s in p.all_servers().await? {
        if !runs_mailbox(&s) || !is_target(&s, &global) {
            continue;
        }
        let port = attr(&s, &global, "zimbraExtensionBindPort").unwrap_or_else(|| "7072".into());
        line.push_str(&format!("{}:{port}{LOOKUP_PATH} ", host(&s)));
    }
    line.push('\n');
    Ok(line)
}

/// The upstream line of `server` given the interprocess-security setting: the plain
/// port for mail mode `http` (and `mixed`/`both` when security is off), else the TLS
/// port; `None` without a mail mode (the registry's default, `http`, normally fills it).
fn backend_line(server: &Entry, global: &Entry, secure: bool) -> Option<String> {
    let mode = attr(server, global, "zimbraMailMode")?.to_ascii_lowercase();
    let plain = mode == "http" || (!secure && (mode == "mixed" || mode == "both"));
    let port_attr = if plain {
        "zimbraMailPort"
    } else {
        "zimbraMailSSLPort"
    };
    let port = attr(server, global, port_attr)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    Some(format!("    server {}:{port};\n", host(server)))
}

/// `garpb`: one `    server <host>:<port>;` line per lookup-target server with a mail
/// mode (see [`backend_line`]), or a `localhost:8080` placeholder when there is none.
pub(super) async fn backends(p: &Provisioning, _a: &[String]) -> Result<String, CmdError> {
    let global = p.global_config().await?;
    let secure = interprocess_security();
    let mut out = String::new();
    for s in p.all_servers().await? {
        if !is_target(&s, &global) {
            continue;
        }
        if let Some(line) = backend_line(&s, &global, secure) {
            out.push_str(&line);
        }
    }
    if out.is_empty() {
        out.push_str(NO_BACKEND);
    }
    Ok(out)
}

/// `garpd`: `<domain> <vhost> <vhost> ...` (each virtual host followed by a space) for
/// every domain holding `zimbraVirtualHostname`, `zimbraSSLCertificate` and
/// `zimbraSSLPrivateKey`.
pub(super) async fn domains(p: &Provisioning, _a: &[String]) -> Result<String, CmdError> {
    let mut out = String::new();
    for d in p.all_domains().await? {
        let hosts = d.attrs.get_all("zimbraVirtualHostname");
        let has = |a: &str| d.attrs.get(a).is_some_and(|v| !v.is_empty());
        if hosts.is_empty() || !has("zimbraSSLCertificate") || !has("zimbraSSLPrivateKey") {
            continue;
        }
        out.push_str(&d.name);
        out.push(' ');
        for h in hosts {
            out.push_str(h);
            out.push(' ');
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use zcs_core::{EntryKind, ZimbraId};

    use super::*;

    fn server(pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = zcs_core::Attrs::new();
        for (k, v) in pairs {
            attrs.add(k, *v);
        }
        Entry {
            kind: EntryKind::Server,
            id: ZimbraId::new(),
            name: "mbs.ex.test".into(),
            attrs,
        }
    }

    #[test]
    fn backend_port_follows_mail_mode_and_security() {
        let g = Entry {
            kind: EntryKind::GlobalConfig,
            id: ZimbraId::new(),
            name: "config".into(),
            attrs: zcs_core::Attrs::new(),
        };
        let s = server(&[
            ("zimbraMailMode", "both"),
            ("zimbraMailPort", "8080"),
            ("zimbraMailSSLPort", "8443"),
            ("zimbraServiceHostname", "mbs1.ex.test"),
        ]);
        assert_eq!(
            backend_line(&s, &g, true).as_deref(),
            Some("    server mbs1.ex.test:8443;\n")
        );
        assert_eq!(
            backend_line(&s, &g, false).as_deref(),
            Some("    server mbs1.ex.test:8080;\n")
        );
        let http = server(&[("zimbraMailMode", "http"), ("zimbraMailPort", "80")]);
        assert_eq!(
            backend_line(&http, &g, true).as_deref(),
            Some("    server mbs.ex.test:80;\n")
        );
    }
}
