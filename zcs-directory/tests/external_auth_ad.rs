//! Active Directory authentication (`zimbraAuthMech ad`).
//!
//! A fake directory on 127.0.0.1 (a few lines of BER, enough for a simple bind and an
//! unbind, RFC 4511 §4.2 / §4.3) records every bind name it receives, so the tests see
//! exactly what `ad` sends: the address by default (`%n`), the admin console's
//! `%u@<AD domain>` template, the search filter ignored as in Zimbra, a wrong password
//! refused, and `zimbraAuthFallbackToLocal`. The last test runs `ad` against the second
//! real slapd (the customer's directory, skipped loudly when unset) with a DN template.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::{AuthContext, EntryKey};

/// The only password the fake directory accepts.
const AD_PASSWORD: &str = "Ad-Secret1";

fn login() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

fn set(pairs: &[(&str, &str)]) -> Vec<AttrEdit> {
    pairs
        .iter()
        .map(|(n, v)| {
            let values = if v.is_empty() {
                vec![]
            } else {
                vec![v.to_string()]
            };
            AttrEdit::Replace((*n).into(), values)
        })
        .collect()
}

/// Reads one BER element (tag, contents) or `None` at end of stream.
async fn read_tlv(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let tag = s.read_u8().await.ok()?;
    let first = s.read_u8().await.ok()?;
    let len = if first & 0x80 == 0 {
        usize::from(first)
    } else {
        let mut n = 0usize;
        for _ in 0..(first & 0x7f) {
            n = (n << 8) | usize::from(s.read_u8().await.ok()?);
        }
        n
    };
    if len > 64 * 1024 {
        return None;
    }
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.ok()?;
    Some((tag, body))
}

/// Splits BER contents into (tag, value) elements (short and long lengths).
fn elements(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while b.len() >= 2 {
        let tag = b[0];
        let (len, head) = if b[1] & 0x80 == 0 {
            (usize::from(b[1]), 2)
        } else {
            let n = usize::from(b[1] & 0x7f);
            let len = b[2..2 + n]
                .iter()
                .fold(0usize, |a, x| (a << 8) | usize::from(*x));
            (len, 2 + n)
        };
        out.push((tag, b[head..head + len].to_vec()));
        b = &b[head + len..];
    }
    out
}

/// A fake AD: answers simple binds (success only for [`AD_PASSWORD`], else 49
/// invalidCredentials, RFC 4511 §4.1.9), records each bind name, and counts the
/// sessions the client ended with an UnbindRequest (RFC 4511 §4.3).
async fn fake_ad() -> (
    String,
    Arc<Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("ldap://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let unbinds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ended = unbinds.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let log = log.clone();
            let ended = ended.clone();
            tokio::spawn(async move {
                while let Some((0x30, msg)) = read_tlv(&mut s).await {
                    let parts = elements(&msg);
                    let (Some((0x02, id)), Some((op, body))) = (parts.first(), parts.get(1)) else {
                        return;
                    };
                    if *op == 0x42 {
                        ended.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    if *op != 0x60 {
                        return; // unbind (0x42) or anything else ends the session
                    }
                    let fields = elements(body);
                    let name = String::from_utf8_lossy(&fields[1].1).into_owned();
                    let password = fields[2].1.clone();
                    log.lock().expect("log").push(name);
                    let rc = if password == AD_PASSWORD.as_bytes() {
                        0
                    } else {
                        49
                    };
                    // BindResponse: [APPLICATION 1] { resultCode, matchedDN, diagnostic }
                    let mut resp = vec![0x02, id.len() as u8];
                    resp.extend_from_slice(id);
                    resp.extend_from_slice(&[0x61, 7, 0x0a, 1, rc, 0x04, 0, 0x04, 0]);
                    let mut out = vec![0x30, resp.len() as u8];
                    out.extend_from_slice(&resp);
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen, unbinds)
}

#[tokio::test]
async fn ad_binds_with_the_account_name_and_template() {
    let (url, seen, unbinds) = fake_ad().await;
    let f = common::fixture().await;
    let p = &f.prov;
    p.create_domain("corp.test", Attrs::new()).await.unwrap();
    p.create_account("joe@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .unwrap();
    let dom = EntryKey::Name("corp.test".into());
    p.modify_domain(
        &dom,
        &set(&[("zimbraAuthMech", "ad"), ("zimbraAuthLdapURL", &url)]),
    )
    .await
    .unwrap();
    let take = || std::mem::take(&mut *seen.lock().expect("log"));

    // Default: the account's full address is the bind name.
    p.authenticate("joe@corp.test", AD_PASSWORD, &login())
        .await
        .expect("AD password accepted");
    assert_eq!(take(), ["joe@corp.test"]);
    // Spec 01 §6 idea 11: the connection is closed (unbound) after the bind.
    for _ in 0..100 {
        if unbinds.load(std::sync::atomic::Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        unbinds.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "unbound"
    );

    // The admin console's template: local part at the AD domain.
    p.modify_domain(&dom, &set(&[("zimbraAuthLdapBindDn", "%u@ad.corp.test")]))
        .await
        .unwrap();
    p.authenticate("joe@corp.test", AD_PASSWORD, &login())
        .await
        .expect("AD password accepted");
    assert_eq!(take(), ["joe@ad.corp.test"]);

    // `ad` ignores the search filter (Zimbra's externalLdapAuth): still one bind with
    // the template, no search bind first.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthLdapSearchFilter", "(mail=%n)"),
            ("zimbraAuthLdapSearchBindDn", "cn=searcher"),
            ("zimbraAuthLdapSearchBindPassword", "x"),
        ]),
    )
    .await
    .unwrap();
    p.authenticate("joe@corp.test", AD_PASSWORD, &login())
        .await
        .expect("AD password accepted with a search filter set");
    assert_eq!(take(), ["joe@ad.corp.test"]);

    // Wrong passwords, including the local one, are refused; empty never reaches AD.
    for bad in ["Local-Pw1", "ad-secret1"] {
        assert_eq!(
            common::code(p.authenticate("joe@corp.test", bad, &login()).await),
            FaultCode::AuthFailed,
            "{bad}"
        );
    }
    assert_eq!(take().len(), 2);
    assert_eq!(
        common::code(p.authenticate("joe@corp.test", "", &login()).await),
        FaultCode::AuthFailed
    );
    assert!(take().is_empty(), "an empty password is never sent");

    // Fallback to the local password only when the domain allows it.
    p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "TRUE")]))
        .await
        .unwrap();
    p.authenticate("joe@corp.test", "Local-Pw1", &login())
        .await
        .expect("local password after AD refused it");
    p.authenticate("joe@corp.test", AD_PASSWORD, &login())
        .await
        .expect("AD password still accepted");
}

#[tokio::test]
async fn ad_against_the_customer_slapd() {
    let Some(c) = customer_env::customer_or_skip("ad_against_the_customer_slapd") else {
        return;
    };
    let ou = format!("ad{}", uuid::Uuid::new_v4().simple());
    let branch = format!("ou={ou},ou=people,{}", c.base);
    let mut ldap = customer_env::admin(&c).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
    ldap.add(
        &branch,
        vec![
            ("objectClass".to_string(), one("organizationalUnit")),
            ("ou".to_string(), one(&ou)),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the branch");
    ldap.add(
        &format!("uid=joe,{branch}"),
        vec![
            ("objectClass".to_string(), one("inetOrgPerson")),
            ("uid".to_string(), one("joe")),
            ("cn".to_string(), one("joe")),
            ("sn".to_string(), one("joe")),
            ("mail".to_string(), one("someone.else@corp.test")),
            ("userPassword".to_string(), one("Cust-Ad1")),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the user");
    let _ = ldap.unbind().await;

    let f = common::fixture().await;
    let p = &f.prov;
    p.create_domain("corp.test", Attrs::new()).await.unwrap();
    p.create_account("joe@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .unwrap();
    let dom = EntryKey::Name("corp.test".into());
    // The default `%n` is not a DN: slapd refuses the bind (invalid DN syntax).
    p.modify_domain(
        &dom,
        &set(&[("zimbraAuthMech", "ad"), ("zimbraAuthLdapURL", &c.url)]),
    )
    .await
    .unwrap();
    assert_eq!(
        common::code(p.authenticate("joe@corp.test", "Cust-Ad1", &login()).await),
        FaultCode::AuthFailed
    );
    // With a DN template it binds; a search filter that would find nobody is ignored.
    let template = format!("uid=%u,{branch}");
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthLdapBindDn", &template),
            ("zimbraAuthLdapSearchBase", &branch),
            ("zimbraAuthLdapSearchFilter", "(mail=%n)"),
        ]),
    )
    .await
    .unwrap();
    p.authenticate("joe@corp.test", "Cust-Ad1", &login())
        .await
        .expect("customer password accepted through ad");
    for bad in ["Local-Pw1", "cust-ad1"] {
        assert_eq!(
            common::code(p.authenticate("joe@corp.test", bad, &login()).await),
            FaultCode::AuthFailed,
            "{bad}"
        );
    }
    p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "TRUE")]))
        .await
        .unwrap();
    p.authenticate("joe@corp.test", "Local-Pw1", &login())
        .await
        .expect("fallback to the local password");
    customer_env::remove_branch(&c, &branch).await;
}
