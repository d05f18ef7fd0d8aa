//! The quota counts every item kind (spec 02 §1.14: mail, contacts, calendars, tasks,
//! Briefcase), and every kind that grows the mailbox is refused past it (spec 02 §6 idea
//! 44: over quota, creating a contact fails), on every metadata engine (SQLite always,
//! MariaDB and PostgreSQL when `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set).

mod common;

use common::engines::run;
use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{Store, StoreConfig, StoreError};

conformance!(every_kind_counts_and_is_refused_over_quota);

fn event(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
         DTEND:20261210T110000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn over(r: Result<impl std::fmt::Debug, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::QuotaExceeded { .. })),
        "expected mail.QUOTA_EXCEEDED, got {r:?}"
    );
}

async fn every_kind_counts_and_is_refused_over_quota(
    store: Store,
    _cfg: StoreConfig,
    _url: String,
) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), 0);

    // Each kind adds to the usage.
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let mut used = mb.quota_usage().await.unwrap();
    assert_eq!(used, m.size);
    let fields = vec![
        ("firstName".to_string(), "Ada".to_string()),
        ("email".to_string(), "ada@example.com".to_string()),
    ];
    let c = mb
        .create_contact(ItemId(folder::CONTACTS), fields.clone(), Vec::new())
        .await
        .unwrap();
    let after = mb.quota_usage().await.unwrap();
    let contact_bytes = after - used;
    assert!(
        contact_bytes >= 40,
        "the contact's text counts: {contact_bytes}"
    );
    used = after;
    let ical = event("q1@example.com", "standup");
    let appt = mb
        .save_cal_item(ItemId(folder::CALENDAR), &ical)
        .await
        .unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), used + ical.len() as u64);
    used += ical.len() as u64;
    let doc = vec![b'x'; 1000];
    mb.save_document(ItemId(folder::BRIEFCASE), "a.txt", "text/plain", &doc, "me")
        .await
        .unwrap();
    mb.save_document(ItemId(folder::BRIEFCASE), "a.txt", "text/plain", &doc, "me")
        .await
        .unwrap();
    assert_eq!(
        mb.quota_usage().await.unwrap(),
        used + 2000,
        "each kept revision counts"
    );
    used += 2000;

    // A quota just above the usage: anything that grows the mailbox past it is
    // refused, whatever its kind; what does not grow it is not.
    let q = mb.with_quota(used + 10);
    over(
        q.create_contact(ItemId(folder::CONTACTS), fields.clone(), Vec::new())
            .await,
    );
    over(
        q.save_cal_item(ItemId(folder::CALENDAR), &event("q2@example.com", "x"))
            .await,
    );
    over(
        q.save_document(ItemId(folder::BRIEFCASE), "b.txt", "text/plain", &doc, "me")
            .await,
    );
    over(
        q.append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 2)
            .await,
    );
    let mut grown = fields.clone();
    grown.push(("notes".into(), "n".repeat(200)));
    over(q.modify_contact(c.id, grown, Vec::new()).await);
    // A longer version of the same appointment grows it too.
    over(
        q.save_cal_item(
            ItemId(folder::CALENDAR),
            &event("q1@example.com", &"long ".repeat(40)),
        )
        .await,
    );
    // Shrinking, moving and deleting are never refused.
    q.modify_contact(c.id, vec![fields[0].clone()], Vec::new())
        .await
        .unwrap();
    q.move_contact(c.id, ItemId(folder::TRASH)).await.unwrap();
    q.delete_items(&[appt.id]).await.unwrap();
    assert!(mb.quota_usage().await.unwrap() < used);
    // Quota 0 is unlimited.
    mb.with_quota(0)
        .create_contact(ItemId(folder::CONTACTS), fields, Vec::new())
        .await
        .unwrap();
}
