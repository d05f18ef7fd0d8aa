//! Conversations through the public API: virtual conversations, promotion to a real
//! id when a second message joins, each `zimbraMailThreadingAlgorithm`, the union of
//! flags and tags, and deletes shrinking a conversation.

mod common;

use common::temp_store;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{MailboxSettings, StoreError, ThreadingAlgorithm};

fn msg(subject: &str, id: &str, refs: &[&str]) -> Vec<u8> {
    let mut s = format!(
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\n"
    );
    if let Some(last) = refs.last() {
        s.push_str(&format!("In-Reply-To: <{last}>\r\n"));
        let all: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        s.push_str(&format!("References: {}\r\n", all.join(" ")));
    }
    s.push_str("\r\nbody\r\n");
    s.into_bytes()
}

fn settings(threading: ThreadingAlgorithm) -> MailboxSettings {
    MailboxSettings {
        threading,
        ..MailboxSettings::default()
    }
}

#[tokio::test]
async fn a_reply_promotes_the_virtual_conversation() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);

    let first = mb
        .append(inbox, &msg("Lunch", "1@x", &[]), Flags(Flags::UNREAD), 1)
        .await
        .unwrap();
    assert_eq!(first.conv, ItemId(-first.id.0));
    let c = mb.conversation(first.conv).await.unwrap();
    assert!(c.is_virtual());
    assert_eq!(c.messages, 1);
    assert_eq!(c.unread, 1);
    assert_eq!(c.subject, "Lunch");

    let reply = mb
        .append(inbox, &msg("Re: Lunch", "2@x", &["1@x"]), Flags(0), 2)
        .await
        .unwrap();
    assert!(reply.conv.0 > 0, "{reply:?}");
    assert_eq!(reply.conv.0, reply.id.0 + 1);
    let first = mb.message(first.id).await.unwrap();
    assert_eq!(first.conv, reply.conv);
    // Its change number moved with its conversation, and its folder's with it.
    assert_eq!(first.modseq, reply.modseq);
    assert!(mb.folder(inbox).await.unwrap().modseq >= first.modseq);
    // The virtual id is gone once the conversation is real.
    assert!(matches!(
        mb.conversation(ItemId(-first.id.0)).await,
        Err(StoreError::NoSuchItem(_))
    ));

    let c = mb.conversation(reply.conv).await.unwrap();
    assert_eq!(c.messages, 2);
    assert_eq!(c.unread, 1);
    assert!(c.flags.contains(Flags::UNREAD));
    let ids: Vec<ItemId> = mb
        .conversation_messages(reply.conv)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![first.id, reply.id]);

    // A third message joins the real conversation; ids keep growing past the conv id.
    let third = mb
        .append(
            inbox,
            &msg("Re: Lunch", "3@x", &["1@x", "2@x"]),
            Flags(0),
            3,
        )
        .await
        .unwrap();
    assert_eq!(third.conv, reply.conv);
    assert!(third.id.0 > reply.conv.0);

    // Tags and flags are the union.
    mb.set_flags(&[third.id], Flags::FLAGGED, true)
        .await
        .unwrap();
    mb.set_tags_by_name(&[first.id], &["work".to_string()], true, true)
        .await
        .unwrap();
    let c = mb.conversation(reply.conv).await.unwrap();
    assert!(c.flags.contains(Flags::FLAGGED));
    assert_eq!(c.tags, vec!["work".to_string()]);
    assert_eq!(c.messages, 3);

    // Deleting shrinks it; deleting all removes it.
    mb.delete_items(&[first.id, reply.id]).await.unwrap();
    assert_eq!(mb.conversation(reply.conv).await.unwrap().messages, 1);
    mb.delete_items(&[third.id]).await.unwrap();
    assert!(matches!(
        mb.conversation(reply.conv).await,
        Err(StoreError::NoSuchItem(_))
    ));
}

#[tokio::test]
async fn each_threading_algorithm() {
    let (store, _dir, _) = temp_store().await;
    let inbox = ItemId(folder::INBOX);
    // (algorithm, same-subject without prefix joins, "Re:" subject joins, reference joins)
    let cases = [
        (ThreadingAlgorithm::None, false, false, false),
        (ThreadingAlgorithm::Subject, true, true, false),
        (ThreadingAlgorithm::Strict, false, false, true),
        (ThreadingAlgorithm::References, false, true, true),
        (ThreadingAlgorithm::SubjRefs, true, true, true),
    ];
    for (alg, plain, reply, by_ref) in cases {
        let mb = store
            .mailbox(ZimbraId::new())
            .await
            .unwrap()
            .with_settings(settings(alg));
        let root = mb
            .append(inbox, &msg("[list] Topic", "r@x", &[]), Flags(0), 1)
            .await
            .unwrap();
        let same = mb
            .append(inbox, &msg("Topic", "s@x", &[]), Flags(0), 2)
            .await
            .unwrap();
        assert_eq!(same.conv.0 > 0, plain, "{alg:?} plain subject");

        let other = mb
            .append(inbox, &msg("Other", "o@x", &[]), Flags(0), 3)
            .await
            .unwrap();
        let re = mb
            .append(inbox, &msg("RE: Fwd: Other", "t@x", &[]), Flags(0), 4)
            .await
            .unwrap();
        let other = mb.message(other.id).await.unwrap();
        assert_eq!(re.conv == other.conv, reply, "{alg:?} reply subject");

        let lone = mb
            .append(inbox, &msg("Unrelated", "u@x", &[]), Flags(0), 5)
            .await
            .unwrap();
        let child = mb
            .append(inbox, &msg("Different words", "v@x", &["u@x"]), Flags(0), 6)
            .await
            .unwrap();
        let lone = mb.message(lone.id).await.unwrap();
        assert_eq!(child.conv == lone.conv, by_ref, "{alg:?} references");
        let _ = root;
    }
}

#[tokio::test]
async fn conversations_survive_reopen_and_replay() {
    let (store, dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let a = mb
        .append(inbox, &msg("Plan", "p1@x", &[]), Flags(0), 1)
        .await
        .unwrap();
    let b = mb
        .append(inbox, &msg("Re: Plan", "p2@x", &["p1@x"]), Flags(0), 2)
        .await
        .unwrap();
    let copy = mb.copy(&[a.id], ItemId(folder::SENT)).await.unwrap();
    let want = mb.conversation(b.conv).await.unwrap();
    store.close().await;

    // Rebuild the database from the log alone.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = zcs_store::Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.conversation(b.conv).await.unwrap(), want);
    assert_eq!(mb.message(a.id).await.unwrap().conv, b.conv);
    // A copy stays in the conversation of its original.
    assert_eq!(mb.message(copy[0].id).await.unwrap().conv, b.conv);
    drop(dir);
}

#[tokio::test]
async fn deliveries_thread_with_each_accounts_algorithm() {
    let (store, _dir, _) = temp_store().await;
    let (threaded, flat) = (ZimbraId::new(), ZimbraId::new());
    let target = |account| zcs_store::DeliveryTarget {
        account,
        folder: ItemId(folder::INBOX),
        flags: Flags(0),
        quota: 0,
    };
    let with = [
        (target(threaded), settings(ThreadingAlgorithm::References)),
        (target(flat), settings(ThreadingAlgorithm::None)),
    ];
    store
        .deliver_with_settings(&with, &msg("Hi", "h1@x", &[]), 1)
        .await
        .unwrap();
    let out = store
        .deliver_with_settings(&with, &msg("Re: Hi", "h2@x", &["h1@x"]), 2)
        .await
        .unwrap();
    let a = out[0].as_ref().unwrap();
    let b = out[1].as_ref().unwrap();
    assert!(a.conv.0 > 0, "threaded under references");
    assert_eq!(b.conv, ItemId(-b.id.0), "alone under none");
    // The plain deliver() uses the default (references).
    let out = store
        .deliver(&[target(flat)], &msg("Re: Hi", "h3@x", &["h2@x"]), 3)
        .await
        .unwrap();
    assert!(out[0].as_ref().unwrap().conv.0 > 0);
}
