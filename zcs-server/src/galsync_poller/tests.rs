//! Tests of the GAL sync poller: interval resolution, due times, and a GAL sync account
//! filled by the background task alone (no SyncGalAccountRequest). External sources
//! against a real customer slapd are in `external_tests.rs`.

use std::sync::Arc;
use std::time::Duration;

use zcs_core::{AttrEdit, Attrs};
use zcs_directory::provisioning::GalSyncSpec;

use super::*;

pub(super) fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.set_one(n, *v);
    }
    a
}

#[test]
fn interval_comes_from_the_source_then_the_account_with_a_floor() {
    let none = Attrs::new();
    assert_eq!(
        polling_interval_ms(&none, &none),
        0,
        "unset: no periodic sync"
    );
    let ds = attrs(&[("zimbraDataSourcePollingInterval", "1d")]);
    assert_eq!(polling_interval_ms(&ds, &none), 86_400_000);
    let acct = attrs(&[
        ("zimbraDataSourceGalPollingInterval", "2h"),
        ("zimbraDataSourcePollingInterval", "3h"),
    ]);
    assert_eq!(
        polling_interval_ms(&ds, &acct),
        86_400_000,
        "the source wins"
    );
    assert_eq!(
        polling_interval_ms(&none, &acct),
        7_200_000,
        "GAL interval next"
    );
    let generic = attrs(&[("zimbraDataSourcePollingInterval", "30m")]);
    assert_eq!(polling_interval_ms(&none, &generic), 1_800_000);
    // Below the minimum (1m by default) is raised to it; 0 stays off.
    let fast = attrs(&[("zimbraDataSourcePollingInterval", "5s")]);
    assert_eq!(polling_interval_ms(&fast, &none), 60_000);
    let floor = attrs(&[("zimbraDataSourceMinPollingInterval", "1s")]);
    assert_eq!(polling_interval_ms(&fast, &floor), 5_000);
    let off = attrs(&[("zimbraDataSourcePollingInterval", "0")]);
    assert_eq!(polling_interval_ms(&off, &acct), 0);
    // A bad value is ignored, not a panic.
    let bad = attrs(&[("zimbraDataSourcePollingInterval", "soon")]);
    assert_eq!(polling_interval_ms(&bad, &acct), 7_200_000);
}

#[test]
fn due_when_the_interval_has_passed_since_the_last_sync() {
    assert!(!is_due(0, None, 1_000));
    assert!(is_due(60_000, None, 1_000), "never synced: due at once");
    assert!(!is_due(60_000, Some(1_000), 60_999));
    assert!(is_due(60_000, Some(1_000), 61_000));
    assert!(!is_due(60_000, Some(i64::MAX), i64::MIN), "no overflow");
}

pub(super) async fn setup(dir: &std::path::Path) -> (Arc<Provisioning>, Arc<Store>) {
    let sql = zcs_directory::SqlDirectory::open_sqlite(&dir.join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(
        Arc::new(sql),
        zcs_directory::AuthRegistry::new(),
    ));
    prov.bootstrap().await.expect("bootstrap");
    let store = Arc::new(
        Store::open(zcs_store::StoreConfig::under(dir.join("store")))
            .await
            .expect("open store"),
    );
    prov.create_domain("gal.test", Attrs::new())
        .await
        .expect("domain");
    for (name, display) in [("ann@gal.test", "Ann Able"), ("bob@gal.test", "Bob Baker")] {
        prov.create_account(
            name,
            Some("secret-pw-1"),
            attrs(&[("displayName", display)]),
        )
        .await
        .expect("account");
    }
    (prov, store)
}

pub(super) async fn gal_account(prov: &Provisioning, interval: Option<&str>) -> Entry {
    let acct = prov
        .create_gal_sync_account(&GalSyncSpec {
            account: "galsync@gal.test",
            domain: "gal.test",
            source: "gal1",
            gal_type: "zimbra",
            folder: Some("Global"),
            password: None,
        })
        .await
        .expect("GAL sync account");
    prov.modify_account(
        &acct.id.to_string(),
        &[AttrEdit::Replace(
            "zimbraDataSourceMinPollingInterval".into(),
            vec!["1s".into()],
        )],
    )
    .await
    .expect("minimum interval");
    if let Some(i) = interval {
        prov.modify_child(
            Child::DataSource,
            &acct.id.to_string(),
            "gal1",
            &[AttrEdit::Replace(
                "zimbraDataSourcePollingInterval".into(),
                vec![i.into()],
            )],
        )
        .await
        .expect("interval");
    }
    acct
}

/// The `email` fields of the contacts in the account's `Global` folder.
async fn emails(store: &Store, acct: &Entry) -> Vec<String> {
    let mb = store.mailbox(acct.id).await.expect("mailbox");
    let Some(f) = mb.folder_by_path("Global").await.expect("folder look-up") else {
        return Vec::new();
    };
    let mut out: Vec<String> = mb
        .contacts(f.id)
        .await
        .expect("contacts")
        .iter()
        .filter_map(|c| c.field("email").map(str::to_string))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn no_interval_means_no_periodic_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (prov, store) = setup(dir.path()).await;
    let acct = gal_account(&prov, None).await;
    let mut attempts = Attempts::new();
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        poll_once(&prov, &store, now, &mut attempts).await.ok(),
        Some(0)
    );
    assert!(emails(&store, &acct).await.is_empty());
    // An external source with no server configured anywhere is due, fails (not
    // counted), and has its failure recorded.
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
    prov.modify_child(
        Child::DataSource,
        &acct.id.to_string(),
        "ext",
        &[AttrEdit::Replace(
            "zimbraDataSourcePollingInterval".into(),
            vec!["1h".into()],
        )],
    )
    .await
    .expect("interval");
    assert_eq!(
        poll_once(&prov, &store, now, &mut attempts).await.ok(),
        Some(0)
    );
    // With an interval it is due at once (never synced), then not until it passes.
    prov.modify_child(
        Child::DataSource,
        &acct.id.to_string(),
        "gal1",
        &[AttrEdit::Replace(
            "zimbraDataSourcePollingInterval".into(),
            vec!["1h".into()],
        )],
    )
    .await
    .expect("interval");
    assert_eq!(
        poll_once(&prov, &store, now, &mut attempts).await.ok(),
        Some(1)
    );
    assert!(
        emails(&store, &acct)
            .await
            .contains(&"ann@gal.test".to_string())
    );
    let later = now + 30 * 60_000;
    assert_eq!(
        poll_once(&prov, &store, later, &mut attempts).await.ok(),
        Some(0)
    );
    let ds = prov
        .get_children(Child::DataSource, &acct.id.to_string())
        .await
        .expect("sources");
    let synced = |name: &str| {
        ds.iter()
            .find(|d| d.attrs.get("zimbraDataSourceName") == Some(name))
            .and_then(|d| d.attrs.get("zimbraGalLastSuccessfulSyncTimestamp"))
            .is_some()
    };
    assert!(synced("gal1"));
    assert!(!synced("ext"));
    let failed = ds
        .iter()
        .find(|d| d.attrs.get("zimbraDataSourceName") == Some("ext"))
        .and_then(|d| d.attrs.get("zimbraGalLastFailedSyncTimestamp"));
    assert!(
        failed.is_some(),
        "the external source's failure is recorded"
    );
}

#[tokio::test]
async fn the_background_task_fills_and_refreshes_the_address_book() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (prov, store) = setup(dir.path()).await;
    let acct = gal_account(&prov, Some("1s")).await;
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run(
        prov.clone(),
        store.clone(),
        Duration::from_millis(50),
        shutdown,
    ));
    let wait_for = |want: &'static str| {
        let (store, acct) = (store.clone(), acct.clone());
        async move {
            // Up to 30 s: a loaded 2-core CI machine runs a debug sync slowly.
            for _ in 0..600 {
                if emails(&store, &acct).await.iter().any(|e| e == want) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    };
    assert!(wait_for("ann@gal.test").await, "first periodic sync");
    let got = emails(&store, &acct).await;
    assert!(got.contains(&"bob@gal.test".to_string()), "{got:?}");
    assert!(!got.contains(&"galsync@gal.test".to_string()), "{got:?}");
    // A new account reaches the address book at a later sync, nobody asking.
    prov.create_account("carol@gal.test", Some("secret-pw-1"), Attrs::new())
        .await
        .expect("account");
    assert!(wait_for("carol@gal.test").await, "second periodic sync");
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("task stops")
        .expect("task ran");
}

/// Spec 02 §6 idea 23: a contact edited by hand in the GAL sync address book is put back
/// as the GAL has it by the next sync, in place (same item).
#[tokio::test]
async fn a_hand_edit_in_the_gal_address_book_is_reverted_by_the_next_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (prov, store) = setup(dir.path()).await;
    let acct = gal_account(&prov, None).await;
    sync_account(&prov, &store, &acct, &[], false)
        .await
        .expect("first sync");
    let mb = store.mailbox(acct.id).await.expect("mailbox");
    let folder = mb
        .folder_by_path("Global")
        .await
        .expect("look-up")
        .expect("Global folder");
    let ann = || async {
        mb.contacts(folder.id)
            .await
            .expect("contacts")
            .into_iter()
            .find(|c| c.field("email") == Some("ann@gal.test"))
            .expect("Ann's contact")
    };
    let before = ann().await;
    let mut edited = before.fields.clone();
    for (k, v) in edited.iter_mut() {
        if k == "fullName" {
            *v = "Edited By Hand".into();
        }
    }
    edited.push(("notes".into(), "mine".into()));
    mb.modify_contact(before.id, edited, Vec::new())
        .await
        .expect("hand edit");
    assert_eq!(ann().await.field("fullName"), Some("Edited By Hand"));
    sync_account(&prov, &store, &acct, &[], false)
        .await
        .expect("second sync");
    let after = ann().await;
    assert_eq!(after.id, before.id, "reverted in place");
    assert_eq!(
        after.fields, before.fields,
        "the GAL's fields, nothing of the edit"
    );
}
