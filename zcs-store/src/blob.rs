//! Blob files: the raw bytes of every message, stored once per distinct content
//! (single-instance) and named by their SHA-256.
//!
//! Layout: `<blob_root>/<h[0..2]>/<h[2..4]>/<h>.msg`, where `h` is the lower-case hex
//! SHA-256 of the content. Hex rather than base64 in file names keeps the layout safe on
//! case-insensitive file systems. The digest recorded on items (`MessageMeta::blob_digest`,
//! the `blob_digest` column) is Zimbra's 44-character form: SHA-256 in URL-safe base64
//! with padding.
//!
//! A blob is written to a temporary file, fsynced, renamed into place and its directory
//! fsynced, so it is either absent or complete after a crash. Which items reference a
//! blob is the database's business; this module only offers pins, so a blob being
//! written for a new item is never removed by a concurrent delete of its last old
//! reference.
//!
//! LIMITATION: no compression above a threshold, one volume only, no HSM; blobs orphaned
//! by a crash between blob write and commit are not swept yet.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::redo::log::sync_dir;

/// The blob volume: a directory of content-addressed files.
pub(crate) struct BlobStore {
    root: PathBuf,
    pins: Mutex<HashMap<String, usize>>,
}

/// Keeps a digest pinned (never removed) until dropped.
pub(crate) struct Pin {
    store: Arc<BlobStore>,
    digest: String,
}

impl Drop for Pin {
    fn drop(&mut self) {
        if let Ok(mut pins) = self.store.pins.lock()
            && let Some(n) = pins.get_mut(&self.digest)
        {
            *n -= 1;
            if *n == 0 {
                pins.remove(&self.digest);
            }
        }
    }
}

/// The item digest of `raw`: SHA-256, URL-safe base64 with padding (44 characters).
pub fn digest_of(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(Sha256::digest(raw))
}

impl BlobStore {
    /// A blob store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> BlobStore {
        BlobStore {
            root,
            pins: Mutex::new(HashMap::new()),
        }
    }

    /// The file holding the blob with item digest `digest`.
    pub fn path_for(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(digest)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| StoreError::Corrupt(format!("bad blob digest {digest:?}")))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(self
            .root
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(format!("{hex}.msg")))
    }

    /// Pins `digest` so no concurrent delete removes its file until the pin drops.
    pub fn pin(self: &Arc<Self>, digest: &str) -> Pin {
        if let Ok(mut pins) = self.pins.lock() {
            *pins.entry(digest.to_string()).or_insert(0) += 1;
        }
        Pin {
            store: self.clone(),
            digest: digest.to_string(),
        }
    }

    /// Makes sure the blob for `raw` (whose digest is `digest`) is on disk and durable.
    /// Returns `true` when it wrote a new file, `false` when the content was already
    /// stored. Blocking: call from a blocking context. Cost: one write and two fsyncs
    /// for new content.
    pub fn write(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        let path = self.path_for(digest)?;
        if let Ok(meta) = fs::metadata(&path)
            && meta.len() == raw.len() as u64
        {
            return Ok(false);
        }
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::Corrupt("blob path has no parent".into()))?;
        self.ensure_dir(dir)?;

        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let res = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| StoreError::io("create blob", &tmp, e))?;
            f.write_all(raw)
                .map_err(|e| StoreError::io("write blob", &tmp, e))?;
            f.sync_all()
                .map_err(|e| StoreError::io("sync blob", &tmp, e))?;
            fs::rename(&tmp, &path).map_err(|e| StoreError::io("rename blob", &path, e))?;
            sync_dir(dir)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.map(|()| true)
    }

    /// Creates `dir` and its missing parents under the root, fsyncing each parent whose
    /// entries changed so the new directories survive a crash.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if d.is_dir() {
                break;
            }
            missing.push(d.to_path_buf());
            cur = d.parent();
        }
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create blob dir", dir, e))?;
        for d in missing.iter().rev() {
            if let Some(parent) = d.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(())
    }

    /// Reads the blob with item digest `digest`, byte for byte as it was written.
    /// Blocking: call from a blocking context.
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_for(digest)?;
        fs::read(&path).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                StoreError::Corrupt(format!("blob {} is missing", path.display()))
            } else {
                StoreError::io("read blob", path, e)
            }
        })
    }

    /// Whether the blob file for `digest` exists.
    pub fn exists(&self, digest: &str) -> bool {
        self.path_for(digest).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Removes the blob file for `digest` unless it is pinned. The caller has checked
    /// that no item references it any more. Returns whether a file was removed.
    pub fn remove_unless_pinned(&self, digest: &str) -> Result<bool, StoreError> {
        let path = self.path_for(digest)?;
        let pins = self
            .pins
            .lock()
            .map_err(|_| StoreError::Corrupt("blob pin table poisoned".into()))?;
        if pins.contains_key(digest) {
            return Ok(false);
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("remove blob", path, e)),
        }
    }

    /// Opens the file for `digest` read-only (used by tests and tools to check layout).
    #[cfg(test)]
    pub fn open(&self, digest: &str) -> std::io::Result<std::fs::File> {
        let p = self.path_for(digest).map_err(std::io::Error::other)?;
        std::fs::File::open(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_zimbra_length_and_path_is_hex() {
        let d = digest_of(b"hello");
        assert_eq!(d.len(), 44);
        let store = BlobStore::new(PathBuf::from("/v"));
        let p = store.path_for(&d).unwrap();
        let s = p.to_string_lossy();
        assert!(s.starts_with("/v/2c/f2/2cf24dba5fb0a30e"), "{s}");
        assert!(s.ends_with(".msg"));
        assert!(store.path_for("garbage").is_err());
    }

    #[test]
    fn write_read_pin_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(BlobStore::new(dir.path().join("blobs")));
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let d = digest_of(raw);
        assert!(store.write(&d, raw).unwrap());
        assert!(!store.write(&d, raw).unwrap());
        assert_eq!(store.read(&d).unwrap(), raw);
        assert!(store.open(&d).is_ok());

        let pin = store.pin(&d);
        assert!(!store.remove_unless_pinned(&d).unwrap());
        drop(pin);
        assert!(store.remove_unless_pinned(&d).unwrap());
        assert!(!store.exists(&d));
        assert!(matches!(store.read(&d), Err(StoreError::Corrupt(_))));
    }
}
