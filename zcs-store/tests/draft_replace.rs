//! Rewriting a message in place (`Mailbox::replace_message`, a draft saved again):
//! the id, folder, tags and conversation stay, the content, summary, flags and IMAP
//! UID change, the old blob goes, and the redo log alone rebuilds the same state.

mod common;

use common::{count_blob_files, reopen_from_log_only, temp_store};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::StoreError;
use zcs_store::redo::{RedoOp, RedoRecord, ReplaceMessageRecord, decode_records, encode_record};

fn draft(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: me@example.com\r\nTo: you@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.com>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_draft_keeps_its_id_and_the_log_alone_rebuilds_it() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let drafts = ItemId(folder::DRAFTS);
    let first = mb
        .append_tagged(
            drafts,
            &draft("first", "v1"),
            Flags(Flags::DRAFT),
            &["work".to_string()],
            1_000,
        )
        .await
        .unwrap();
    let new_raw = draft("second", "version two, longer than the first");
    let after = mb
        .replace_message(
            first.id,
            &new_raw,
            Flags(Flags::DRAFT | Flags::FLAGGED),
            2_000,
        )
        .await
        .unwrap();
    assert_eq!(after.id, first.id);
    assert_eq!(after.folder, drafts);
    assert_eq!(after.tags, vec!["work".to_string()]);
    assert_eq!(after.conv, first.conv);
    assert_eq!(after.subject, "second");
    assert_eq!(after.size, new_raw.len() as u64);
    assert_eq!(after.internal_date_ms, 2_000);
    assert_eq!(after.flags, Flags(Flags::DRAFT | Flags::FLAGGED));
    assert!(
        after.imap_uid > first.imap_uid,
        "content change takes a new UID"
    );
    assert!(after.modseq > first.modseq);
    assert_eq!(mb.read_message(first.id).await.unwrap(), new_raw);
    // One message, one blob: the first version's blob went.
    assert_eq!(count_blob_files(&cfg.blob_root), 1);
    let f = mb.folder(drafts).await.unwrap();
    assert_eq!((f.messages, f.size), (1, new_raw.len() as u64));
    assert_eq!(mb.messages(drafts).await.unwrap().len(), 1);
    // The old UID is reported gone from the folder.
    let gone = mb.tombstones_since(0).await.unwrap();
    assert!(gone.iter().any(|t| t.moved), "{gone:?}");

    let store = reopen_from_log_only(store, &cfg).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let replayed = mb.message(first.id).await.unwrap();
    assert_eq!(replayed, after);
    assert_eq!(mb.read_message(first.id).await.unwrap(), new_raw);
    let f = mb.folder(drafts).await.unwrap();
    assert_eq!((f.messages, f.size), (1, new_raw.len() as u64));
    // Ids keep going up after replay.
    let next = mb
        .append(drafts, &draft("third", "x"), Flags(0), 3_000)
        .await
        .unwrap();
    assert!(next.id.0 > after.imap_uid as i32);
    store.close().await;
}

#[tokio::test]
async fn only_messages_can_be_replaced() {
    let (store, _dir, _cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let err = mb
        .replace_message(ItemId(folder::INBOX), &draft("x", "y"), Flags(0), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchMessage(_)), "{err:?}");
    let err = mb
        .replace_message(ItemId(9_999), &draft("x", "y"), Flags(0), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchMessage(_)), "{err:?}");
    store.close().await;
}

#[test]
fn the_record_round_trips() {
    for message_id in [None, Some("m@x".to_string())] {
        let rec = RedoRecord {
            seq: 7,
            timestamp_ms: 42,
            mailbox: zcs_core::MailboxId(3),
            op: RedoOp::ReplaceMessage(ReplaceMessageRecord {
                change: 9,
                id: 300,
                uid: 301,
                flags: Flags::DRAFT,
                date_ms: 5,
                size: 17,
                digest: "abc=".into(),
                subject: "s".into(),
                sender: "a@x".into(),
                recipients: "b@x".into(),
                message_id: message_id.clone(),
            }),
        };
        let mut bytes = Vec::new();
        encode_record(&rec, &mut bytes);
        let back = decode_records(&bytes);
        assert_eq!(back.stop, None);
        assert_eq!(back.records, vec![rec]);
    }
}
