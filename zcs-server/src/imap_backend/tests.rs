//! Unit tests of the store-backed IMAP session.

use super::*;
use zcs_store::MessageMeta;

#[test]
fn keywords_split_into_flags_and_tags() {
    let kw = ["$MDNSent".to_string(), "Work".into(), "$forwarded".into()];
    let (bits, tags) = split_keywords(&kw);
    assert_eq!(bits, Flags::NOTIFIED | Flags::FORWARDED);
    assert_eq!(tags, vec!["Work".to_string()]);
}

#[test]
fn notified_shows_as_mdnsent() {
    let m = MessageMeta {
        id: ItemId(257),
        folder: ItemId(2),
        imap_uid: 257,
        flags: Flags(Flags::NOTIFIED | Flags::FORWARDED),
        tags: vec!["Work".into()],
        internal_date_ms: 0,
        size: 1,
        modseq: 1,
        blob_digest: String::new(),
        subject: String::new(),
        sender: String::new(),
        recipients: String::new(),
        message_id: None,
        conv: ItemId(-257),
    };
    assert_eq!(message_info(m).keywords, vec!["$MDNSent", "Work"]);
}

async fn test_prov(dir: &std::path::Path) -> Arc<Provisioning> {
    let sql = zcs_directory::SqlDirectory::open_sqlite(&dir.join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(
        Arc::new(sql),
        zcs_directory::AuthRegistry::new(),
    ));
    prov.bootstrap().await.expect("bootstrap");
    prov
}

async fn session() -> (StoreImapSession, Arc<Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        Store::open(zcs_store::StoreConfig::under(dir.path()))
            .await
            .expect("open store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(zcs_index::TantivyIndex::open(&dir.path().join("index")).expect("index"));
    let (indexer, _task) = Indexer::start(store.clone(), index.clone());
    let mailbox = store
        .mailbox(zcs_core::ZimbraId::new())
        .await
        .expect("mailbox");
    let prov = test_prov(dir.path()).await;
    let shares = Shares::new(store.clone(), prov.clone(), mailbox.account(), None);
    let s = StoreImapSession {
        name: "u@example.com".into(),
        content_scope: Arc::from(format!("{}/{}", mailbox.account(), mailbox.id().0)),
        prov,
        shares,
        mailbox,
        index,
        indexer,
        subscriptions: Arc::new(Subscriptions::new(None)),
    };
    (s, store, dir)
}

#[tokio::test]
async fn keywords_are_kept_as_tags() {
    let (s, _store, _dir) = session().await;
    assert!(s.supports_keywords());
    let inbox = ItemId(zcs_core::folder::INBOX);
    let raw = b"Subject: k\r\n\r\nbody\r\n";
    let kw = vec!["Work".to_string(), "$MDNSent".into()];
    let a = s.append(inbox, raw, Flags(0), &kw, None).await.unwrap();
    let msgs = s.messages(inbox).await.unwrap();
    assert_eq!(msgs[0].keywords, vec!["$MDNSent", "Work"]);
    assert!(msgs[0].flags.contains(Flags::NOTIFIED));

    s.set_keywords(&[a.id], &["work".into(), "Later".into()], true)
        .await
        .unwrap();
    assert_eq!(
        s.messages(inbox).await.unwrap()[0].keywords,
        vec!["$MDNSent", "Work", "Later"]
    );
    s.set_keywords(&[a.id], &["WORK".into(), "$MDNSent".into()], false)
        .await
        .unwrap();
    let m = &s.messages(inbox).await.unwrap()[0];
    assert_eq!(m.keywords, vec!["Later"]);
    assert!(!m.flags.contains(Flags::NOTIFIED));
    let tags = s.mailbox.tags().await.unwrap();
    assert_eq!(tags.len(), 2, "tags stay defined after untagging");
}

#[tokio::test]
async fn append_and_copy_over_quota_say_so() {
    let (mut s, _store, _dir) = session().await;
    let inbox = ItemId(zcs_core::folder::INBOX);
    let raw = b"Subject: q\r\n\r\nbody\r\n";
    s.mailbox = s.mailbox.with_quota(raw.len() as u64);
    let a = s.append(inbox, raw, Flags(0), &[], None).await.unwrap();
    let err = s.append(inbox, raw, Flags(0), &[], None).await.unwrap_err();
    assert!(matches!(err, BackendError::QuotaExceeded), "{err}");
    let err = s.copy(&[a.id], inbox).await.unwrap_err();
    assert!(matches!(err, BackendError::QuotaExceeded), "{err}");
}

#[tokio::test]
async fn move_changes_and_vanished_come_from_the_store() {
    let (s, _store, _dir) = session().await;
    let inbox = ItemId(zcs_core::folder::INBOX);
    let trash = ItemId(zcs_core::folder::TRASH);
    let mut ids = Vec::new();
    for i in 0..3 {
        let raw = format!("Subject: m{i}\r\n\r\nbody\r\n");
        let added = s
            .append(inbox, raw.as_bytes(), Flags(Flags::UNREAD), &[], None)
            .await
            .expect("append");
        ids.push(added);
    }
    let before = s
        .folder(inbox)
        .await
        .expect("folder")
        .expect("inbox")
        .modseq;
    let new_uids = s.move_items(&[ids[1].id], trash).await.expect("move");
    assert_eq!(new_uids.len(), 1);
    assert!(new_uids[0] > ids[2].uid);
    s.set_flags(&[ids[2].id], Flags::FLAGGED, true)
        .await
        .expect("flag");
    let gone = s.vanished_since(inbox, before).await.expect("vanished");
    assert_eq!(gone, Some(vec![ids[1].uid]));
    let changed = s
        .messages_changed_since(inbox, before)
        .await
        .expect("changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].uid, ids[2].uid);
    assert!(changed[0].modseq > before);
    let in_trash = s.messages(trash).await.expect("trash");
    assert_eq!(in_trash.len(), 1);
    assert_eq!(in_trash[0].uid, new_uids[0]);
    assert!(
        s.vanished_since(inbox, u64::MAX)
            .await
            .expect("none")
            .is_some_and(|v| v.is_empty())
    );
}
