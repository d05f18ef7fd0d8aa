//! Dumpster for contacts, calendar items and documents, and folder retention policies,
//! on every metadata engine (SQLite always, MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set; skipped loudly otherwise).
//! Each body ends by reopening the store on a fresh database so the whole redo log is
//! replayed, and checks replay leaves the same state.

mod common;

use std::collections::HashMap;

use common::engines::run;
use common::simple_message;
use zcs_core::{Flags, ItemId, ItemKind, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{
    MailboxSettings, Policy, PolicyKind, PurgePolicy, RetentionPolicy, Store, StoreConfig,
    StoreError,
};

conformance!(
    dumpster_for_other_items,
    folder_retention_policies,
    retention_disposes_of_other_kinds
);

const DAY: i64 = 86_400_000;

fn event(uid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//t//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
         DURATION:PT1H\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

async fn dumpster_for_other_items(store: Store, _cfg: StoreConfig, _url: String) {
    let acct = ZimbraId::new();
    let mb = store
        .mailbox(acct)
        .await
        .unwrap()
        .with_settings(MailboxSettings {
            dumpster_enabled: true,
            ..MailboxSettings::default()
        });
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![
                ("fullName".into(), "Ann Example".into()),
                ("email".into(), "ann@example.com".into()),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    let appt = mb
        .save_cal_item(ItemId(folder::CALENDAR), &event("e1@x"))
        .await
        .unwrap();
    let d = mb
        .save_document(
            ItemId(folder::BRIEFCASE),
            "plan.txt",
            "text/plain",
            b"v1",
            "me",
        )
        .await
        .unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        "plan.txt",
        "text/plain",
        b"v2",
        "me",
    )
    .await
    .unwrap();
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let before = mb.change_number().await.unwrap().0;

    mb.delete_items(&[c.id, appt.id, d.id, m.id]).await.unwrap();
    assert!(
        mb.contacts(ItemId(folder::CONTACTS))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        mb.cal_items(ItemId(folder::CALENDAR))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        mb.documents(ItemId(folder::BRIEFCASE))
            .await
            .unwrap()
            .is_empty()
    );
    let tomb = mb.tombstones_since(before).await.unwrap();
    for id in [c.id, appt.id, d.id] {
        assert!(tomb.iter().any(|t| t.id == id), "tombstone for {id:?}");
    }
    let entries = mb.dumpster_entries().await.unwrap();
    assert_eq!(entries.len(), 3);
    let by_id: HashMap<ItemId, _> = entries.iter().map(|e| (e.id, e)).collect();
    assert_eq!(by_id[&c.id].kind, ItemKind::Contact);
    assert_eq!(by_id[&c.id].name, "Ann Example");
    assert_eq!(by_id[&appt.id].kind, ItemKind::Appointment);
    assert_eq!(by_id[&appt.id].name, "Standup");
    assert_eq!(
        (by_id[&d.id].kind, by_id[&d.id].name.as_str()),
        (ItemKind::Document, "plan.txt")
    );
    assert_eq!(by_id[&d.id].folder, ItemId(folder::BRIEFCASE));
    assert_eq!(mb.dumpster_items().await.unwrap().len(), 1, "the message");

    // Recovery: same ids, same content, back where they were; the document keeps
    // both revisions and their bytes.
    let got = mb
        .recover_items_from_dumpster(&[c.id, appt.id, d.id, ItemId(9999)], None)
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    let c2 = mb.contact(c.id).await.unwrap();
    assert_eq!(c2.field("email"), Some("ann@example.com"));
    assert_eq!(c2.folder, ItemId(folder::CONTACTS));
    assert!(c2.modseq > c.modseq);
    let a2 = mb.cal_item(appt.id).await.unwrap();
    assert_eq!((a2.uid.as_str(), a2.start_ms), ("e1@x", appt.start_ms));
    assert_eq!(mb.document_revisions(d.id).await.unwrap().len(), 2);
    assert_eq!(mb.read_document(d.id, Some(1)).await.unwrap(), b"v1");
    assert_eq!(mb.read_document(d.id, None).await.unwrap(), b"v2");
    assert!(mb.dumpster_entries().await.unwrap().is_empty());

    // A recovery that would clash with a document saved meanwhile is refused.
    mb.delete_items(&[d.id]).await.unwrap();
    let d3 = mb
        .save_document(
            ItemId(folder::BRIEFCASE),
            "plan.txt",
            "text/plain",
            b"new",
            "me",
        )
        .await
        .unwrap();
    assert!(matches!(
        mb.recover_items_from_dumpster(&[d.id], None).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Into another folder it goes.
    let f = mb
        .create_folder_with_view(ItemId(folder::USER_ROOT), "Old docs", Some("document"))
        .await
        .unwrap();
    assert_eq!(
        mb.recover_items_from_dumpster(&[d.id], Some(f.id))
            .await
            .unwrap(),
        vec![d.id]
    );
    assert_eq!(mb.document(d.id).await.unwrap().folder, f.id);
    assert_eq!(
        mb.document(d3.id).await.unwrap().folder,
        ItemId(folder::BRIEFCASE)
    );

    // Explicit purge, then the dumpster lifetime; blobs of purged documents go.
    mb.delete_items(&[c.id, d.id]).await.unwrap();
    mb.purge_dumpster(&[c.id]).await.unwrap();
    assert_eq!(mb.dumpster_entries().await.unwrap().len(), 1);
    let policy = PurgePolicy {
        dumpster_lifetime_ms: 30 * DAY,
        dumpster_enabled: true,
        dumpster_purge_enabled: true,
        ..PurgePolicy::default()
    };
    let now = chrono::Utc::now().timestamp_millis();
    let r = mb.purge(now + 31 * DAY, policy).await.unwrap();
    let mut want = vec![m.id, d.id];
    want.sort();
    assert_eq!(r.dumpster_purged, want);
    assert!(mb.dumpster_entries().await.unwrap().is_empty());
    assert!(
        mb.document_revisions(d.id).await.is_err() || {
            mb.document_revisions(d.id).await.unwrap().is_empty()
        }
    );
    // Without the dumpster, deletes are for good.
    let plain = store.mailbox(acct).await.unwrap();
    plain.delete_items(&[appt.id]).await.unwrap();
    assert!(plain.dumpster_entries().await.unwrap().is_empty());
}

async fn folder_retention_policies(store: Store, cfg: StoreConfig, url: String) {
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), "Lists")
        .await
        .unwrap();
    assert!(mb.retention_policy(f.id).await.unwrap().is_empty());
    let t = 1_000 * DAY;
    let old = mb
        .append(f.id, &simple_message(1), Flags(0), t - 40 * DAY)
        .await
        .unwrap();
    let young = mb
        .append(f.id, &simple_message(2), Flags(0), t - 5 * DAY)
        .await
        .unwrap();
    let elsewhere = mb
        .append(
            ItemId(folder::INBOX),
            &simple_message(3),
            Flags(0),
            t - 40 * DAY,
        )
        .await
        .unwrap();

    let modseq = mb.folder(f.id).await.unwrap().modseq;
    let policy = RetentionPolicy {
        keep: vec![Policy::user("7d")],
        purge: vec![Policy::user("30d")],
    };
    mb.set_retention_policy(f.id, &policy).await.unwrap();
    assert_eq!(mb.retention_policy(f.id).await.unwrap(), policy);
    assert!(mb.folder(f.id).await.unwrap().modseq > modseq);
    assert_eq!(mb.retention_policies().await.unwrap(), vec![(f.id, policy)]);
    assert!(matches!(
        mb.set_retention_policy(
            f.id,
            &RetentionPolicy {
                purge: vec![Policy::user("soon")],
                ..RetentionPolicy::default()
            }
        )
        .await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        mb.set_retention_policy(ItemId(4444), &RetentionPolicy::default())
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));

    // The purge job disposes of the folder's messages past 30 days, not others.
    let r = mb.purge(t, PurgePolicy::default()).await.unwrap();
    assert_eq!(r.messages, vec![old.id]);
    assert!(mb.message(young.id).await.is_ok());
    assert!(mb.message(elsewhere.id).await.is_ok());

    // A system policy resolves through the caller's list; unknown ids purge nothing.
    let sys = RetentionPolicy {
        keep: Vec::new(),
        purge: vec![Policy {
            kind: PolicyKind::System,
            id: "p1".into(),
            name: "short".into(),
            lifetime: String::new(),
        }],
    };
    mb.set_retention_policy(ItemId(folder::INBOX), &sys)
        .await
        .unwrap();
    let r = mb.purge(t, PurgePolicy::default()).await.unwrap();
    assert!(r.messages.is_empty());
    let r = mb
        .purge_with(
            t,
            PurgePolicy::default(),
            HashMap::from([("p1".to_string(), 10 * DAY)]),
        )
        .await
        .unwrap();
    assert_eq!(r.messages, vec![elsewhere.id]);

    // Clearing; and a deleted folder takes its policy with it.
    mb.set_retention_policy(ItemId(folder::INBOX), &RetentionPolicy::default())
        .await
        .unwrap();
    assert_eq!(mb.retention_policies().await.unwrap().len(), 1);
    let want = mb.retention_policies().await.unwrap();

    // Replay of the whole log onto an empty database gives the same policies.
    store.close().await;
    let again = if store_backend_is_sqlite(&url) {
        std::fs::remove_file(&cfg.db_path).unwrap();
        for s in ["-wal", "-shm"] {
            let mut p = cfg.db_path.clone().into_os_string();
            p.push(s);
            let _ = std::fs::remove_file(p);
        }
        Store::open(cfg.clone()).await.unwrap()
    } else {
        // The server databases are dropped by the harness; a fresh SQLite file here
        // replays the same log.
        Store::open(cfg.clone()).await.unwrap()
    };
    assert_eq!(again.recovery_report().failed, 0);
    let mb2 = again.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb2.retention_policies().await.unwrap(), want);
    mb2.delete_folder(f.id).await.unwrap();
    assert!(mb2.retention_policies().await.unwrap().is_empty());
    again.close().await;
}

/// A folder purge policy disposes of the contacts, appointments and documents that
/// entered the folder before its lifetime, as it does of messages; folders without a
/// policy keep theirs.
async fn retention_disposes_of_other_kinds(store: Store, _cfg: StoreConfig, _url: String) {
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "old@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    let appt = mb
        .save_cal_item(ItemId(folder::CALENDAR), &event("r1@x"))
        .await
        .unwrap();
    let d = mb
        .save_document(ItemId(folder::BRIEFCASE), "a.txt", "text/plain", b"x", "me")
        .await
        .unwrap();
    let policy = RetentionPolicy {
        keep: Vec::new(),
        purge: vec![Policy::user("30d")],
    };
    for f in [folder::CONTACTS, folder::BRIEFCASE] {
        mb.set_retention_policy(ItemId(f), &policy).await.unwrap();
    }
    let now = chrono_now_ms();
    // Younger than the lifetime: kept.
    let r = mb
        .purge(now + 10 * DAY, PurgePolicy::default())
        .await
        .unwrap();
    assert!(r.items.is_empty(), "{:?}", r.items);
    // Older: the contact and the document go, the appointment (no policy) stays.
    let r = mb
        .purge(now + 40 * DAY, PurgePolicy::default())
        .await
        .unwrap();
    let mut got = r.items.clone();
    got.sort();
    let mut want = vec![c.id, d.id];
    want.sort();
    assert_eq!(got, want);
    assert!(r.messages.is_empty());
    assert!(mb.contact(c.id).await.is_err());
    assert!(mb.cal_item(appt.id).await.is_ok());
    assert_eq!(
        mb.item_kind(appt.id).await.unwrap(),
        Some(ItemKind::Appointment)
    );
}

/// The wall clock in ms (items take it as their date).
fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn store_backend_is_sqlite(url: &str) -> bool {
    url.is_empty() || Backend::from_url(url) == Some(Backend::Sqlite)
}
