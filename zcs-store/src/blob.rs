//! Blob files: the raw bytes of every message, stored once per distinct content
//! (single-instance) and named by their SHA-256.
//!
//! Layout: `<blob_root>/<h[0..2]>/<h>.msg`, where `h` is the lower-case hex SHA-256 of
//! the content (volumes written before 2026-12-06 have a second level,
//! `<h[0..2]>/<h[2..4]>/`, and are read as they are: `crate::blob_layout`). Hex rather
//! than base64 in file names keeps the layout safe on case-insensitive file systems.
//! The digest recorded on items (`MessageMeta::blob_digest`,
//! the `blob_digest` column) is Zimbra's 44-character form: SHA-256 in URL-safe base64
//! with padding.
//!
//! A blob is written to a temporary file, fsynced, renamed into place and its directory
//! fsynced, so it is either absent or complete after a crash. A new message's blob is the
//! exception ([`BlobStore::put_logged`]): it is written without syncing, because its
//! bytes are also in the redo log's blob frame, fsynced with the message's record; store
//! open rewrites a torn or missing one from that frame and the redo writer syncs the
//! volumes before a log leaves `redo.log` (see
//! `docs/decisions/2026-12-05-logged-blob-writes.md`). Which items reference a
//! blob is the database's business; this module only offers pins, so a blob being
//! written for a new item is never removed by a concurrent delete of its last old
//! reference.
//!
//! A compressed blob is `<h>.msg.gz` (gzip of the raw bytes); several volumes, compression
//! and HSM are `crate::volume_blobs`' business, which keeps one [`FileBlobStore`] per
//! volume.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::blob_layout::{self, Layout};
use crate::error::StoreError;
use crate::redo::log::sync_dir;

/// Where blob bytes live: the seam between the store and its volumes. The store
/// decides which digests are referenced; a backend only keeps bytes by digest.
/// Implementations must make `put` durable before returning (a crash after `put`
/// returns must not lose the blob) and must never return partial content from `get`.
///
/// Every method blocks: call from a blocking context.
pub trait BlobStore: Send + Sync {
    /// Stores `raw`, whose item digest is `digest`. Returns `true` when new bytes were
    /// written, `false` when that content was already stored.
    fn put(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError>;

    /// The bytes stored under `digest`, exactly as put. A missing blob is
    /// `StoreError::Corrupt` (the database references it).
    fn get(&self, digest: &str) -> Result<Vec<u8>, StoreError>;

    /// Whether bytes are stored under `digest`.
    fn contains(&self, digest: &str) -> bool;

    /// Removes the bytes under `digest`. Returns whether anything was removed.
    fn remove(&self, digest: &str) -> Result<bool, StoreError>;

    /// Stores every `(digest, raw)` of `blobs` as [`BlobStore::put`] does, durable when
    /// it returns, and says for each whether new bytes were written. Backends may make
    /// the batch durable at once (one file system sync) instead of blob by blob; the
    /// default puts them one at a time.
    fn put_many(&self, blobs: &[(String, &[u8])]) -> Result<Vec<bool>, StoreError> {
        blobs.iter().map(|(d, raw)| self.put(d, raw)).collect()
    }

    /// Stores `raw` as [`BlobStore::put`] does, except that it may return before the
    /// bytes are durable: the caller holds a second durable copy (the redo log's blob
    /// frame) and calls [`BlobStore::sync`] before that copy can go away. Readable at
    /// once. The default is `put` (durable at once), right for any backend.
    fn put_logged(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.put(digest, raw)
    }

    /// Makes every [`BlobStore::put_logged`] write made so far durable. The default has
    /// nothing to do (its `put_logged` is durable already).
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every stored digest with the time its bytes were last written, for the orphan
    /// sweep (`crate::Store::sweep_orphan_blobs`). Cost: a walk of the whole volume.
    /// The default lists nothing (a backend that cannot list is never swept).
    fn list(&self) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        Ok(Vec::new())
    }
}

/// The store's handle on its blob backend, adding pins: a digest being written for a
/// new item is never removed by a concurrent delete of its last old reference.
pub(crate) struct Blobs {
    backend: Arc<dyn BlobStore>,
    pins: Mutex<HashMap<String, usize>>,
}

/// Keeps a digest pinned (never removed) until dropped.
pub(crate) struct Pin {
    store: Arc<Blobs>,
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

impl Blobs {
    /// Blobs kept by `backend`.
    pub fn with_backend(backend: Arc<dyn BlobStore>) -> Blobs {
        Blobs {
            backend,
            pins: Mutex::new(HashMap::new()),
        }
    }

    /// Pins `digest` so no concurrent delete removes its blob until the pin drops.
    pub fn pin(self: &Arc<Self>, digest: &str) -> Pin {
        if let Ok(mut pins) = self.pins.lock() {
            *pins.entry(digest.to_string()).or_insert(0) += 1;
        }
        Pin {
            store: self.clone(),
            digest: digest.to_string(),
        }
    }

    /// See [`BlobStore::put`].
    pub fn write(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.backend.put(digest, raw)
    }

    /// Writes a new message's blob whose bytes the redo log will also carry (a blob
    /// frame, fsynced with the message's record): [`BlobStore::put_logged`], so no
    /// fsync here. Blobs above the frame limit get no frame and are written durably.
    pub fn write_logged(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        if raw.len() as u64 > u64::from(crate::redo::blob_frame::MAX_BLOB_FRAME_LEN) {
            return self.backend.put(digest, raw);
        }
        self.backend.put_logged(digest, raw)
    }

    /// See [`BlobStore::sync`].
    pub fn sync(&self) -> Result<(), StoreError> {
        self.backend.sync()
    }

    /// Removes every copy of `digest` (pins ignored): only for store open, rewriting a
    /// torn blob before anything else runs.
    pub(crate) fn remove_for_rewrite(&self, digest: &str) -> Result<bool, StoreError> {
        self.backend.remove(digest)
    }

    /// See [`BlobStore::put_many`].
    pub fn write_many(&self, blobs: &[(String, &[u8])]) -> Result<Vec<bool>, StoreError> {
        self.backend.put_many(blobs)
    }

    /// See [`BlobStore::get`].
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        self.backend.get(digest)
    }

    /// See [`BlobStore::contains`].
    pub fn exists(&self, digest: &str) -> bool {
        self.backend.contains(digest)
    }

    /// See [`BlobStore::list`].
    pub fn list(&self) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        self.backend.list()
    }

    /// Removes the blob for `digest` unless it is pinned. The caller has checked that
    /// no item references it any more. Returns whether a blob was removed.
    pub fn remove_unless_pinned(&self, digest: &str) -> Result<bool, StoreError> {
        let pins = self
            .pins
            .lock()
            .map_err(|_| StoreError::Corrupt("blob pin table poisoned".into()))?;
        if pins.contains_key(digest) {
            return Ok(false);
        }
        self.backend.remove(digest)
    }
}

/// A blob volume on the file system: a directory of content-addressed files, each
/// written to a temporary file, fsynced, renamed into place and its directory fsynced.
pub struct FileBlobStore {
    root: PathBuf,
    /// The volume's arrangement, read from the disk at first use.
    layout: OnceLock<Layout>,
}

/// The item digest of `raw`: SHA-256, URL-safe base64 with padding (44 characters).
pub fn digest_of(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(Sha256::digest(raw))
}

impl FileBlobStore {
    /// A volume rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> FileBlobStore {
        FileBlobStore {
            root,
            layout: OnceLock::new(),
        }
    }

    /// The volume's arrangement of files (read from the disk once).
    fn layout(&self) -> Layout {
        *self.layout.get_or_init(|| Layout::of(&self.root))
    }

    /// Called before a directory is created under the root: a flat volume gets its
    /// marker first, so it is never mistaken for a nested one.
    fn before_new_dir(&self) -> Result<(), StoreError> {
        match self.layout() {
            Layout::Flat => blob_layout::ensure_marker(&self.root),
            Layout::Nested => Ok(()),
        }
    }

    /// The file holding the blob with item digest `digest`.
    pub fn path_for(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(digest)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| StoreError::Corrupt(format!("bad blob digest {digest:?}")))?;
        Ok(self.layout().path(&self.root, &hex_lower(&bytes)))
    }

    /// The file holding the gzip-compressed blob with item digest `digest`
    /// (`<hex>.msg.gz`, beside where [`FileBlobStore::path_for`] puts the plain one).
    pub fn compressed_path_for(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let mut p = self.path_for(digest)?.into_os_string();
        p.push(".gz");
        Ok(PathBuf::from(p))
    }

    /// The volume's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` durably at `path` (a path under this volume): temporary file,
    /// fsync, rename, directory fsync. Blocking. Cost: one write and two fsyncs.
    pub(crate) fn write_at(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
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
            f.write_all(bytes)
                .map_err(|e| StoreError::io("write blob", &tmp, e))?;
            f.sync_all()
                .map_err(|e| StoreError::io("sync blob", &tmp, e))?;
            fs::rename(&tmp, path).map_err(|e| StoreError::io("rename blob", path, e))?;
            sync_dir(dir)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    /// Writes `bytes` at `path` (a path under this volume) through a temporary file
    /// and a rename, without syncing: the caller makes a batch of these durable at once
    /// with [`sync_volume`]. Blocking.
    pub(crate) fn write_at_unsynced(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::Corrupt("blob path has no parent".into()))?;
        if !dir.is_dir() {
            self.before_new_dir()?;
            fs::create_dir_all(dir).map_err(|e| StoreError::io("create blob dir", dir, e))?;
        }
        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let res = fs::write(&tmp, bytes)
            .map_err(|e| StoreError::io("write blob", &tmp, e))
            .and_then(|()| {
                fs::rename(&tmp, path).map_err(|e| StoreError::io("rename blob", path, e))
            });
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    /// Every blob file under the root: item digest, last write time and whether it is
    /// the compressed form. Cost: a walk of the whole volume.
    pub(crate) fn list_files(
        &self,
    ) -> Result<Vec<(String, std::time::SystemTime, bool)>, StoreError> {
        let mut out = Vec::new();
        for f in blob_layout::files_at_depth(&self.root, self.layout().depth())? {
            let (digest, compressed) = match digest_of_file_name(&f) {
                Some(d) => (d, false),
                None => match f.to_str().and_then(|s| s.strip_suffix(".gz")) {
                    Some(plain) => match digest_of_file_name(Path::new(plain)) {
                        Some(d) => (d, true),
                        None => continue,
                    },
                    None => continue,
                },
            };
            if let Ok(modified) = fs::metadata(&f).and_then(|m| m.modified()) {
                out.push((digest, modified, compressed));
            }
        }
        Ok(out)
    }

    /// Makes sure the blob for `raw` (whose digest is `digest`) is on disk and durable.
    /// Returns `true` when it wrote a new file, `false` when the content was already
    /// stored. Blocking: call from a blocking context. Cost: one write and two fsyncs
    /// for new content.
    fn write_file(&self, digest: &str, raw: &[u8], synced: bool) -> Result<bool, StoreError> {
        let path = self.path_for(digest)?;
        if let Ok(meta) = fs::metadata(&path)
            && meta.len() == raw.len() as u64
        {
            return Ok(false);
        }
        if synced {
            self.write_at(&path, raw)?;
        } else {
            self.write_at_unsynced(&path, raw)?;
        }
        Ok(true)
    }

    /// Creates `dir` and its missing parents under the root, fsyncing each parent whose
    /// entries changed so the new directories survive a crash.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        self.before_new_dir()?;
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

    /// Opens the file for `digest` read-only (used by tests and tools to check layout).
    #[cfg(test)]
    pub fn open(&self, digest: &str) -> std::io::Result<std::fs::File> {
        let p = self.path_for(digest).map_err(std::io::Error::other)?;
        std::fs::File::open(p)
    }
}

impl BlobStore for FileBlobStore {
    /// Cost: one write and two fsyncs for new content.
    fn put(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.write_file(digest, raw, true)
    }

    /// Cost: one write, no fsync (temporary file and rename, so a reader never sees
    /// part of it while the system runs).
    fn put_logged(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.write_file(digest, raw, false)
    }

    /// One `syncfs` of the volume's file system (nothing when the volume was never
    /// written).
    fn sync(&self) -> Result<(), StoreError> {
        if !self.root.is_dir() {
            return Ok(());
        }
        sync_volume(&self.root)
    }

    /// Batches of [`BULK_SYNC_MIN`] or more new blobs are written unsynced and made
    /// durable with one [`sync_volume`]; smaller ones blob by blob.
    fn put_many(&self, blobs: &[(String, &[u8])]) -> Result<Vec<bool>, StoreError> {
        if blobs.len() < BULK_SYNC_MIN {
            return blobs.iter().map(|(d, raw)| self.put(d, raw)).collect();
        }
        let mut out = Vec::with_capacity(blobs.len());
        for (digest, raw) in blobs {
            let path = self.path_for(digest)?;
            if let Ok(meta) = fs::metadata(&path)
                && meta.len() == raw.len() as u64
            {
                out.push(false);
                continue;
            }
            self.write_at_unsynced(&path, raw)?;
            out.push(true);
        }
        if out.iter().any(|w| *w) {
            sync_volume(&self.root)?;
        }
        Ok(out)
    }

    fn get(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_for(digest)?;
        fs::read(&path).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                StoreError::Corrupt(format!("blob {} is missing", path.display()))
            } else {
                StoreError::io("read blob", path, e)
            }
        })
    }

    fn contains(&self, digest: &str) -> bool {
        self.path_for(digest).map(|p| p.is_file()).unwrap_or(false)
    }

    fn remove(&self, digest: &str) -> Result<bool, StoreError> {
        let path = self.path_for(digest)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("remove blob", path, e)),
        }
    }

    /// Walks `<root>/xx/*.msg` (`<root>/xx/yy/*.msg` on a nested volume); files whose
    /// name is not a 64-digit hex SHA-256 are not blobs and are left out.
    fn list(&self) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        Ok(self
            .list_files()?
            .into_iter()
            .filter(|(_, _, compressed)| !compressed)
            .map(|(d, t, _)| (d, t))
            .collect())
    }
}

/// Batches with at least this many blobs are synced once for the whole batch
/// ([`sync_volume`]): below it, syncing blob by blob (on parallel threads) costs less
/// than a sync of the whole file system.
pub(crate) const BULK_SYNC_MIN: usize = 64;

/// Makes every write under `root` durable: file contents, new directories and renames.
/// On Linux one `syncfs(2)` of the file system holding `root` (which also flushes
/// whatever else is dirty on it); elsewhere a full `sync`. Blocking.
pub(crate) fn sync_volume(root: &Path) -> Result<(), StoreError> {
    let dir = fs::File::open(root).map_err(|e| StoreError::io("open blob volume", root, e))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: `dir` is an open descriptor for the whole call; syncfs only reads it.
        let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
        if rc != 0 {
            return Err(StoreError::io(
                "sync blob volume",
                root,
                std::io::Error::last_os_error(),
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: `sync` takes no arguments and cannot fail.
        unsafe { libc::sync() };
        drop(dir);
    }
    Ok(())
}

/// `bytes` as lower-case hex.
fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The item digest named by a blob file `<hex>.msg`, or `None` for any other name.
fn digest_of_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let hex = name.strip_suffix(".msg")?;
    if hex.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect();
    Some(base64::engine::general_purpose::URL_SAFE.encode(bytes?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_zimbra_length_and_path_is_hex() {
        let d = digest_of(b"hello");
        assert_eq!(d.len(), 44);
        let store = FileBlobStore::new(PathBuf::from("/v"));
        let p = store.path_for(&d).unwrap();
        let s = p.to_string_lossy();
        assert!(s.starts_with("/v/2c/2cf24dba5fb0a30e"), "{s}");
        assert!(s.ends_with(".msg"));
        assert!(store.path_for("garbage").is_err());
        assert_eq!(digest_of_file_name(&p), Some(d));
        assert_eq!(digest_of_file_name(Path::new("/v/2c/f2/x.msg")), None);
        assert_eq!(digest_of_file_name(Path::new("/v/2c/f2/.tmp")), None);
    }

    #[test]
    fn write_read_pin_remove() {
        let dir = tempfile::tempdir().unwrap();
        let volume = Arc::new(FileBlobStore::new(dir.path().join("blobs")));
        let store = Arc::new(Blobs::with_backend(volume.clone()));
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let d = digest_of(raw);
        assert!(store.write(&d, raw).unwrap());
        assert!(!store.write(&d, raw).unwrap());
        assert_eq!(store.read(&d).unwrap(), raw);
        assert!(volume.open(&d).is_ok());

        let pin = store.pin(&d);
        assert!(!store.remove_unless_pinned(&d).unwrap());
        drop(pin);
        assert!(store.remove_unless_pinned(&d).unwrap());
        assert!(!store.exists(&d));
        assert!(matches!(store.read(&d), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_nested_volume_of_older_releases_is_read_listed_and_written_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let old = b"Subject: old\r\n\r\nbody\r\n";
        let d_old = digest_of(old);
        let hex = hex_lower(
            &base64::engine::general_purpose::URL_SAFE
                .decode(&d_old)
                .unwrap(),
        );
        let nested = root
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(format!("{hex}.msg"));
        fs::create_dir_all(nested.parent().unwrap()).unwrap();
        fs::write(&nested, old).unwrap();

        let volume = FileBlobStore::new(root.clone());
        assert_eq!(volume.get(&d_old).unwrap(), old);
        let new = b"Subject: new\r\n\r\nbody\r\n";
        let d_new = digest_of(new);
        assert!(volume.put(&d_new, new).unwrap());
        assert!(
            volume
                .path_for(&d_new)
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                != root
        );
        let mut listed: Vec<String> = volume.list().unwrap().into_iter().map(|(d, _)| d).collect();
        listed.sort();
        let mut want = vec![d_old, d_new];
        want.sort();
        assert_eq!(listed, want);
        assert!(
            !root.join(blob_layout::MARKER).exists(),
            "a nested volume gets no marker"
        );
    }

    #[test]
    fn a_new_volume_is_flat_with_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let volume = FileBlobStore::new(root.clone());
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let d = digest_of(raw);
        assert!(volume.put_logged(&d, raw).unwrap());
        assert_eq!(
            volume
                .path_for(&d)
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap(),
            root
        );
        assert!(root.join(blob_layout::MARKER).is_file());
        assert_eq!(volume.list().unwrap().len(), 1);
        // A second handle on the same directory agrees.
        assert_eq!(FileBlobStore::new(root).get(&d).unwrap(), raw);
    }
}
