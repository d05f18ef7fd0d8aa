//! Login through `Provisioning::authenticate`, the mechanism registry and password
//! hashes in every scheme `verify` understands.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{code, fixture};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};
use zcs_directory::{
    AuthContext, AuthMechanism, AuthRegistry, Directory, EntryKey, Provisioning, password,
};

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

#[tokio::test]
async fn right_and_wrong_passwords() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = f
        .prov
        .create_account("joe@ex.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_account_alias("joe@ex.test", "js@ex.test")
        .await
        .unwrap();

    for name in ["joe@ex.test", "JOE@EX.TEST", "js@ex.test"] {
        assert_eq!(
            f.prov
                .authenticate(name, "s3cret!", &ctx())
                .await
                .unwrap()
                .id,
            a.id
        );
    }
    for (name, pw) in [
        ("joe@ex.test", "s3cret"),
        ("joe@ex.test", "S3CRET!"),
        ("joe@ex.test", ""),
        ("nobody@ex.test", "s3cret!"),
        ("nobody@nowhere.test", "s3cret!"),
        ("", ""),
    ] {
        assert_eq!(
            code(f.prov.authenticate(name, pw, &ctx()).await),
            FaultCode::AuthFailed
        );
    }

    // No local password: nothing logs in, not even an empty password.
    f.prov
        .create_account("ext@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.authenticate("ext@ex.test", "", &ctx()).await),
        FaultCode::AuthFailed
    );

    // A new password replaces the old one.
    f.prov
        .set_password("joe@ex.test", "n3w-pass")
        .await
        .unwrap();
    assert!(
        f.prov
            .authenticate("joe@ex.test", "n3w-pass", &ctx())
            .await
            .is_ok()
    );
    assert_eq!(
        code(f.prov.authenticate("joe@ex.test", "s3cret!", &ctx()).await),
        FaultCode::AuthFailed
    );
    assert_eq!(
        code(f.prov.set_password("joe@ex.test", "").await),
        FaultCode::InvalidPassword
    );
    assert_eq!(
        code(f.prov.set_password("no@ex.test", "x").await),
        FaultCode::NoSuchAccount
    );
}

#[tokio::test]
async fn account_status_gates_login() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    f.prov
        .create_account("u@ex.test", Some("pw123456"), Attrs::new())
        .await
        .unwrap();

    for (status, want) in [
        ("maintenance", Some(FaultCode::MaintenanceMode)),
        ("locked", Some(FaultCode::AuthFailed)),
        ("closed", Some(FaultCode::AuthFailed)),
        ("lockout", Some(FaultCode::AuthFailed)),
        ("pending", Some(FaultCode::AuthFailed)),
        ("active", None),
    ] {
        f.prov
            .modify_account("u@ex.test", &set("zimbraAccountStatus", status))
            .await
            .unwrap();
        let got = f.prov.authenticate("u@ex.test", "pw123456", &ctx()).await;
        assert_eq!(got.err().map(|e| e.code), want, "{status}");
        // A wrong password never reveals the status.
        let wrong = f.prov.authenticate("u@ex.test", "nope", &ctx()).await;
        assert_eq!(wrong.unwrap_err().code, FaultCode::AuthFailed, "{status}");
    }

    // Domain status wins as zimbraDomainStatus says.
    let dom = EntryKey::Name("ex.test".into());
    f.prov
        .modify_domain(&dom, &set("zimbraDomainStatus", "closed"))
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.authenticate("u@ex.test", "pw123456", &ctx()).await),
        FaultCode::AuthFailed
    );
    f.prov
        .modify_domain(&dom, &set("zimbraDomainStatus", "maintenance"))
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.authenticate("u@ex.test", "pw123456", &ctx()).await),
        FaultCode::MaintenanceMode
    );
    f.prov
        .modify_domain(&dom, &set("zimbraDomainStatus", "active"))
        .await
        .unwrap();

    f.prov
        .modify_account("u@ex.test", &set("zimbraPasswordMustChange", "TRUE"))
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.authenticate("u@ex.test", "pw123456", &ctx()).await),
        FaultCode::ChangePasswordRequired
    );
}

/// A mechanism that accepts one fixed password, to stand in for an external directory.
struct Fixed(&'static str);

#[async_trait]
impl AuthMechanism for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    async fn authenticate(&self, _: &Entry, password: &str, _: &AuthContext) -> ServiceResult<()> {
        if password == self.0 {
            Ok(())
        } else {
            Err(ServiceError::auth_failed())
        }
    }
}

#[tokio::test]
async fn domain_auth_mech_picks_the_mechanism() {
    let f = fixture().await;
    let mut reg = AuthRegistry::new();
    reg.register("fixed", Arc::new(Fixed("external-pw")));
    assert_eq!(reg.get("FIXED").unwrap().name(), "fixed");
    let prov = Provisioning::new(f.dir.clone(), reg);

    prov.create_domain("ext.test", Attrs::new()).await.unwrap();
    prov.create_account("u@ext.test", Some("local-pw"), Attrs::new())
        .await
        .unwrap();
    let dom = EntryKey::Name("ext.test".into());
    prov.modify_domain(&dom, &set("zimbraAuthMech", "custom:fixed"))
        .await
        .unwrap();
    assert!(
        prov.authenticate("u@ext.test", "external-pw", &ctx())
            .await
            .is_ok()
    );
    assert_eq!(
        code(prov.authenticate("u@ext.test", "local-pw", &ctx()).await),
        FaultCode::AuthFailed
    );

    // Fallback to the internal mechanism when the domain allows it.
    prov.modify_domain(&dom, &set("zimbraAuthFallbackToLocal", "TRUE"))
        .await
        .unwrap();
    assert!(
        prov.authenticate("u@ext.test", "local-pw", &ctx())
            .await
            .is_ok()
    );

    // A built-in mechanism without its settings (`ldap` with no zimbraAuthLdapURL)
    // refuses everyone, as does a custom handler nobody registered, fallback or not.
    prov.modify_domain(&dom, &set("zimbraAuthMech", "ldap"))
        .await
        .unwrap();
    prov.modify_domain(&dom, &set("zimbraAuthFallbackToLocal", "FALSE"))
        .await
        .unwrap();
    assert_eq!(
        code(prov.authenticate("u@ext.test", "external-pw", &ctx()).await),
        FaultCode::AuthFailed
    );
    prov.modify_domain(&dom, &set("zimbraAuthMech", "custom:nobody"))
        .await
        .unwrap();
    for pw in ["external-pw", "local-pw"] {
        assert_eq!(
            code(prov.authenticate("u@ext.test", pw, &ctx()).await),
            FaultCode::AuthFailed,
            "unregistered custom:nobody with {pw}"
        );
    }
    prov.modify_domain(&dom, &set("zimbraAuthFallbackToLocal", "TRUE"))
        .await
        .unwrap();
    assert_eq!(
        code(prov.authenticate("u@ext.test", "external-pw", &ctx()).await),
        FaultCode::AuthFailed,
        "no handler: the external password is nobody's"
    );
}

#[tokio::test]
async fn password_policy_from_the_cos() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    // Set directly on the COS: the policy attributes may not be in the registry yet.
    let cos = f
        .prov
        .get_cos(&EntryKey::Name("default".into()))
        .await
        .unwrap();
    f.dir
        .modify_entry(EntryKind::Cos, cos.id, &set("zimbraPasswordMinLength", "8"))
        .await
        .unwrap();
    assert_eq!(
        code(
            f.prov
                .create_account("a@ex.test", Some("short"), Attrs::new())
                .await
        ),
        FaultCode::InvalidPassword
    );
    f.prov
        .create_account("a@ex.test", Some("long enough"), Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.set_password("a@ex.test", "1234567").await),
        FaultCode::InvalidPassword
    );
}

#[test]
fn new_hashes_are_ssha512_and_verify() {
    let h = password::hash("test123");
    let raw = B64
        .decode(h.strip_prefix("{SSHA512}").expect("scheme"))
        .unwrap();
    assert_eq!(raw.len(), 64 + 8, "SHA-512 digest then an 8-byte salt");
    let mut d = Sha512::new();
    d.update(b"test123");
    d.update(&raw[64..]);
    assert_eq!(&raw[..64], d.finalize().as_slice());
    assert!(password::verify("test123", &h));
    assert!(!password::verify("test1234", &h));
}

#[test]
fn older_schemes_verify() {
    // {SHA}: base64(SHA-1(password)).
    let sha = format!("{{SHA}}{}", B64.encode(Sha1::digest(b"secret")));
    assert!(password::verify("secret", &sha));
    assert!(!password::verify("Secret", &sha));

    // {SSHA}: base64(SHA-1(password + salt) + salt).
    let salt = b"\x01\x02\x03\x04";
    let mut d = Sha1::new();
    d.update(b"secret");
    d.update(salt);
    let mut raw = d.finalize().to_vec();
    raw.extend_from_slice(salt);
    let ssha = format!("{{SSHA}}{}", B64.encode(&raw));
    assert!(password::verify("secret", &ssha));
    assert!(password::verify(
        "secret",
        &ssha.replace("{SSHA}", "{ssha}")
    ));
    assert!(!password::verify("secrets", &ssha));

    // An {SSHA512} hash written with a 16-byte salt (another writer) still verifies.
    let salt = [7u8; 16];
    let mut d = Sha512::new();
    d.update(b"secret");
    d.update(salt);
    let mut raw = d.finalize().to_vec();
    raw.extend_from_slice(&salt);
    assert!(password::verify(
        "secret",
        &format!("{{SSHA512}}{}", B64.encode(&raw))
    ));

    assert!(!password::verify("secret", "{CRYPT}abc"));
}

/// A handler that records what it was given and answers a fixed verdict.
struct Sample {
    seen: std::sync::Mutex<Vec<(String, zcs_core::ZimbraId, String)>>,
    accept: bool,
}

#[async_trait]
impl AuthMechanism for Sample {
    fn name(&self) -> &str {
        "sample"
    }
    async fn authenticate(
        &self,
        account: &Entry,
        password: &str,
        _: &AuthContext,
    ) -> ServiceResult<()> {
        self.seen
            .lock()
            .unwrap()
            .push((account.name.clone(), account.id, password.to_string()));
        if self.accept {
            Ok(())
        } else {
            Err(ServiceError::auth_failed())
        }
    }
}

/// Spec 01 §6 idea 12: `custom:sample` receives the account and the cleartext password,
/// and its verdict is final: a refusal stands even for the right local password, an
/// acceptance even for a wrong one.
#[tokio::test]
async fn a_custom_handler_gets_the_account_and_password_and_decides() {
    for accept in [true, false] {
        let f = fixture().await;
        let sample = Arc::new(Sample {
            seen: std::sync::Mutex::new(Vec::new()),
            accept,
        });
        let mut reg = AuthRegistry::new();
        reg.register("sample", sample.clone());
        let prov = Provisioning::new(f.dir.clone(), reg);
        prov.create_domain("c.test", Attrs::new()).await.unwrap();
        let acct = prov
            .create_account("u@c.test", Some("local-pw"), Attrs::new())
            .await
            .unwrap();
        prov.modify_domain(
            &EntryKey::Name("c.test".into()),
            &set("zimbraAuthMech", "custom:sample"),
        )
        .await
        .unwrap();
        for pw in ["local-pw", "anything else"] {
            let r = prov.authenticate("u@c.test", pw, &ctx()).await;
            assert_eq!(r.is_ok(), accept, "accept={accept} pw={pw}");
        }
        let seen = sample.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                ("u@c.test".to_string(), acct.id, "local-pw".to_string()),
                ("u@c.test".to_string(), acct.id, "anything else".to_string()),
            ]
        );
    }
}
