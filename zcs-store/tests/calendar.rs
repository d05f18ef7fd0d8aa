//! Appointments and tasks through the public API: VCALENDAR kept whole, UID lookup and
//! replacement, folder views, time-range queries with recurrence expansion.

mod common;

use common::temp_store;
use zcs_core::{ItemId, ItemKind, ZimbraId, folder};
use zcs_store::StoreError;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-12-10T10:00:00Z
const T0: i64 = 1_796_896_800_000;

fn event(uid: &str, summary: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
         DTEND:20261210T110000Z\r\nSUMMARY:{summary}\r\n\
         ORGANIZER;CN=Alice:mailto:alice@example.com\r\n\
         ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com\r\n{extra}\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn task(uid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:VTODO\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nSUMMARY:Write report\r\n\
         DUE:20261215T170000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
}

#[tokio::test]
async fn appointments_and_tasks() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let cal = ItemId(folder::CALENDAR);

    let ical = event("a1@example.com", "Review", "");
    let a = mb.save_cal_item(cal, &ical).await.unwrap();
    assert_eq!(a.kind, ItemKind::Appointment);
    assert_eq!(a.uid, "a1@example.com");
    assert_eq!(a.summary, "Review");
    assert_eq!(a.organizer, "alice@example.com");
    assert_eq!(a.attendees, vec!["bob@example.com"]);
    assert_eq!(a.start_ms, Some(T0));
    assert_eq!(a.end_ms, Some(T0 + HOUR));
    assert!(!a.recurring);
    assert_eq!(a.ical, ical, "kept whole");
    assert_eq!(
        mb.item_kind(a.id).await.unwrap(),
        Some(ItemKind::Appointment)
    );

    // Same UID replaces, keeping the id.
    let a2 = mb
        .save_cal_item(cal, &event("a1@example.com", "Review (moved)", ""))
        .await
        .unwrap();
    assert_eq!(a2.id, a.id);
    assert_eq!(a2.summary, "Review (moved)");
    assert_eq!(
        mb.cal_item_by_uid("a1@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert!(mb.cal_item_by_uid("nope").await.unwrap().is_none());

    // A task goes to Tasks, not Calendar.
    let err = mb
        .save_cal_item(cal, &task("t1@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CannotContain { .. }), "{err}");
    let t = mb
        .save_cal_item(ItemId(folder::TASKS), &task("t1@example.com"))
        .await
        .unwrap();
    assert_eq!(t.kind, ItemKind::Task);
    assert_eq!(mb.cal_items(ItemId(folder::TASKS)).await.unwrap().len(), 1);

    // Garbage is refused before anything is logged.
    let before = mb.change_number().await.unwrap();
    assert!(matches!(
        mb.save_cal_item(cal, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
            .await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(mb.change_number().await.unwrap(), before);

    mb.delete_items(&[a.id]).await.unwrap();
    assert!(matches!(
        mb.cal_item(a.id).await,
        Err(StoreError::NoSuchItem(_))
    ));
}

#[tokio::test]
async fn time_range_queries_expand_recurrences() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let cal = ItemId(folder::CALENDAR);
    let single = mb
        .save_cal_item(cal, &event("s@x", "Once", ""))
        .await
        .unwrap();
    let weekly = mb
        .save_cal_item(
            cal,
            &event("w@x", "Weekly", "RRULE:FREQ=WEEKLY;COUNT=10\r\n"),
        )
        .await
        .unwrap();
    assert!(weekly.recurring);
    let daily = mb
        .save_cal_item(cal, &event("d@x", "Daily", "RRULE:FREQ=DAILY\r\n"))
        .await
        .unwrap();
    assert_eq!(daily.end_ms, None, "unbounded");

    // The first day: all three.
    let got = mb
        .cal_instances(Some(cal), T0 - HOUR, T0 + DAY - HOUR)
        .await
        .unwrap();
    let mut items: Vec<ItemId> = got.iter().map(|i| i.item).collect();
    items.sort();
    let mut want = vec![single.id, weekly.id, daily.id];
    want.sort();
    assert_eq!(items, want);

    // Three weeks later, one week long: the weekly once, the daily seven times.
    let from = T0 + 21 * DAY - HOUR;
    let got = mb.cal_instances(None, from, from + 7 * DAY).await.unwrap();
    assert_eq!(got.iter().filter(|i| i.item == weekly.id).count(), 1);
    assert_eq!(got.iter().filter(|i| i.item == daily.id).count(), 7);
    assert!(got.iter().all(|i| i.item != single.id));
    assert!(got.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));

    // After the weekly rule's ten occurrences: only the daily.
    let from = T0 + 80 * DAY;
    let got = mb.cal_instances(None, from, from + DAY).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].item, daily.id);
    assert_eq!(got[0].end_ms - got[0].start_ms, HOUR);

    // Before anything.
    assert!(
        mb.cal_instances(None, 0, T0 - DAY)
            .await
            .unwrap()
            .is_empty()
    );
}
