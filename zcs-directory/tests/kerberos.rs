//! `zimbraAuthMech kerberos5` against a real MIT KDC that `.ci/setup.d/22-krb5-kdc.sh`
//! starts on 127.0.0.1 (realm `ZCS.TEST`, exported as `ZCS_TEST_KRB5_*`): the AS exchange
//! with and without pre-authentication, wrong passwords, unknown principals, the
//! foreign principal beating the domain's realm, falling back to the local password,
//! and the whole login path through `Provisioning`. The tests that need the KDC skip
//! loudly when it is not configured; the ones about a dead or broken KDC run always
//! against listeners of their own on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::auth::kerberos::{
    KdcAddr, KdcSource, Kerberos5Auth, KerberosError, Krb5Conf, Principal, verify_password,
};
use zcs_directory::{AuthContext, AuthRegistry, EntryKey, Provisioning, SqlDirectory};

/// The KDC from the environment.
struct Kdc {
    config: PathBuf,
    realm: String,
    user: String,
    user_nopreauth: String,
    user_other: String,
    password: String,
}

fn kdc() -> Option<Kdc> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let k = Kdc {
        config: PathBuf::from(var("ZCS_TEST_KRB5_CONFIG")?),
        realm: var("ZCS_TEST_KRB5_REALM")?,
        user: var("ZCS_TEST_KRB5_USER")?,
        user_nopreauth: var("ZCS_TEST_KRB5_USER_NOPREAUTH")?,
        user_other: var("ZCS_TEST_KRB5_USER_OTHER")?,
        password: var("ZCS_TEST_KRB5_PASSWORD")?,
    };
    Some(k)
}

macro_rules! need_kdc {
    () => {
        match kdc() {
            Some(k) => k,
            None => {
                eprintln!(
                    "SKIPPED: ZCS_TEST_KRB5_CONFIG and friends unset \
                     (.ci/setup.d/22-krb5-kdc.sh starts the KDC)"
                );
                return;
            }
        }
    };
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn principal(name: &str, realm: &str) -> Principal {
    Principal::parse(&format!("{name}@{realm}"), None).expect("principal")
}

async fn kdcs(k: &Kdc) -> Vec<KdcAddr> {
    let conf = Krb5Conf::load_file(&k.config).await.expect("krb5.conf");
    assert_eq!(conf.default_realm.as_deref(), Some(k.realm.as_str()));
    let list = conf.kdcs(&k.realm).to_vec();
    assert!(!list.is_empty(), "the setup's krb5.conf names a KDC");
    list
}

/// A port on 127.0.0.1 where nothing listens.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port()
}

#[tokio::test]
async fn as_exchange_with_and_without_preauth() {
    let k = need_kdc!();
    let kdcs = kdcs(&k).await;
    let pw = k.password.as_str();

    for user in [&k.user, &k.user_nopreauth, &k.user_other] {
        verify_password(&principal(user, &k.realm), pw, &kdcs, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{user} with the right password: {e}"));
    }

    // Wrong password, pre-auth required: the KDC says KDC_ERR_PREAUTH_FAILED.
    let e = verify_password(&principal(&k.user, &k.realm), "wrong", &kdcs, TIMEOUT)
        .await
        .expect_err("wrong password with preauth");
    assert!(matches!(e, KerberosError::Refused(24)), "{e:?}");

    // Wrong password, no pre-auth: the AS-REP comes, but does not decrypt.
    let e = verify_password(
        &principal(&k.user_nopreauth, &k.realm),
        "wrong",
        &kdcs,
        TIMEOUT,
    )
    .await
    .expect_err("wrong password without preauth");
    assert!(matches!(e, KerberosError::WrongPassword), "{e:?}");

    // A password differing only in case is another password.
    let upper = pw.to_ascii_uppercase();
    if upper != pw {
        let e = verify_password(&principal(&k.user, &k.realm), &upper, &kdcs, TIMEOUT)
            .await
            .expect_err("case matters");
        assert!(e.is_auth_failure(), "{e:?}");
    }

    // Unknown principal: KDC_ERR_C_PRINCIPAL_UNKNOWN.
    let e = verify_password(&principal("nobody", &k.realm), pw, &kdcs, TIMEOUT)
        .await
        .expect_err("unknown principal");
    assert!(matches!(e, KerberosError::Refused(6)), "{e:?}");
    assert!(e.is_auth_failure());

    // A realm this KDC does not serve: MIT looks the client up in its own database and
    // answers KDC_ERR_C_PRINCIPAL_UNKNOWN, so the login is refused like a wrong name.
    let e = verify_password(&principal(&k.user, "OTHER.TEST"), pw, &kdcs, TIMEOUT)
        .await
        .expect_err("foreign realm");
    assert!(e.is_auth_failure(), "{e:?}");
}

#[tokio::test]
async fn a_dead_kdc_is_skipped_for_the_next() {
    let k = need_kdc!();
    let mut list = vec![KdcAddr::new("127.0.0.1", dead_port())];
    list.extend(kdcs(&k).await);
    verify_password(&principal(&k.user, &k.realm), &k.password, &list, TIMEOUT)
        .await
        .expect("the second KDC answers");
}

#[tokio::test]
async fn kdc_down_is_an_error_not_a_hang() {
    let p = principal("joe", "EX.TEST");
    // Nothing listens: refused at once.
    let closed = [KdcAddr::new("127.0.0.1", dead_port())];
    let e = verify_password(&p, "pw", &closed, TIMEOUT)
        .await
        .expect_err("closed port");
    assert!(matches!(e, KerberosError::Unreachable { .. }), "{e:?}");
    assert!(!e.is_auth_failure());

    // A listener that accepts and never answers: the timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let e = verify_password(
        &p,
        "pw",
        &[KdcAddr::new("127.0.0.1", port)],
        Duration::from_millis(700),
    )
    .await
    .expect_err("silent KDC");
    assert!(matches!(e, KerberosError::Unreachable { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "bounded wait");
    hold.abort();

    // Through the mechanism: service.TEMPORARILY_UNAVAILABLE, not a wrong password.
    let err = zcs_directory::auth::kerberos::service_error(&e);
    assert_eq!(err.code, FaultCode::Temporarily);
}

#[tokio::test]
async fn a_garbage_reply_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        for reply in [
            &b"\x00\x00\x00\x03\x7e\x01\x00"[..],
            &b"\xff\xff\xff\xff"[..],
        ] {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut head = [0u8; 4];
            if s.read_exact(&mut head).await.is_err() {
                return;
            }
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            let _ = s.read_exact(&mut body).await;
            let _ = s.write_all(reply).await;
        }
    });
    let kdcs = [KdcAddr::new("127.0.0.1", port)];
    let p = principal("joe", "EX.TEST");
    for _ in 0..2 {
        let e = verify_password(&p, "pw", &kdcs, TIMEOUT)
            .await
            .expect_err("garbage");
        assert!(matches!(e, KerberosError::Protocol { .. }), "{e:?}");
    }
    server.abort();
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

fn login() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

/// Provisioning over `dir` whose `kerberos5` mechanism reads KDCs from `source`.
fn provisioning(dir: Arc<SqlDirectory>, source: KdcSource) -> Provisioning {
    let mut auth = AuthRegistry::new();
    auth.register(
        "kerberos5",
        Arc::new(Kerberos5Auth::with_source(source).with_timeout(Duration::from_secs(2))),
    );
    Provisioning::new(dir, auth).with_local_server("mail.test")
}

#[tokio::test]
async fn login_through_provisioning() {
    let k = need_kdc!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = Arc::new(
        SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
            .await
            .expect("open"),
    );
    let p = provisioning(dir.clone(), KdcSource::Files(vec![k.config.clone()]));
    p.bootstrap().await.expect("bootstrap");
    p.create_domain("krb.test", Attrs::new())
        .await
        .expect("domain");
    let dom = EntryKey::Name("krb.test".into());
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthMech", "kerberos5"),
            ("zimbraAuthKerberos5Realm", &k.realm),
        ]),
    )
    .await
    .expect("kerberos5 domain");
    let user = format!("{}@krb.test", k.user);
    let nopreauth = format!("{}@krb.test", k.user_nopreauth);
    for (name, local) in [
        (user.as_str(), "Local-Pw1"),
        (nopreauth.as_str(), "Local-Pw2"),
        ("bob@krb.test", "Local-Pw3"),
        ("nobody@krb.test", "Local-Pw4"),
    ] {
        p.create_account(name, Some(local), Attrs::new())
            .await
            .expect("account");
    }
    let pw = k.password.as_str();
    let result = async |who: &str, pw: &str| {
        p.authenticate(who, pw, &login())
            .await
            .map(|a| a.name)
            .map_err(|e| e.code)
    };

    // The realm gives <localpart>@REALM.
    assert_eq!(result(&user, pw).await, Ok(user.clone()));
    assert_eq!(result(&nopreauth, pw).await, Ok(nopreauth.clone()));
    assert_eq!(result(&user, "wrong").await, Err(FaultCode::AuthFailed));
    assert_eq!(
        result(&nopreauth, "wrong").await,
        Err(FaultCode::AuthFailed)
    );
    assert_eq!(result(&user, "").await, Err(FaultCode::AuthFailed));
    // Without the fallback the local password is not enough.
    assert_eq!(result(&user, "Local-Pw1").await, Err(FaultCode::AuthFailed));
    // A provisioned account the KDC does not know.
    assert_eq!(
        result("nobody@krb.test", pw).await,
        Err(FaultCode::AuthFailed)
    );
    // A principal the KDC knows, without an account: refused before any KDC traffic.
    let unprovisioned = format!("{}@krb.test", k.user_other);
    assert_eq!(result(&unprovisioned, pw).await, Err(FaultCode::AuthFailed));

    // bob@REALM does not exist in the KDC; his foreign principal does and wins.
    assert_eq!(result("bob@krb.test", pw).await, Err(FaultCode::AuthFailed));
    let foreign = format!("kerberos5:{}@{}", k.user_other, k.realm);
    p.modify_account(
        "bob@krb.test",
        &set(&[("zimbraForeignPrincipal", &foreign)]),
    )
    .await
    .expect("foreign principal");
    assert_eq!(
        result("bob@krb.test", pw).await,
        Ok("bob@krb.test".to_string())
    );

    // Without a realm on the domain, only accounts with a foreign principal can log in.
    p.modify_domain(&dom, &set(&[("zimbraAuthKerberos5Realm", "")]))
        .await
        .expect("unset realm");
    assert_eq!(result(&user, pw).await, Err(FaultCode::AuthFailed));
    assert_eq!(
        result("bob@krb.test", pw).await,
        Ok("bob@krb.test".to_string())
    );
    p.modify_domain(&dom, &set(&[("zimbraAuthKerberos5Realm", &k.realm)]))
        .await
        .expect("realm again");

    // zimbraAuthFallbackToLocal: the local password works too, the KDC's still does.
    p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "TRUE")]))
        .await
        .expect("fallback");
    assert_eq!(result(&user, "Local-Pw1").await, Ok(user.clone()));
    assert_eq!(result(&user, pw).await, Ok(user.clone()));
    assert_eq!(result(&user, "wrong").await, Err(FaultCode::AuthFailed));

    // The KDC is down: with the fallback the local password still logs in; without it
    // the login fails as a service problem, not as a wrong password.
    let mut dead = Krb5Conf::default();
    dead.realms.push((
        k.realm.clone(),
        vec![KdcAddr::new("127.0.0.1", dead_port())],
    ));
    let down = provisioning(dir.clone(), KdcSource::Fixed(dead));
    let down_result = async |who: &str, pw: &str| {
        down.authenticate(who, pw, &login())
            .await
            .map(|a| a.name)
            .map_err(|e| e.code)
    };
    assert_eq!(down_result(&user, "Local-Pw1").await, Ok(user.clone()));
    p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "FALSE")]))
        .await
        .expect("no fallback");
    assert_eq!(
        down_result(&user, "Local-Pw1").await,
        Err(FaultCode::Temporarily)
    );
    assert_eq!(down_result(&user, pw).await, Err(FaultCode::Temporarily));

    // Status checks still apply after the KDC said yes.
    p.modify_account(&user, &set(&[("zimbraAccountStatus", "locked")]))
        .await
        .expect("lock");
    assert_eq!(result(&user, pw).await, Err(FaultCode::AuthFailed));
}
