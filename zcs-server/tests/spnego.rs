//! SPNEGO single sign-on (`/service/spnego`) against a real MIT KDC on 127.0.0.1
//! (`.ci/setup.d/22-krb5-kdc.sh`): `kinit` gets a TGT, `curl --negotiate` (GSS-API)
//! gets the HTTP/localhost service ticket and sends it; the server checks it with the
//! keytab `kadmin.local ktadd` wrote. Success sets a `ZM_AUTH_TOKEN` that works on
//! `/service/soap`; an unknown principal, a locked or closed account, a keytab with the
//! wrong key, a replayed token, NTLM and garbage are refused.
//!
//! Skips (loudly) without `ZCS_TEST_KRB5_KEYTAB` or without `kinit` and a curl with
//! GSS-API.

mod soap_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use soap_support::*;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::EntryKey;
use zcs_directory::auth::spnego::{Keytab, keytab};

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

struct Kdc {
    config: String,
    password: String,
    keytab: PathBuf,
}

fn kdc() -> Option<Kdc> {
    let (Ok(config), Ok(password), Ok(keytab)) = (
        std::env::var("ZCS_TEST_KRB5_CONFIG"),
        std::env::var("ZCS_TEST_KRB5_PASSWORD"),
        std::env::var("ZCS_TEST_KRB5_KEYTAB"),
    ) else {
        eprintln!("SKIP spnego: ZCS_TEST_KRB5_CONFIG/PASSWORD/KEYTAB unset (no KDC)");
        return None;
    };
    let curl = Command::new("curl").arg("-V").output().ok()?;
    if !String::from_utf8_lossy(&curl.stdout).contains("GSS-API") {
        eprintln!("SKIP spnego: curl without GSS-API");
        return None;
    }
    if Command::new("kinit").arg("-?").output().is_err() {
        eprintln!("SKIP spnego: no kinit (krb5-user)");
        return None;
    }
    Some(Kdc {
        config,
        password,
        keytab: keytab.into(),
    })
}

/// `kinit user` into the cache file `cc`.
fn kinit(kdc: &Kdc, user: &str, cc: &Path) {
    use std::io::Write;
    let mut child = Command::new("kinit")
        .arg(user)
        .env("KRB5_CONFIG", &kdc.config)
        .env("KRB5CCNAME", format!("FILE:{}", cc.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("kinit runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{}\n", kdc.password).as_bytes())
        .expect("password");
    assert!(child.wait().expect("kinit").success(), "kinit {user}");
}

/// What curl --negotiate got: the status, the response headers, and the
/// `Authorization` header it sent (for the replay test).
struct CurlReply {
    status: u16,
    head: String,
    sent_token: Option<String>,
}

async fn curl(kdc: &Kdc, cc: &Path, port: u16) -> CurlReply {
    let config = kdc.config.clone();
    let cc = cc.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args([
                "-sS",
                "-v",
                "--negotiate",
                "-u",
                ":",
                "-D",
                "-",
                "-o",
                "/dev/null",
            ])
            .arg("--resolve")
            .arg(format!("localhost:{port}:127.0.0.1"))
            .arg(format!("http://localhost:{port}/service/spnego"))
            .env("KRB5_CONFIG", config)
            .env("KRB5CCNAME", format!("FILE:{}", cc.display()))
            .output()
            .expect("curl runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // With -D - every response's headers are printed; the last one counts.
    let last = stdout
        .split("\r\n\r\n")
        .filter(|b| b.starts_with("HTTP/"))
        .last()
        .unwrap_or_default()
        .to_string();
    let status = last.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let sent_token = stderr.lines().find_map(|l| {
        l.strip_prefix("> Authorization: Negotiate ")
            .map(|t| t.trim().to_string())
    });
    assert!(status != 0, "curl: {stdout}\n{stderr}");
    // A success's mutual-authentication answer must satisfy curl's GSS-API.
    if status == 302 {
        assert!(out.status.success(), "curl failed: {stderr}");
        assert!(!stderr.to_ascii_lowercase().contains("gss"), "{stderr}");
    }
    CurlReply {
        status,
        head: last,
        sent_token,
    }
}

async fn get_spnego(f: &Fixture, auth: Option<&str>) -> (u16, String) {
    let head = match auth {
        Some(a) => format!("GET /service/spnego HTTP/1.1\r\nAuthorization: {a}"),
        None => "GET /service/spnego HTTP/1.1".to_string(),
    };
    let (status, head, _) = raw(f.user, &head, b"").await;
    (status, head)
}

async fn set_status(f: &Fixture, account: &str, status: &str) {
    f.prov
        .modify_account(
            account,
            &[AttrEdit::Replace(
                "zimbraAccountStatus".into(),
                vec![status.into()],
            )],
        )
        .await
        .expect("status");
}

fn token_of(head: &str) -> String {
    header_value(head, "set-cookie")
        .expect("cookie")
        .trim_start_matches("ZM_AUTH_TOKEN=")
        .split(';')
        .next()
        .expect("value")
        .to_string()
}

#[tokio::test]
async fn spnego_single_sign_on_against_a_real_kdc() {
    let Some(kdc) = kdc() else { return };
    let f = fixture().await;
    let work = tempfile::tempdir().expect("tempdir");
    // The server's keytab is a copy the test can spoil and restore.
    let keytab_path = work.path().join("jetty.keytab");
    let good = std::fs::read(&kdc.keytab).expect("KDC keytab");
    std::fs::write(&keytab_path, &good).expect("copy keytab");
    assert!(zcs_server::frontends::http::spnego::configure(&keytab_path));
    let port = f.user.port();

    // Disabled: the URL does not exist.
    assert_eq!(get_spnego(&f, None).await.0, 404);

    f.prov
        .modify_global_config(&[
            AttrEdit::Replace("zimbraSpnegoAuthEnabled".into(), vec!["TRUE".into()]),
            AttrEdit::Replace("zimbraSpnegoAuthRealm".into(), vec!["ZCS.TEST".into()]),
        ])
        .await
        .expect("config");
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Replace(
                "zimbraAuthKerberos5Realm".into(),
                vec!["ZCS.TEST".into()],
            )],
        )
        .await
        .expect("domain realm");
    f.prov
        .create_account("user2@example.test", Some(PASSWORD), Attrs::new())
        .await
        .expect("user2");
    f.prov
        .modify_account(
            ALICE,
            &[AttrEdit::Replace(
                "zimbraForeignPrincipal".into(),
                vec!["kerberos5:robert@ZCS.TEST".into()],
            )],
        )
        .await
        .expect("foreign principal");

    // The challenge.
    let (status, head) = get_spnego(&f, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        header_value(&head, "www-authenticate").as_deref(),
        Some("Negotiate")
    );

    // user2@ZCS.TEST -> user2@example.test by the domain's realm.
    let cc2 = work.path().join("cc_user2");
    kinit(&kdc, "user2", &cc2);
    let r = curl(&kdc, &cc2, port).await;
    assert_eq!(r.status, 302, "{}", r.head);
    assert_eq!(header_value(&r.head, "location").as_deref(), Some("/"));
    let mutual = header_value(&r.head, "www-authenticate").expect("mutual auth answer");
    assert!(mutual.starts_with("Negotiate "), "{mutual}");
    let token = token_of(&r.head);
    let get_info = "<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>";
    let info = post(f.user, "/service/soap", &soap12(Some(&token), get_info), "").await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert!(info.body.contains("user2@example.test"), "{}", info.body);

    // The same Authorization header again is a replay.
    let sent = r.sent_token.expect("curl -v shows the token it sent");
    let (status, head) = get_spnego(&f, Some(&format!("Negotiate {sent}"))).await;
    assert_eq!(status, 401, "replay: {head}");
    assert!(header_value(&head, "set-cookie").is_none());

    // robert@ZCS.TEST -> alice by zimbraForeignPrincipal.
    let ccr = work.path().join("cc_robert");
    kinit(&kdc, "robert", &ccr);
    let r = curl(&kdc, &ccr, port).await;
    assert_eq!(r.status, 302, "{}", r.head);
    let info = post(
        f.user,
        "/service/soap",
        &soap12(Some(&token_of(&r.head)), get_info),
        "",
    )
    .await;
    assert!(info.body.contains(ALICE), "{}", info.body);

    // user1@ZCS.TEST has no account.
    let cc1 = work.path().join("cc_user1");
    kinit(&kdc, "user1", &cc1);
    let r = curl(&kdc, &cc1, port).await;
    assert_eq!(r.status, 401, "{}", r.head);
    assert!(header_value(&r.head, "set-cookie").is_none());

    // Locked and closed accounts may not log in.
    for status in ["locked", "closed"] {
        set_status(&f, "user2@example.test", status).await;
        let r = curl(&kdc, &cc2, port).await;
        assert_eq!(r.status, 403, "{status}: {}", r.head);
        assert!(header_value(&r.head, "set-cookie").is_none());
    }
    set_status(&f, "user2@example.test", "active").await;
    assert_eq!(curl(&kdc, &cc2, port).await.status, 302);

    // A keytab whose keys are not the KDC's: the ticket does not decrypt.
    let mut wrong = Keytab::parse(&good).expect("KDC keytab parses");
    for e in &mut wrong.entries {
        e.key.iter_mut().for_each(|b| *b ^= 0x5a);
    }
    std::fs::write(&keytab_path, keytab::write_v2(&wrong.entries)).expect("spoil");
    assert_eq!(curl(&kdc, &cc2, port).await.status, 401);
    // No keytab at all is our misconfiguration.
    std::fs::remove_file(&keytab_path).expect("remove");
    assert_eq!(curl(&kdc, &cc2, port).await.status, 500);
    std::fs::write(&keytab_path, &good).expect("restore");
    assert_eq!(curl(&kdc, &cc2, port).await.status, 302);

    // Garbage, NTLM and a truncated token.
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let full = base64::engine::general_purpose::STANDARD
        .decode(&sent)
        .expect("base64");
    for bad in [
        "Negotiate !!!not-base64".to_string(),
        format!("Negotiate {}", b64(b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2")),
        format!("Negotiate {}", b64(&full[..full.len() / 2])),
        format!("Negotiate {}", b64(&[0x60, 0x82, 0xff, 0xff])),
    ] {
        let (status, head) = get_spnego(&f, Some(&bad)).await;
        assert_eq!(status, 401, "{bad}: {head}");
        assert!(header_value(&head, "set-cookie").is_none());
    }

    // With an error URL, refusals redirect there.
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraSpnegoAuthErrorURL".into(),
            vec!["/zimbra/?ignoreLoginURL=1".into()],
        )])
        .await
        .expect("error url");
    let (status, head) = get_spnego(&f, Some("Negotiate AAAA")).await;
    assert_eq!(status, 302);
    assert_eq!(
        header_value(&head, "location").as_deref(),
        Some("/zimbra/?ignoreLoginURL=1")
    );
}
