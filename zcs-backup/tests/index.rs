//! The search index inside a backup: a full session copies the index's last commit;
//! an offline restore (in place, or onto a new server) merges the restored mailboxes'
//! documents back, so search finds the mail without a reindex; a session without an
//! index leaves the restored mail for the indexer.

mod common;

use std::path::Path;

use common::*;

use zcs_backup::{BackupOptions, BackupPaths, RestoreOptions, restore};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, MailboxId, ZimbraId, folder};
use zcs_index::{IndexBackend, TantivyIndex, document_from_message};

fn msg(word: &str) -> Vec<u8> {
    format!("Subject: about {word}\r\nFrom: a@i.test\r\n\r\nthe word is {word}\r\n").into_bytes()
}

/// Indexes every unindexed message of `account` as the server's indexer does.
async fn index_all(h: &Home, index: &TantivyIndex, account: ZimbraId) {
    let mb = h.store.mailbox(account).await.unwrap();
    let ids = mb.unindexed(1000).await.unwrap();
    let mut docs = Vec::new();
    for id in &ids {
        docs.push(document_from_message(
            *id,
            &mb.read_message(*id).await.unwrap(),
        ));
    }
    index.index(mb.id(), docs).unwrap();
    index.commit().unwrap();
    mb.mark_indexed(&ids).await.unwrap();
}

fn search(index_dir: &Path, mb: MailboxId, text: &str) -> Vec<ItemId> {
    let index = TantivyIndex::open(index_dir).unwrap();
    let q = zcs_index::query::parse(text).unwrap();
    index.search(mb, &q, 100).unwrap()
}

#[tokio::test]
async fn restored_mail_is_searchable_without_a_reindex() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.dir
        .create_entry(EntryKind::Domain, "i.test", Attrs::new())
        .await
        .unwrap();
    let u = h
        .dir
        .create_entry(EntryKind::Account, "u@i.test", Attrs::new())
        .await
        .unwrap()
        .id;
    let mb = h.store.mailbox(u).await.unwrap();
    let first = mb
        .append(ItemId(folder::INBOX), &msg("pelican"), Flags(0), 1)
        .await
        .unwrap()
        .id;
    mb.append(ItemId(folder::INBOX), &msg("walrus"), Flags(0), 1)
        .await
        .unwrap();
    let index = TantivyIndex::open(&h.paths.index).unwrap();
    index_all(&h, &index, u).await;
    // Backed up while the writer is open, as on a running server.
    let full = zcs_backup::full_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            quiet: true,
            ..BackupOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(full.dir.join("sys/index/meta.json").exists());
    assert!(zcs_backup::catalog::read_catalog(&full.dir).unwrap().index);
    // A later change the restore must undo, in the store and in the index.
    mb.append(ItemId(folder::INBOX), &msg("octopus"), Flags(0), 1)
        .await
        .unwrap();
    index_all(&h, &index, u).await;
    drop(index);

    // In place, offline.
    let opts = RestoreOptions {
        accounts: vec!["u@i.test".into()],
        index_dir: Some(h.paths.index.clone()),
        full_only: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore(&h.paths, &h.store, &h.dir, &opts).await.unwrap();
    assert_eq!(rep.index_restored, vec!["u@i.test".to_string()]);
    let mb = h.store.mailbox(u).await.unwrap();
    assert!(
        mb.unindexed(10).await.unwrap().is_empty(),
        "no reindex needed"
    );
    let hits = search(&h.paths.index, mb.id(), "pelican");
    assert!(hits.contains(&first), "{hits:?}");
    assert_eq!(search(&h.paths.index, mb.id(), "walrus").len(), 1);
    assert!(search(&h.paths.index, mb.id(), "octopus").is_empty());

    // Onto a new server (disaster recovery keeps mailbox ids).
    let h2 = home(&tmp.path().join("b")).await;
    let paths2 = BackupPaths {
        target: h.paths.target.clone(),
        ..h2.paths.clone()
    };
    let rep = restore(
        &paths2,
        &h2.store,
        &h2.dir,
        &RestoreOptions {
            accounts: vec!["all".into()],
            restore_directory: true,
            index_dir: Some(paths2.index.clone()),
            quiet: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.index_restored, vec!["u@i.test".to_string()]);
    let mb2 = h2.store.mailbox(u).await.unwrap();
    assert_eq!(
        search(&paths2.index, mb2.id(), "pelican"),
        vec![first],
        "search works right after the restore"
    );

    // A session without the index: the restore leaves the mail for the indexer.
    let bare = zcs_backup::full_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            quiet: true,
            exclude_search_index: true,
            ..BackupOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(!bare.dir.join("sys/index").exists());
    let rep = restore(
        &h.paths,
        &h.store,
        &h.dir,
        &RestoreOptions {
            label: Some(bare.label.clone()),
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    assert!(rep.index_restored.is_empty());
    let mb = h.store.mailbox(u).await.unwrap();
    assert_eq!(
        mb.unindexed(10).await.unwrap().len(),
        2,
        "queued for reindexing"
    );
}
