//! GAL sync of an external (`ldap`) data source beside an internal one, against a real
//! customer slapd (`.ci/setup.d/21-slapd-customer.sh`, `ZCS_TEST_EXT_LDAP_*`): a full
//! sync in pages, entries changed, deleted and added in slapd then synced again (by
//! request and by the poller), and refused credentials and an unreachable server
//! recorded as failures without losing the contacts. The customer directory is edited
//! with `ldapmodify` (ldap-utils, which the setup script needs too). Skipped loudly when
//! the customer's slapd is not configured.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use zcs_core::{AttrEdit, FaultCode};
use zcs_directory::provisioning::GalSyncSpec;

use super::tests::{gal_account, setup};
use super::*;

/// People added to the customer directory: more than two pages.
const PEOPLE: usize = 250;

struct Customer {
    url: String,
    base: String,
    admin_dn: String,
    admin_pw: String,
}

fn customer() -> Option<Customer> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some(Customer {
        url: var("ZCS_TEST_EXT_LDAP_URL")?,
        base: var("ZCS_TEST_EXT_LDAP_BASE")?,
        admin_dn: var("ZCS_TEST_EXT_LDAP_BIND_DN")?,
        admin_pw: var("ZCS_TEST_EXT_LDAP_BIND_PASSWORD")?,
    })
}

/// Applies LDIF change records to the customer directory as its administrator.
fn ldapmodify(c: &Customer, ldif: &str) {
    let mut pw = tempfile::NamedTempFile::new().expect("password file");
    pw.write_all(c.admin_pw.as_bytes()).expect("write password");
    let mut child = Command::new("ldapmodify")
        .args(["-x", "-c", "-H", &c.url, "-D", &c.admin_dn, "-y"])
        .arg(pw.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ldapmodify");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ldif.as_bytes())
        .expect("send LDIF");
    let out = child.wait_with_output().expect("ldapmodify ends");
    assert!(
        out.status.success(),
        "ldapmodify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn person(branch: &str, i: usize) -> String {
    format!(
        "dn: uid=p{i:03},{branch}\nchangetype: add\nobjectClass: inetOrgPerson\n\
         uid: p{i:03}\ncn: Person {i:03}\nsn: Last{i:03}\nmail: p{i:03}@corp.test\n\n"
    )
}

/// The contacts of the account's folder `path`, by their `field` value.
async fn contacts_by(
    store: &Store,
    acct: &Entry,
    path: &str,
    field: &str,
) -> HashMap<String, Contact> {
    let mb = store.mailbox(acct.id).await.expect("mailbox");
    let Some(f) = mb.folder_by_path(path).await.expect("folder look-up") else {
        return HashMap::new();
    };
    mb.contacts(f.id)
        .await
        .expect("contacts")
        .into_iter()
        .filter_map(|c| Some((c.field(field)?.to_string(), c)))
        .collect()
}

async fn source_attr(prov: &Provisioning, acct: &Entry, name: &str, attr: &str) -> Option<String> {
    prov.get_child(Child::DataSource, &acct.id.to_string(), name)
        .await
        .expect("data source")
        .attrs
        .get(attr)
        .map(str::to_string)
}

async fn set_source(prov: &Provisioning, acct: &Entry, pairs: &[(&str, &str)]) {
    let edits: Vec<AttrEdit> = pairs
        .iter()
        .map(|(n, v)| AttrEdit::Replace((*n).into(), vec![v.to_string()]))
        .collect();
    prov.modify_child(Child::DataSource, &acct.id.to_string(), "ext", &edits)
        .await
        .expect("modify the external source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_sources_sync_beside_internal_ones() {
    let Some(c) = customer() else {
        eprintln!(
            "SKIPPED external_sources_sync_beside_internal_ones: ZCS_TEST_EXT_LDAP_URL / \
             _BASE / _BIND_DN / _BIND_PASSWORD not set (.ci/setup.d/21-slapd-customer.sh)"
        );
        return;
    };
    let ou = format!("gpoll{}", uuid::Uuid::new_v4().simple());
    let branch = format!("ou={ou},ou=people,{}", c.base);
    let mut ldif =
        format!("dn: {branch}\nchangetype: add\nobjectClass: organizationalUnit\nou: {ou}\n\n");
    for i in 0..PEOPLE {
        ldif.push_str(&person(&branch, i));
    }
    ldapmodify(&c, &ldif);

    let dir = tempfile::tempdir().expect("temp dir");
    let (prov, store) = setup(dir.path()).await;
    let acct = gal_account(&prov, None).await;
    prov.create_gal_sync_account(&GalSyncSpec {
        account: "galsync@gal.test",
        domain: "gal.test",
        source: "ext",
        gal_type: "ldap",
        folder: Some("External"),
        password: None,
    })
    .await
    .expect("external source");
    set_source(
        &prov,
        &acct,
        &[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapSearchBase", &branch),
            ("zimbraGalSyncLdapBindDn", &c.admin_dn),
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            ("zimbraGalSyncLdapPageSize", "100"),
            ("zimbraGalSyncLdapFilter", "(objectClass=inetOrgPerson)"),
        ],
    )
    .await;

    // 1. One request syncs both sources, each into its own folder.
    let mut done = sync_account(&prov, &store, &acct, &[], false)
        .await
        .expect("sync");
    done.sort();
    assert_eq!(done, ["ext", "gal1"]);
    let ext = contacts_by(&store, &acct, "External", "email").await;
    assert_eq!(ext.len(), PEOPLE, "every entry, over three pages");
    let p1 = &ext["p001@corp.test"];
    assert_eq!(
        p1.field("dn").map(str::to_lowercase),
        Some(format!("uid=p001,{branch}").to_lowercase())
    );
    assert_eq!(p1.field("fullName"), Some("Person 001"));
    assert_eq!(p1.fields.iter().filter(|(k, _)| k == "dn").count(), 1);
    let internal = contacts_by(&store, &acct, "Global", "email").await;
    assert!(
        internal.contains_key("ann@gal.test"),
        "{:?}",
        internal.keys()
    );
    assert!(!internal.keys().any(|k| k.ends_with("@corp.test")));
    let ids: HashMap<String, ItemId> = ext.iter().map(|(k, c)| (k.clone(), c.id)).collect();

    // 2. Changed, deleted and new entries, synced on request (source named in any case).
    ldapmodify(
        &c,
        &format!(
            "dn: uid=p001,{branch}\nchangetype: modify\nreplace: cn\ncn: Renamed 001\n\n\
             dn: uid=p002,{branch}\nchangetype: delete\n\n\
             dn: uid=p003,{branch}\nchangetype: delete\n\n{}",
            person(&branch, 900)
        ),
    );
    // A trickle sync (the default) brings the changed and the new entry; the deleted
    // ones stay until a full sync.
    let done = sync_account(&prov, &store, &acct, &["EXT".to_string()], false)
        .await
        .expect("trickle sync");
    assert_eq!(done, ["ext"]);
    let ext = contacts_by(&store, &acct, "External", "email").await;
    assert_eq!(ext.len(), PEOPLE + 1, "trickle: nothing removed");
    assert_eq!(ext["p001@corp.test"].field("fullName"), Some("Renamed 001"));
    assert!(ext.contains_key("p900@corp.test") && ext.contains_key("p002@corp.test"));
    let done = sync_account(&prov, &store, &acct, &["EXT".to_string()], true)
        .await
        .expect("full sync");
    assert_eq!(done, ["ext"]);
    let ext = contacts_by(&store, &acct, "External", "email").await;
    assert_eq!(ext.len(), PEOPLE - 2 + 1);
    assert_eq!(ext["p001@corp.test"].field("fullName"), Some("Renamed 001"));
    assert_eq!(
        ext["p001@corp.test"].id, ids["p001@corp.test"],
        "changed in place"
    );
    assert_eq!(ext["p000@corp.test"].id, ids["p000@corp.test"], "untouched");
    assert!(!ext.contains_key("p002@corp.test") && !ext.contains_key("p003@corp.test"));
    assert!(ext.contains_key("p900@corp.test"));

    // 3. Refused credentials: a clear fault, the failure recorded, contacts kept, and
    // the internal source still synced.
    set_source(
        &prov,
        &acct,
        &[("zimbraGalSyncLdapBindPassword", "wrong-pw")],
    )
    .await;
    let ok_before = source_attr(&prov, &acct, "gal1", "zimbraGalLastSuccessfulSyncTimestamp")
        .await
        .expect("gal1 synced before");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    match sync_account(&prov, &store, &acct, &[], false).await {
        Err(GalSyncError::Directory(e)) => {
            assert_eq!(e.code, FaultCode::Failure);
            assert!(e.message.contains("invalid credentials"), "{}", e.message);
        }
        other => panic!("refused bind: {:?}", other.map(|d| d.len())),
    }
    assert!(
        source_attr(&prov, &acct, "ext", "zimbraGalLastFailedSyncTimestamp")
            .await
            .is_some()
    );
    let ok_after = source_attr(&prov, &acct, "gal1", "zimbraGalLastSuccessfulSyncTimestamp")
        .await
        .expect("gal1 synced");
    assert!(ok_after > ok_before, "the internal source synced anyway");
    assert_eq!(
        contacts_by(&store, &acct, "External", "email").await.len(),
        PEOPLE - 1
    );

    // 4. An unreachable server: the same, with service.RESOURCE_UNREACHABLE.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let down = format!("ldap://127.0.0.1:{port}");
    set_source(
        &prov,
        &acct,
        &[
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            ("zimbraGalSyncLdapURL", &down),
        ],
    )
    .await;
    match sync_account(&prov, &store, &acct, &["ext".to_string()], false).await {
        Err(GalSyncError::Directory(e)) => {
            assert_eq!(e.code, FaultCode::ResourceUnreachable, "{}", e.message);
        }
        other => panic!("unreachable: {:?}", other.map(|d| d.len())),
    }
    assert_eq!(
        contacts_by(&store, &acct, "External", "email").await.len(),
        PEOPLE - 1
    );

    // 5. The poller: once the interval has passed since the failure, the external
    // source is synced again with nobody asking.
    set_source(
        &prov,
        &acct,
        &[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraDataSourcePollingInterval", "1h"),
        ],
    )
    .await;
    ldapmodify(&c, &person(&branch, 901));
    let mut attempts = Attempts::new();
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        poll_once(&prov, &store, now, &mut attempts).await.ok(),
        Some(0),
        "failed a moment ago: not due yet"
    );
    let later = now + 2 * 3_600_000;
    assert_eq!(
        poll_once(&prov, &store, later, &mut attempts).await.ok(),
        Some(1),
        "due an interval after the failure (gal1 has no interval)"
    );
    let ext = contacts_by(&store, &acct, "External", "email").await;
    assert!(ext.contains_key("p901@corp.test"));
    assert_eq!(ext.len(), PEOPLE);

    // The customer directory as it was.
    let mut ldif = String::new();
    for i in (0..PEOPLE).chain([900, 901]).filter(|i| *i != 2 && *i != 3) {
        ldif.push_str(&format!("dn: uid=p{i:03},{branch}\nchangetype: delete\n\n"));
    }
    ldif.push_str(&format!("dn: {branch}\nchangetype: delete\n\n"));
    ldapmodify(&c, &ldif);
}
