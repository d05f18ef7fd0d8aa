//! The `BlobStore` seam: a store opened over another backend keeps every message's
//! bytes there, through the same single-instance and reference rules.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{
    BlobStore, DeliveryTarget, FileBlobStore, Store, StoreConfig, StoreError, StoreOptions,
};

/// The file volume at another path, counting what passes through the seam.
struct Counting {
    inner: FileBlobStore,
    puts: AtomicUsize,
    removes: AtomicUsize,
}

impl BlobStore for Counting {
    fn put(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(digest, raw)
    }
    fn get(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(digest)
    }
    fn contains(&self, digest: &str) -> bool {
        self.inner.contains(digest)
    }
    fn remove(&self, digest: &str) -> Result<bool, StoreError> {
        self.removes.fetch_add(1, Ordering::SeqCst);
        self.inner.remove(digest)
    }
}

#[tokio::test]
async fn messages_live_in_the_given_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let backend = Arc::new(Counting {
        inner: FileBlobStore::new(dir.path().join("elsewhere")),
        puts: AtomicUsize::new(0),
        removes: AtomicUsize::new(0),
    });
    let store = Store::open_with_blob_store(cfg.clone(), StoreOptions::default(), backend.clone())
        .await
        .unwrap();

    let accounts = [ZimbraId::new(), ZimbraId::new()];
    let targets: Vec<_> = accounts
        .iter()
        .map(|a| DeliveryTarget {
            account: *a,
            folder: ItemId(folder::INBOX),
            flags: Flags(Flags::UNREAD),
            quota: 0,
        })
        .collect();
    let raw = b"Subject: seam\r\n\r\nbytes through the trait\r\n";
    let results = store
        .deliver(&targets, raw, 1_700_000_000_000)
        .await
        .unwrap();
    assert_eq!(
        backend.puts.load(Ordering::SeqCst),
        1,
        "one blob for both recipients"
    );

    let first = results[0].as_ref().unwrap().clone();
    let digest = first.blob_digest.clone();
    assert!(backend.contains(&digest));
    let mailbox = store.mailbox(accounts[0]).await.unwrap();
    assert_eq!(mailbox.read_message(first.id).await.unwrap(), raw);

    // The blob stays while the other recipient still references it, then goes.
    mailbox.delete_items(&[first.id]).await.unwrap();
    assert!(backend.contains(&digest));
    let other = store.mailbox(accounts[1]).await.unwrap();
    let second = results[1].as_ref().unwrap().id;
    other.delete_items(&[second]).await.unwrap();
    assert!(!backend.contains(&digest));
    assert!(backend.removes.load(Ordering::SeqCst) >= 1);
}
