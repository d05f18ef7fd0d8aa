//! Blobs packed in zip files (`zmbackup --zipStore` / `-z`), and reading blobs back out
//! of a session however they were packed, each checked against its digest.
//!
//! Layout: a full session writes one zip per account, `accounts/<p>/<id>/blobs/
//! blobs-1.zip`, holding the account's blobs not already packed for an earlier account
//! of the same session (a blob shared by several accounts is stored once per session,
//! in the zip of the first account that has it); an incremental writes
//! `blobs/blobs-1.zip`. Entry names are the blob digests; entry data is the blob's raw
//! bytes (a volume's gzip copy is unpacked first), stored (`--zipStore`) or deflated
//! (`-z`). With `--noZip` blobs stay individual files under `blobs/`, as the volume
//! names them.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zcs_store::{BlobStore, FileBlobStore, StoreError};

use crate::error::BackupError;

/// How a session keeps its blobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlobPackaging {
    /// Individual files under `blobs/` (`--noZip`), hard-linked from the volume when
    /// the target shares its file system: the fastest, and no extra space.
    #[default]
    Files,
    /// Zip files without compression (`--zipStore`, Zimbra's default).
    ZipStore,
    /// Deflate-compressed zip files (`-z`, `--zip`).
    Zip,
}

/// The file name of the (only) zip a packer writes.
pub const ZIP_NAME: &str = "blobs-1.zip";

/// Writes blobs into one zip file, created on the first blob.
pub struct ZipPacker {
    path: PathBuf,
    method: zip::CompressionMethod,
    writer: Option<zip::ZipWriter<std::fs::File>>,
    /// Bytes written so far (uncompressed).
    pub bytes: u64,
}

impl ZipPacker {
    /// A packer for `dir/blobs-1.zip` (not created until [`ZipPacker::add`]).
    pub fn new(dir: &Path, packaging: BlobPackaging) -> ZipPacker {
        let method = match packaging {
            BlobPackaging::Zip => zip::CompressionMethod::Deflated,
            _ => zip::CompressionMethod::Stored,
        };
        ZipPacker {
            path: dir.join(ZIP_NAME),
            method,
            writer: None,
            bytes: 0,
        }
    }

    /// Adds `raw` under the name `digest`.
    ///
    /// # Errors
    /// The zip cannot be created or written.
    pub fn add(&mut self, digest: &str, raw: &[u8]) -> Result<(), BackupError> {
        if self.writer.is_none() {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| BackupError::io("create", parent, e))?;
            }
            let f = std::fs::File::create(&self.path)
                .map_err(|e| BackupError::io("create zip", &self.path, e))?;
            self.writer = Some(zip::ZipWriter::new(f));
        }
        let Some(w) = self.writer.as_mut() else {
            return Err(BackupError::Invalid("zip writer missing".into()));
        };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(self.method)
            .large_file(raw.len() as u64 >= u32::MAX as u64);
        w.start_file(digest, opts)
            .map_err(|e| zip_io(&self.path, "add to zip", e))?;
        w.write_all(raw)
            .map_err(|e| BackupError::io("write zip", &self.path, e))?;
        self.bytes += raw.len() as u64;
        Ok(())
    }

    /// Writes the central directory and fsyncs the file; no-op when nothing was added.
    ///
    /// # Errors
    /// The zip cannot be finished.
    pub fn finish(self) -> Result<(), BackupError> {
        let Some(w) = self.writer else {
            return Ok(());
        };
        let f = w
            .finish()
            .map_err(|e| zip_io(&self.path, "finish zip", e))?;
        f.sync_all()
            .map_err(|e| BackupError::io("sync zip", &self.path, e))
    }
}

fn zip_io(path: &Path, step: &'static str, e: zip::result::ZipError) -> BackupError {
    match e {
        zip::result::ZipError::Io(io) => BackupError::io(step, path, io),
        other => BackupError::Corrupt(format!("{}: {other}", path.display())),
    }
}

/// The zip files of a session: `blobs/*.zip` and `accounts/*/*/blobs/*.zip`.
fn session_zips(session: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![session.join("blobs")];
    let accounts = session.join("accounts");
    for p in read_dirs(&accounts) {
        for a in read_dirs(&p) {
            dirs.push(a.join("blobs"));
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "zip") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn read_dirs(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Blobs read from the sessions of a restore chain, first hit wins: individual files
/// (plain or gzip) and zip entries. Every blob read is checked against its digest, so
/// a truncated or altered copy is reported, never restored.
pub struct SessionBlobs {
    files: Vec<FileBlobStore>,
    /// digest -> the zip holding it.
    zipped: HashMap<String, PathBuf>,
    open: Mutex<HashMap<PathBuf, zip::ZipArchive<std::fs::File>>>,
    /// Zips that cannot be read (truncated, damaged), with why: a blob not found is
    /// reported against them.
    broken: Vec<String>,
    /// Blobs no session holds, carried in the server's redo logs (messages delivered
    /// after the backup, when the blob volume is lost too: a disaster recovery).
    redo: HashMap<String, zcs_store::redo::RedoBlob>,
}

impl SessionBlobs {
    /// The blobs of the sessions in `sessions` (directories), in that order.
    ///
    /// A zip that cannot be opened is remembered, not fatal: only the accounts whose
    /// blobs it held fail, with an error naming it.
    ///
    /// # Errors
    /// None today; kept for damage that makes the whole set unusable.
    pub fn open(sessions: &[&Path]) -> Result<SessionBlobs, BackupError> {
        let mut zipped = HashMap::new();
        let mut open = HashMap::new();
        let mut broken = Vec::new();
        for s in sessions {
            for z in session_zips(s) {
                let archive = std::fs::File::open(&z)
                    .map_err(|e| e.to_string())
                    .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
                let archive = match archive {
                    Ok(a) => a,
                    Err(why) => {
                        tracing::error!(zip = %z.display(), error = why, "damaged blob zip");
                        broken.push(format!("{} ({why})", z.display()));
                        continue;
                    }
                };
                for name in archive.file_names() {
                    zipped.entry(name.to_string()).or_insert_with(|| z.clone());
                }
                open.insert(z, archive);
            }
        }
        Ok(SessionBlobs {
            files: sessions
                .iter()
                .map(|s| FileBlobStore::new(s.join("blobs")))
                .collect(),
            zipped,
            open: Mutex::new(open),
            broken,
            redo: HashMap::new(),
        })
    }

    /// Adds the blobs of the messages `records` create that no session holds, as the
    /// redo logs in `redolog` carry them (see `zcs_store::redo::blob_frame`). Returns
    /// how many were found.
    ///
    /// # Errors
    /// A redo log cannot be read.
    pub fn add_redo_blobs(
        &mut self,
        redolog: &Path,
        records: &[zcs_store::redo::RedoRecord],
    ) -> Result<usize, BackupError> {
        let wanted: HashSet<String> = records
            .iter()
            .filter_map(|r| zcs_store::transfer::op_blob(&r.op))
            .filter(|d| !self.contains(d))
            .map(str::to_string)
            .collect();
        let found = zcs_store::redo::collect_blobs(redolog, &wanted)
            .map_err(|e| BackupError::Invalid(format!("read blobs from the redo logs: {e}")))?;
        let n = found.len();
        self.redo.extend(found);
        Ok(n)
    }

    /// The raw bytes of `digest` and where they came from, unchecked.
    fn read_raw(&self, digest: &str) -> Result<Option<(Vec<u8>, PathBuf)>, StoreError> {
        for b in &self.files {
            let plain = b.path_for(digest)?;
            if let Ok(bytes) = std::fs::read(&plain) {
                return Ok(Some((bytes, plain)));
            }
            let gz = b.compressed_path_for(digest)?;
            if let Ok(bytes) = std::fs::read(&gz) {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(bytes.as_slice())
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        StoreError::Corrupt(format!(
                            "blob {digest} in {} does not decompress ({e}): the backup copy \
                             is damaged",
                            gz.display()
                        ))
                    })?;
                return Ok(Some((out, gz)));
            }
        }
        let Some(zpath) = self.zipped.get(digest) else {
            return match self.redo.get(digest) {
                Some(b) => Ok(Some((b.read()?, b.path.clone()))),
                None => Ok(None),
            };
        };
        let mut open = self
            .open
            .lock()
            .map_err(|_| StoreError::Internal("zip table poisoned".into()))?;
        let Some(archive) = open.get_mut(zpath) else {
            return Ok(None);
        };
        let damaged = |e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!(
                "blob {digest} in {} cannot be read ({e}): the backup copy is damaged",
                zpath.display()
            ))
        };
        let mut entry = archive.by_name(digest).map_err(|e| damaged(&e))?;
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut out).map_err(|e| damaged(&e))?;
        Ok(Some((out, zpath.clone())))
    }

    /// The raw bytes of `digest`, checked against it; `None` when no session has it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the damaged copy.
    pub fn read(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((raw, from)) = self.read_raw(digest)? else {
            return Ok(None);
        };
        if zcs_store::blob_digest(&raw) != digest {
            return Err(StoreError::Corrupt(format!(
                "blob {digest} in {} is damaged: its {} bytes do not match its digest \
                 (truncated or altered)",
                from.display(),
                raw.len()
            )));
        }
        Ok(Some(raw))
    }
}

impl BlobStore for SessionBlobs {
    fn put(&self, _digest: &str, _raw: &[u8]) -> Result<bool, StoreError> {
        Err(StoreError::InvalidRequest(
            "backup blobs are read-only".into(),
        ))
    }
    fn get(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        self.read(digest)?.ok_or_else(|| {
            if self.broken.is_empty() {
                StoreError::Corrupt(format!(
                    "blob {digest} is not in the backup (taken without blobs, or damaged) \
                     and not on this server's volumes"
                ))
            } else {
                StoreError::Corrupt(format!(
                    "blob {digest} is not on this server's volumes and the backup zip that \
                     should hold it is damaged: {}",
                    self.broken.join("; ")
                ))
            }
        })
    }
    fn contains(&self, digest: &str) -> bool {
        self.zipped.contains_key(digest)
            || self.redo.contains_key(digest)
            || self.files.iter().any(|b| {
                b.contains(digest) || b.compressed_path_for(digest).is_ok_and(|p| p.is_file())
            })
    }
    fn remove(&self, _digest: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// Digests already packed in a session (so a shared blob is stored once).
pub type Packed = HashSet<String>;
