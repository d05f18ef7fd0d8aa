//! Who may read `/metrics` on the admin port (decision
//! `docs/decisions/2026-12-05-metrics-access.md`): a client whose address is in the local
//! config's `zcs_metrics_allowed_addresses` (networks in CIDR notation; loopback by
//! default), or any client presenting a valid global-admin auth token, as
//! `Authorization: Bearer <token>` or the `ZM_ADMIN_AUTH_TOKEN` cookie. Everyone else gets
//! `401 Unauthorized`. The allow-list is re-read from the local config on every request,
//! so `zmlocalconfig -e` applies without a restart.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zcs_directory::Provisioning;
use zcs_mta::Cidr;

use crate::frontends::Context;
use crate::localconfig::LocalConfig;
use crate::soap::token;
use crate::soap::token::ledger::TokenLedger;

/// The local config key holding the allowed networks.
pub const ALLOW_KEY: &str = "zcs_metrics_allowed_addresses";

/// Its default: the loopback networks (a Prometheus or node agent on this host).
pub const DEFAULT_ALLOW: &str = "127.0.0.0/8 ::1/128";

/// Why a request was let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granted {
    /// The client's address is in the allow-list.
    Address,
    /// The client presented a valid global-admin auth token.
    AdminToken,
}

/// The networks of an allow-list setting (separated by spaces or commas). Entries that
/// do not parse are returned apart so the caller can log them; they allow nothing.
pub fn parse_allow(value: &str) -> (Vec<Cidr>, Vec<String>) {
    let mut nets = Vec::new();
    let mut bad = Vec::new();
    for word in value
        .split([' ', ',', '\t', '\n'])
        .filter(|w| !w.is_empty())
    {
        match word.parse::<Cidr>() {
            Ok(c) => nets.push(c),
            Err(_) => bad.push(word.to_string()),
        }
    }
    (nets, bad)
}

/// Whether `ip` is inside one of `nets` (IPv4-mapped IPv6 addresses count as IPv4).
pub fn address_allowed(nets: &[Cidr], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(ip))
}

/// The auth token a scrape presents: `Authorization: Bearer <token>` first, else the
/// `ZM_ADMIN_AUTH_TOKEN` cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        })
        .filter(|t| !t.is_empty());
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "ZM_ADMIN_AUTH_TOKEN")
            .map(|(_, v)| v.to_string())
            .filter(|t| !t.is_empty())
    })
}

/// Whether `tok` is a live admin token of an active global administrator: signed with
/// this installation's key, not expired, still registered on the account (not ended by
/// EndSession), issued by the admin AuthRequest, and the account is an admin
/// (`zimbraIsAdminAccount`). Delegated administrators are not enough.
pub async fn admin_token_valid(prov: &Provisioning, tokens: &TokenLedger, tok: &str) -> bool {
    let Ok(key) = token::load_key(prov).await else {
        return false;
    };
    let now = chrono::Utc::now().timestamp_millis();
    let Ok(data) = token::decode(&key, tok, now) else {
        return false;
    };
    if !data.admin {
        return false;
    }
    let Ok(Some(account)) = prov.find_account(&data.account.to_string()).await else {
        return false;
    };
    let flag = |name: &str| {
        account
            .attrs
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    let active = matches!(
        account.attrs.get("zimbraAccountStatus").unwrap_or("active"),
        "active" | "lockout"
    );
    active && flag("zimbraIsAdminAccount") && tokens.is_registered(&account, data.tid)
}

/// Decides one `/metrics` request from `peer`.
///
/// # Errors
/// The `401 Unauthorized` response to send (with `WWW-Authenticate: Bearer`), when the
/// address is not allowed and no valid admin token came with the request.
pub async fn check(ctx: &Context, peer: IpAddr, headers: &HeaderMap) -> Result<Granted, Response> {
    let setting = LocalConfig::load(&ctx.home)
        .ok()
        .and_then(|lc| lc.get(ALLOW_KEY))
        .unwrap_or_else(|| DEFAULT_ALLOW.to_string());
    let (nets, bad) = parse_allow(&setting);
    if !bad.is_empty() {
        tracing::warn!(key = ALLOW_KEY, entries = ?bad, "unreadable networks ignored");
    }
    if address_allowed(&nets, peer) {
        return Ok(Granted::Address);
    }
    if let Some(tok) = presented_token(headers)
        && admin_token_valid(
            &ctx.subs.prov,
            &TokenLedger::shared(ctx.subs.prov.clone()),
            &tok,
        )
        .await
    {
        return Ok(Granted::AdminToken);
    }
    tracing::info!(target: "zimbra.security", ip = %peer,
        "/metrics refused: address not in zcs_metrics_allowed_addresses and no admin token");
    let mut resp = (StatusCode::UNAUTHORIZED, "admin auth token required\n").into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"zcs metrics\""),
    );
    Err(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_loopback_only() {
        let (nets, bad) = parse_allow(DEFAULT_ALLOW);
        assert!(bad.is_empty());
        for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(address_allowed(&nets, ip.parse().unwrap()), "{ip}");
        }
        for ip in ["192.0.2.1", "10.0.0.1", "::2", "2001:db8::1"] {
            assert!(!address_allowed(&nets, ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn allow_list_reads_networks_and_sets_bad_entries_apart() {
        let (nets, bad) = parse_allow("192.0.2.0/24, [2001:db8::]/32 nonsense 10.1.2.3");
        assert_eq!(nets.len(), 3);
        assert_eq!(bad, vec!["nonsense".to_string()]);
        assert!(address_allowed(&nets, "192.0.2.77".parse().unwrap()));
        assert!(address_allowed(&nets, "2001:db8:5::1".parse().unwrap()));
        assert!(address_allowed(&nets, "10.1.2.3".parse().unwrap()));
        assert!(!address_allowed(&nets, "10.1.2.4".parse().unwrap()));
        assert!(!address_allowed(&nets, "127.0.0.1".parse().unwrap()));
        let (none, _) = parse_allow("");
        assert!(!address_allowed(&none, "127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn token_comes_from_bearer_then_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h), None);
        h.insert(
            header::COOKIE,
            "a=b; ZM_ADMIN_AUTH_TOKEN=tok2".parse().unwrap(),
        );
        assert_eq!(presented_token(&h).as_deref(), Some("tok2"));
        h.insert(header::AUTHORIZATION, "Bearer tok1".parse().unwrap());
        assert_eq!(presented_token(&h).as_deref(), Some("tok1"));
        h.insert(header::AUTHORIZATION, "Basic dXNlcjpwdw==".parse().unwrap());
        assert_eq!(presented_token(&h).as_deref(), Some("tok2"));
    }
}
