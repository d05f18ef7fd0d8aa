//! `LdapDirectory` against a real OpenLDAP slapd: a directory laid out by Zimbra and
//! loaded with `ldapadd`, filter/DN injection attempts, TLS, paging and the DIT rules.
//! The shared `Directory` conformance suite runs on slapd from `tests/conformance`
//! (`ldap::` tests there).
//!
//! Needs `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and `ZCS_TEST_LDAP_BIND_PASSWORD`
//! (`.ci/setup.d/20-slapd.sh` starts a slapd and exports them); every test prints a
//! `SKIPPED:` line and passes when they are unset. Each test works in a subtree of its
//! own (`o=zcs-test-<uuid>`), deleted at the end, so runs repeat and run in parallel.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ldap3::{LdapConnAsync, Scope};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode, ServiceResult};
use zcs_directory::ldap::escape::parse_dn;
use zcs_directory::{
    AuthContext, AuthRegistry, Directory, EntryKey, LdapConfig, LdapDirectory, Provisioning,
    open_directory,
};

/// Attributes from (name, value) pairs, repeated names becoming multiple values.
pub fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.add(n, *v);
    }
    a
}

/// The fault code of a failed result.
pub fn code<T: std::fmt::Debug>(r: ServiceResult<T>) -> FaultCode {
    r.expect_err("expected a fault").code
}

/// The server and credentials from the environment, or `None` (after saying so).
fn server(test: &str) -> Option<(String, String, String)> {
    let url = std::env::var("ZCS_TEST_LDAP_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let Some(url) = url else {
        eprintln!("SKIPPED: ZCS_TEST_LDAP_URL not set ({test} on ldap)");
        return None;
    };
    let dn = std::env::var("ZCS_TEST_LDAP_BIND_DN").unwrap_or_default();
    let pw = std::env::var("ZCS_TEST_LDAP_BIND_PASSWORD").unwrap_or_default();
    Some((url, dn, pw))
}

/// A subtree of one test, deleted when dropped.
pub struct Subtree {
    url: String,
    bind_dn: String,
    bind_pw: String,
    pub base: String,
}

async fn admin(url: &str, dn: &str, pw: &str) -> ldap3::Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.expect("connect to slapd");
    ldap3::drive!(conn);
    ldap.simple_bind(dn, pw)
        .await
        .expect("bind")
        .success()
        .expect("bind accepted");
    ldap
}

impl Subtree {
    async fn new(url: &str, dn: &str, pw: &str) -> Subtree {
        let o = format!("zcs-test-{}", uuid::Uuid::new_v4().simple());
        let base = format!("o={o}");
        let mut ldap = admin(url, dn, pw).await;
        let set = |v: &str| HashSet::from([v.to_string()]);
        ldap.add(
            &base,
            vec![
                ("objectClass".to_string(), set("organization")),
                ("o".to_string(), set(&o)),
            ],
        )
        .await
        .expect("add base")
        .success()
        .expect("base added");
        ldap.add(
            &format!("cn=zimbra,{base}"),
            vec![
                ("objectClass".to_string(), set("organizationalRole")),
                ("cn".to_string(), set("zimbra")),
            ],
        )
        .await
        .expect("add cn=zimbra")
        .success()
        .expect("cn=zimbra added");
        let _ = ldap.unbind().await;
        Subtree {
            url: url.to_string(),
            bind_dn: dn.to_string(),
            bind_pw: pw.to_string(),
            base,
        }
    }

    fn config(&self) -> LdapConfig {
        LdapConfig::new(&self.url, &self.bind_dn, &self.bind_pw).with_base(&self.base)
    }
}

impl Drop for Subtree {
    fn drop(&mut self) {
        let (url, dn, pw, base) = (
            self.url.clone(),
            self.bind_dn.clone(),
            self.bind_pw.clone(),
            self.base.clone(),
        );
        // Drop cannot await; a thread with its own runtime can, even inside a test's.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut ldap = admin(&url, &dn, &pw).await;
                let (found, _) = ldap
                    .search(&base, Scope::Subtree, "(objectClass=*)", vec!["1.1"])
                    .await?
                    .success()?;
                let mut dns: Vec<String> = found
                    .into_iter()
                    .map(|e| ldap3::SearchEntry::construct(e).dn)
                    .collect();
                dns.sort_by_key(|d| std::cmp::Reverse(parse_dn(d).map_or(0, |r| r.len())));
                for d in dns {
                    ldap.delete(&d).await?;
                }
                ldap.unbind().await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("warning: could not delete test subtree {}", self.base);
        }
    }
}

// ---- a directory written by Zimbra --------------------------------------------------

const JANE_ID: &str = "3f0ab1c4-5d6e-4f70-8a91-b2c3d4e5f601";
const COS_ID: &str = "e00428a1-0c00-11d9-836a-000d93afea2a";

/// Entries as Zimbra lays them out (DNs relative to the test subtree), for `ldapadd`.
/// The password of jane is `test123`, stored as Zimbra 8 stores it: `{SSHA512}`.
fn zimbra_ldif(base: &str) -> String {
    format!(
        "dn: cn=cos,cn=zimbra,{base}
objectClass: organizationalRole
cn: cos

dn: cn=default,cn=cos,cn=zimbra,{base}
objectClass: zimbraCOS
cn: default
description: The default COS
zimbraId: {COS_ID}
zimbraMailQuota: 0
zimbraPrefMailSignatureEnabled: FALSE

dn: cn=config,cn=zimbra,{base}
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
cn: config
zimbraDefaultDomainName: example.com

dn: dc=com,{base}
objectClass: dcObject
objectClass: organization
dc: com
o: com domain

dn: dc=example,dc=com,{base}
objectClass: dcObject
objectClass: organization
objectClass: zimbraDomain
objectClass: amavisAccount
dc: example
o: example.com domain
zimbraDomainName: example.com
zimbraId: 7d1c5e3a-2b4f-4a6e-8c9d-0e1f2a3b4c5d
zimbraDomainStatus: active
zimbraDomainType: local
zimbraMailStatus: enabled

dn: ou=people,dc=example,dc=com,{base}
objectClass: organizationalRole
ou: people
cn: people

dn: uid=jane,ou=people,dc=example,dc=com,{base}
objectClass: inetOrgPerson
objectClass: zimbraAccount
objectClass: amavisAccount
uid: jane
cn: Jane Doe
sn: Doe
givenName: Jane
displayName: Jane Doe
mail: jane@example.com
mail: j.doe@example.com
userPassword: {{SSHA512}}bSi1dzUkkerTtJFhd7XlU3jdTxuTY6K0GNZOZKRu9BPNU4ch+hPlutHYFd4kxdgOU
 jlvAmoN08Rwt5SlPJJ5SHpjc0xkYXBUZXN0U2FsdCE=
zimbraId: {JANE_ID}
zimbraMailDeliveryAddress: jane@example.com
zimbraMailAlias: j.doe@example.com
zimbraAccountStatus: active
zimbraMailStatus: enabled
zimbraCOSId: {COS_ID}
zimbraMailHost: mail.example.com

dn: uid=j.doe,ou=people,dc=example,dc=com,{base}
objectClass: zimbraAlias
uid: j.doe
zimbraId: 5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d
zimbraAliasTargetId: {JANE_ID}
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_written_by_zimbra_reads_as_it_is() {
    let Some((url, dn, pw)) = server("a_directory_written_by_zimbra_reads_as_it_is") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;

    // Load with the OpenLDAP client, as an operator migrating would.
    ldapadd(&url, &dn, &pw, &zimbra_ldif(&tree.base));

    let dir = Arc::new(LdapDirectory::connect(tree.config()).await.unwrap());
    let jane = dir
        .get_entry(
            EntryKind::Account,
            &EntryKey::Name("Jane@Example.com".into()),
        )
        .await
        .unwrap()
        .expect("jane by name");
    assert_eq!(jane.id.to_string(), JANE_ID);
    assert_eq!(jane.name, "jane@example.com");
    assert_eq!(
        jane.attrs.get_all("mail"),
        ["jane@example.com", "j.doe@example.com"]
    );
    assert_eq!(
        jane.attrs.get_all("objectClass"),
        ["inetOrgPerson", "zimbraAccount", "amavisAccount"],
        "every stored attribute shows"
    );
    assert_eq!(
        jane.attrs.get("zimbraMailDeliveryAddress"),
        Some("jane@example.com")
    );
    assert!(
        jane.attrs
            .get("userPassword")
            .unwrap()
            .starts_with("{SSHA512}")
    );
    let by_id = dir
        .get_entry(EntryKind::Account, &EntryKey::Id(jane.id))
        .await
        .unwrap();
    assert_eq!(by_id.as_ref(), Some(&jane));
    // The alias resolves through zimbraMailAlias (no zcs reservations exist here).
    let found = dir.find_by_address("J.Doe@example.com").await.unwrap();
    assert_eq!(found.map(|e| e.id), Some(jane.id));
    let alias = dir
        .get_entry(
            EntryKind::Alias,
            &EntryKey::Name("j.doe@example.com".into()),
        )
        .await
        .unwrap()
        .expect("alias entry");
    assert_eq!(alias.attrs.get("zimbraAliasTargetId"), Some(JANE_ID));

    let domains = dir.list_entries(EntryKind::Domain, None).await.unwrap();
    let names: Vec<_> = domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["example.com"],
        "dc=com is a container, not a domain"
    );
    assert_eq!(
        dir.count_addresses_in_domain("example.com").await.unwrap(),
        2
    );
    let cos = dir
        .get_entry(EntryKind::Cos, &EntryKey::Id(COS_ID.parse().unwrap()))
        .await
        .unwrap()
        .expect("default COS");
    assert_eq!(cos.name, "default");

    // Provisioning on top: global config, inheritance, login with the stored hash.
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new());
    // Zimbra's global config has no zimbraId: it still reads, by name and id, and edits.
    let global = prov.global_config().await.unwrap();
    assert_eq!(
        global.attrs.get("zimbraDefaultDomainName"),
        Some("example.com")
    );
    assert!(!global.attrs.contains("zimbraId"));
    let by_id = dir
        .get_entry(EntryKind::GlobalConfig, &EntryKey::Id(global.id))
        .await
        .unwrap();
    assert_eq!(by_id.as_ref(), Some(&global));
    let edit = [AttrEdit::Replace(
        "description".into(),
        vec!["migrated".into()],
    )];
    let edited = prov.modify_global_config(&edit).await.unwrap();
    assert_eq!(edited.id, global.id);
    assert_eq!(edited.attrs.get("description"), Some("migrated"));
    assert_eq!(prov.global_config().await.unwrap().id, global.id);
    let login = AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    };
    let who = prov.authenticate("jane", "test123", &login).await.unwrap();
    assert_eq!(who.id, jane.id);
    assert_eq!(
        code(prov.authenticate("jane@example.com", "wrong", &login).await),
        FaultCode::AuthFailed
    );

    // zcs writes into it: the taken alias is refused, a new account lands beside jane.
    assert_eq!(
        code(
            dir.create_entry(EntryKind::Account, "j.doe@example.com", Attrs::new())
                .await
        ),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(
            dir.create_entry(
                EntryKind::DistributionList,
                "team@example.com",
                attrs(&[("zimbraMailAlias", "J.DOE@example.com")])
            )
            .await
        ),
        FaultCode::DistributionListExists
    );
    let bob = dir
        .create_entry(
            EntryKind::Account,
            "bob@example.com",
            attrs(&[("cn", "Bob")]),
        )
        .await
        .unwrap();
    let edit = [AttrEdit::Add(
        "zimbraMailAlias".into(),
        "bobby@example.com".into(),
    )];
    dir.modify_entry(EntryKind::Account, bob.id, &edit)
        .await
        .unwrap();
    assert_eq!(
        dir.count_addresses_in_domain("example.com").await.unwrap(),
        4
    );
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metacharacters_in_names_are_data() {
    let Some((url, dn, pw)) = server("metacharacters_in_names_are_data") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;
    let dir = LdapDirectory::connect(tree.config()).await.unwrap();
    let victim = dir
        .create_entry(EntryKind::Account, "victim@x.test", Attrs::new())
        .await
        .unwrap();

    // Filter injection: none of these finds the victim.
    for probe in [
        "*",
        "*@x.test",
        "v*@x.test",
        "*)(uid=*",
        "victim@x.test)(|(uid=*",
        "\\2a@x.test",
    ] {
        assert!(
            dir.find_by_address(probe).await.unwrap().is_none(),
            "{probe}"
        );
        let by_name = dir
            .get_entry(EntryKind::Account, &EntryKey::Name(probe.into()))
            .await;
        assert!(matches!(by_name, Ok(None) | Err(_)), "{probe}");
    }
    // DN injection: special characters become part of the value.
    for weird in [
        "a,ou=people@x.test",
        "b+cn=x@x.test",
        "c\\=d@x.test",
        " e #@x.test",
        "f*(g)@x.test",
        "h\"i<j>;@x.test",
    ] {
        let e = dir
            .create_entry(EntryKind::Account, weird, Attrs::new())
            .await
            .unwrap_or_else(|err| panic!("create {weird:?}: {err}"));
        assert_eq!(e.name, weird.trim());
        let back = dir
            .find_by_address(weird)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("find {weird:?}"));
        assert_eq!(back.id, e.id);
    }
    let all = dir
        .list_entries(EntryKind::Account, Some("x.test"))
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.iter().any(|e| e.id == victim.id));
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_live_under_their_account() {
    let Some((url, dn, pw)) = server("identities_live_under_their_account") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;
    let dir = LdapDirectory::connect(tree.config()).await.unwrap();
    let joe = dir
        .create_entry(EntryKind::Account, "Joe@x.test", Attrs::new())
        .await
        .unwrap();
    // Provisioning names children `<lower-cased account name>/<name>`; the spelling holds.
    let id = dir
        .create_entry(
            EntryKind::Identity,
            "joe@x.test/Work",
            attrs(&[("zimbraPrefFromAddress", "joe@x.test")]),
        )
        .await
        .unwrap();
    assert_eq!(id.name, "joe@x.test/Work");
    assert_eq!(
        code(
            dir.create_entry(EntryKind::Signature, "nobody@x.test/sig", Attrs::new())
                .await
        ),
        FaultCode::NoSuchAccount
    );
    // Renaming the account carries its identities along.
    dir.rename_entry(EntryKind::Account, joe.id, "joseph@x.test")
        .await
        .unwrap();
    let moved = dir
        .get_entry(EntryKind::Identity, &EntryKey::Id(id.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.name, "joseph@x.test/Work");
    // Deleting the account deletes them.
    dir.delete_entry(EntryKind::Account, joe.id).await.unwrap();
    assert!(
        dir.get_entry(EntryKind::Identity, &EntryKey::Id(id.id))
            .await
            .unwrap()
            .is_none()
    );
    dir.close().await;
}

/// `%XX`-encodes everything but unreserved characters (RFC 3986 §2.3).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_directory_dispatches_ldap_urls_and_reconnects() {
    let Some((url, dn, pw)) = server("open_directory_dispatches_ldap_urls_and_reconnects") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;
    let full = format!(
        "{url}/{}????bindname={},X-BINDPW={}",
        pct(&tree.base),
        pct(&dn),
        pct(&pw)
    );
    let dir = open_directory(&full).await.expect("open by URL");
    let e = dir
        .create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    let by_name = dir
        .get_entry(EntryKind::Cos, &EntryKey::Name("GOLD".into()))
        .await
        .unwrap();
    assert_eq!(by_name, Some(e.clone()));

    // A wrong password is a failure, not a panic, and the password is not in it.
    let wrong = format!(
        "{url}/{}????bindname={},X-BINDPW=nope-x1",
        pct(&tree.base),
        pct(&dn)
    );
    let err = open_directory(&wrong).await.err().expect("refused bind");
    assert_eq!(err.code, FaultCode::Failure);
    assert!(!err.to_string().contains("nope-x1"), "{err}");

    // Closed connections are reopened by the next call.
    let ldap = LdapDirectory::connect(tree.config()).await.unwrap();
    ldap.close().await;
    let again = ldap
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap();
    assert_eq!(again, Some(e));
    ldap.close().await;
}

/// Deletes `dn` and everything under it (test clean-up on the shared root).
async fn wipe(ldap: &mut ldap3::Ldap, dn: &str) {
    let Ok(res) = ldap
        .search(dn, Scope::Subtree, "(objectClass=*)", vec!["1.1"])
        .await
    else {
        return;
    };
    let mut dns: Vec<String> = res
        .0
        .into_iter()
        .map(|e| ldap3::SearchEntry::construct(e).dn)
        .collect();
    dns.sort_by_key(|d| std::cmp::Reverse(parse_dn(d).map_or(0, |r| r.len())));
    for d in dns {
        let _ = ldap.delete(&d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zimbra_dns_at_the_root_of_the_directory() {
    let Some((url, dn, pw)) = server("zimbra_dns_at_the_root_of_the_directory") else {
        return;
    };
    // No base: the layout a real deployment has. Names are unique to this run.
    let tag = format!("t{}", uuid::Uuid::new_v4().simple());
    let domain = format!("{tag}.example");
    let dir = LdapDirectory::connect(LdapConfig::new(&url, &dn, &pw))
        .await
        .unwrap();
    let d = dir
        .create_entry(EntryKind::Domain, &domain, Attrs::new())
        .await
        .unwrap();
    let cos = dir
        .create_entry(EntryKind::Cos, &tag, Attrs::new())
        .await
        .unwrap();
    let joe = dir
        .create_entry(
            EntryKind::Account,
            &format!("joe@{domain}"),
            attrs(&[("zimbraMailAlias", &format!("jo@{domain}"))]),
        )
        .await
        .unwrap();
    let group = dir
        .create_entry(
            EntryKind::DynamicGroup,
            &format!("all@{domain}"),
            Attrs::new(),
        )
        .await
        .unwrap();

    // The DNs are Zimbra's.
    let mut ldap = admin(&url, &dn, &pw).await;
    for (want, id) in [
        (format!("dc={tag},dc=example"), d.id),
        (format!("cn={tag},cn=cos,cn=zimbra"), cos.id),
        (format!("uid=joe,ou=people,dc={tag},dc=example"), joe.id),
        (format!("cn=all,cn=groups,dc={tag},dc=example"), group.id),
    ] {
        let (found, _) = ldap
            .search(&want, Scope::Base, "(objectClass=*)", vec!["zimbraId"])
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("{want}: {e}"));
        let entry = ldap3::SearchEntry::construct(found.into_iter().next().unwrap());
        assert_eq!(entry.attrs["zimbraId"], [id.to_string()], "{want}");
    }

    // Reads from the root of the tree.
    let by_id = dir
        .get_entry(EntryKind::Account, &EntryKey::Id(joe.id))
        .await
        .unwrap();
    assert_eq!(by_id.as_ref(), Some(&joe));
    let by_alias = dir.find_by_address(&format!("JO@{domain}")).await.unwrap();
    assert_eq!(by_alias.map(|e| e.id), Some(joe.id));
    assert_eq!(dir.count_addresses_in_domain(&domain).await.unwrap(), 3);
    let listed = dir
        .list_entries(EntryKind::Account, Some(&domain))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], joe);

    // Clean up what this test made on the shared root.
    for (kind, id) in [
        (EntryKind::Account, joe.id),
        (EntryKind::DynamicGroup, group.id),
        (EntryKind::Cos, cos.id),
        (EntryKind::Domain, d.id),
    ] {
        dir.delete_entry(kind, id).await.unwrap();
    }
    assert!(
        dir.list_entries(EntryKind::Domain, None)
            .await
            .unwrap()
            .iter()
            .all(|e| e.id != d.id)
    );
    wipe(&mut ldap, &format!("dc={tag},dc=example")).await;
    for id in [d.id, cos.id, joe.id, group.id] {
        wipe(&mut ldap, &format!("zimbraId={id},cn=retiredids,cn=zimbra")).await;
    }
    dir.close().await;
    let _ = ldap.unbind().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_ldaps_and_starttls_with_a_private_ca() {
    let Some((url, dn, pw)) = server("tls_ldaps_and_starttls_with_a_private_ca") else {
        return;
    };
    let (Ok(ldaps), Ok(ca)) = (
        std::env::var("ZCS_TEST_LDAPS_URL"),
        std::env::var("ZCS_TEST_LDAP_CA"),
    ) else {
        eprintln!("SKIPPED: ZCS_TEST_LDAPS_URL or ZCS_TEST_LDAP_CA not set (tls on ldap)");
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;

    // ldaps:// trusting the CA that signed slapd's certificate.
    let mut config = LdapConfig::new(&ldaps, &dn, &pw).with_base(&tree.base);
    config.tls_ca_file = Some(ca.clone().into());
    let dir = LdapDirectory::connect(config).await.expect("ldaps");
    let cos = dir
        .create_entry(EntryKind::Cos, "tls", Attrs::new())
        .await
        .unwrap();
    dir.close().await;

    // StartTLS on the plain port, configured by URL.
    let by_url = format!(
        "{url}/{}????bindname={},X-BINDPW={},X-STARTTLS,X-TLS-CA={}",
        pct(&tree.base),
        pct(&dn),
        pct(&pw),
        pct(&ca)
    );
    let dir = open_directory(&by_url).await.expect("StartTLS");
    let back = dir
        .get_entry(EntryKind::Cos, &EntryKey::Id(cos.id))
        .await
        .unwrap();
    assert_eq!(back, Some(cos));

    // The system's roots do not know the throwaway CA: refused, not silently accepted.
    let untrusted = LdapConfig::new(&ldaps, &dn, &pw).with_base(&tree.base);
    assert!(LdapDirectory::connect(untrusted).await.is_err());
}

/// Loads `ldif` with the OpenLDAP client.
fn ldapadd(url: &str, dn: &str, pw: &str, ldif: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("ldapadd")
        .args(["-x", "-H", url, "-D", dn, "-w", pw])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ldapadd (ldap-utils) is installed with slapd");
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(ldif.as_bytes())
        .expect("write LDIF");
    assert!(child.wait().expect("ldapadd").success(), "ldapadd failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_span_several_pages() {
    let Some((url, dn, pw)) = server("listings_span_several_pages") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;
    let base = &tree.base;
    let mut ldif =
        format!("dn: cn=cos,cn=zimbra,{base}\nobjectClass: organizationalRole\ncn: cos\n");
    let n = 1234;
    for i in 0..n {
        ldif.push_str(&format!(
            "\ndn: cn=c{i:04},cn=cos,cn=zimbra,{base}\nobjectClass: zimbraCOS\ncn: c{i:04}\n\
             zimbraId: {}\n",
            uuid::Uuid::new_v4()
        ));
    }
    ldapadd(&url, &dn, &pw, &ldif);
    let dir = LdapDirectory::connect(tree.config()).await.unwrap();
    let all = dir.list_entries(EntryKind::Cos, None).await.unwrap();
    assert_eq!(all.len(), n);
    assert_eq!(all[0].name, "c0000");
    assert_eq!(all[n - 1].name, format!("c{:04}", n - 1));
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_with_sub_domains_are_demoted_and_promoted() {
    let Some((url, dn, pw)) = server("domains_with_sub_domains_are_demoted_and_promoted") else {
        return;
    };
    let tree = Subtree::new(&url, &dn, &pw).await;
    let dir = LdapDirectory::connect(tree.config()).await.unwrap();
    let parent = dir
        .create_entry(EntryKind::Domain, "a.test", attrs(&[("zimbraNotes", "x")]))
        .await
        .unwrap();
    let sub = dir
        .create_entry(EntryKind::Domain, "sub.a.test", Attrs::new())
        .await
        .unwrap();
    // The parent's dc entry stays (the sub-domain hangs below it) but is no domain.
    dir.delete_entry(EntryKind::Domain, parent.id)
        .await
        .unwrap();
    let left = dir.list_entries(EntryKind::Domain, None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0], sub);
    let by_name = EntryKey::Name("a.test".into());
    assert!(
        dir.get_entry(EntryKind::Domain, &by_name)
            .await
            .unwrap()
            .is_none()
    );
    // Created again, the container becomes the domain, with a new id and no old values.
    let again = dir
        .create_entry(EntryKind::Domain, "A.test", Attrs::new())
        .await
        .unwrap();
    assert_ne!(again.id, parent.id);
    assert_eq!(again.name, "A.test");
    assert!(!again.attrs.contains("zimbraNotes"));
    assert_eq!(
        code(
            dir.create_entry(EntryKind::Domain, "a.TEST", Attrs::new())
                .await
        ),
        FaultCode::DomainExists
    );
    // A domain without sub-domains goes entirely.
    dir.delete_entry(EntryKind::Domain, sub.id).await.unwrap();
    dir.delete_entry(EntryKind::Domain, again.id).await.unwrap();
    assert!(
        dir.list_entries(EntryKind::Domain, None)
            .await
            .unwrap()
            .is_empty()
    );
    dir.close().await;
}
