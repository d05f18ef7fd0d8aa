//! Snapshots against a real store: after every kind of change the snapshot brought
//! forward equals a whole read, in its rows, conversations and every order built.

use super::*;
use zcs_core::{Flags, folder};
use zcs_store::{Store, StoreConfig};

fn raw(i: usize) -> Vec<u8> {
    format!("From: a@x.test\r\nSubject: m{i}\r\nMessage-ID: <m{i}@x.test>\r\n\r\nbody\r\n")
        .into_bytes()
}

/// A reply to message `to` (threads into its conversation).
fn reply(i: usize, to: usize) -> Vec<u8> {
    format!(
        "From: b@x.test\r\nSubject: Re: m{to}\r\nMessage-ID: <r{i}@x.test>\r\n\
         In-Reply-To: <m{to}@x.test>\r\nReferences: <m{to}@x.test>\r\n\r\nreply\r\n"
    )
    .into_bytes()
}

fn ids(s: &Snapshot) -> Vec<(i32, i32, u32)> {
    let mut v: Vec<(i32, i32, u32)> = s
        .messages
        .iter()
        .map(|m| (m.id.0, m.folder.0, m.flags.0))
        .collect();
    v.sort();
    v
}

/// Rows, conversations and the orders `sorts` of `got` equal those of a whole read.
async fn assert_like_whole_read(mb: &Mailbox, got: &Snapshot, sorts: &[SortBy], step: &str) {
    let whole = read_whole(mb, 0).await.unwrap();
    let rows = |s: &Snapshot| s.messages.iter().map(|m| (**m).clone()).collect::<Vec<_>>();
    assert_eq!(rows(got), rows(&whole), "rows after {step}");
    assert_eq!(got.convs, whole.convs, "conversations after {step}");
    for &sort in sorts {
        assert_eq!(got.order(sort), whole.order(sort), "{sort:?} after {step}");
    }
}

/// After each kind of change, the refreshed snapshot equals a whole read, and no
/// whole read was needed.
#[tokio::test]
async fn refresh_follows_every_kind_of_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let mut added = Vec::new();
    for i in 0..5 {
        added.push(
            mb.append(inbox, &raw(i), Flags(0), 1000 + i as i64)
                .await
                .unwrap(),
        );
    }
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    metadata(&mb).await.unwrap();

    let steps: Vec<&str> = vec!["deliver", "flag", "move", "delete", "tag"];
    for step in steps {
        match step {
            "deliver" => {
                mb.append(inbox, &raw(9), Flags(Flags::UNREAD), 5000)
                    .await
                    .unwrap();
            }
            "flag" => {
                mb.set_flags(&[added[0].id], Flags::FLAGGED, true)
                    .await
                    .unwrap();
            }
            "move" => {
                mb.move_items(&[added[1].id], work.id).await.unwrap();
            }
            "delete" => {
                mb.delete_items(&[added[2].id]).await.unwrap();
            }
            _ => {
                mb.set_tags_by_name(&[added[3].id], &["red".into()], true, true)
                    .await
                    .unwrap();
            }
        }
        let before = FULL_READS.with(|n| n.get());
        let snap = metadata(&mb).await.unwrap();
        assert_eq!(
            FULL_READS.with(|n| n.get()),
            before,
            "{step} read everything"
        );
        let whole = read_whole(&mb, 0).await.unwrap();
        assert_eq!(ids(&snap), ids(&whole), "after {step}");
        let tags = |s: &Snapshot| {
            s.messages
                .iter()
                .find(|m| m.id == added[3].id)
                .map(|m| m.tags.clone())
        };
        assert_eq!(tags(&snap), tags(&whole), "after {step}");
    }
    store.close().await;
}

/// A long run of mixed changes (deliveries, replies joining conversations, flag and
/// read changes, moves both ways, deletes of first, last and middle messages of a
/// conversation, tags), a search's snapshot after each: every one equals a whole read
/// in rows, conversation tallies and the orders built (date, read, flag, subject),
/// without ever reading the mailbox whole again.
#[tokio::test]
async fn a_long_run_of_changes_matches_whole_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    let mut live: Vec<ItemId> = Vec::new();
    for i in 0..12 {
        let m = mb
            .append(inbox, &raw(i), Flags(0), 1000 + (i as i64 % 4) * 10)
            .await
            .unwrap();
        live.push(m.id);
    }
    let sorts = [
        SortBy::DateDesc,
        SortBy::ReadAsc,
        SortBy::FlagDesc,
        SortBy::SubjAsc,
    ];
    let first = metadata(&mb).await.unwrap();
    for s in sorts {
        first.order(s);
    }

    // A fixed pseudo-random walk (xorshift), so a failure repeats.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..40 {
        let pick = live[next(live.len())];
        let what = next(7);
        let name = match what {
            0 => {
                let i = 100 + step;
                let date = 900 + (next(5) as i64) * 10;
                live.push(mb.append(inbox, &raw(i), Flags(0), date).await.unwrap().id);
                "deliver"
            }
            1 => {
                let to = next(12);
                let date = 1000 + (next(6) as i64) * 10;
                let m = mb
                    .append(inbox, &reply(step, to), Flags(Flags::UNREAD), date)
                    .await
                    .unwrap();
                live.push(m.id);
                "reply"
            }
            2 => {
                let on = next(2) == 0;
                mb.set_flags(&[pick], Flags::UNREAD, on).await.unwrap();
                "read"
            }
            3 => {
                mb.set_flags(&[pick], Flags::FLAGGED, true).await.unwrap();
                "flag"
            }
            4 => {
                let to = if next(2) == 0 { work.id } else { inbox };
                mb.move_items(&[pick], to).await.unwrap();
                "move"
            }
            5 if live.len() > 3 => {
                mb.delete_items(&[pick]).await.unwrap();
                live.retain(|id| *id != pick);
                "delete"
            }
            _ => {
                mb.set_tags_by_name(&[pick], &["blue".into()], true, true)
                    .await
                    .unwrap();
                "tag"
            }
        };
        let before = FULL_READS.with(|n| n.get());
        let snap = metadata(&mb).await.unwrap();
        let label = format!("step {step} ({name})");
        assert_eq!(
            FULL_READS.with(|n| n.get()),
            before,
            "{label} read everything"
        );
        assert_like_whole_read(&mb, &snap, &sorts, &label).await;
    }
    store.close().await;
}
