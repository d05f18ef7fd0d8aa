//! The blob backend over several volumes: writes to the current primary message volume
//! (gzip above its threshold when it compresses), reads from whichever volume holds the
//! blob, and moves blobs between volumes for HSM.
//!
//! Where a blob lives is told by its file: a blob is `<h>.msg` or `<h>.msg.gz` under
//! exactly one volume root (two briefly during an HSM move). Items reference blobs by
//! digest, which does not change when a blob moves, so a move changes no database row and
//! writes no redo record: it is copy, fsync, delete. A crash between copy and delete
//! leaves the same bytes in two volumes; reads take either, and
//! [`VolumeBlobStore::list`] reports the digest once. Volume definitions come from the
//! `volume` table through its mirror file (`crate::volume`), re-read when the file changes.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use crate::blob::{BlobStore, FileBlobStore};
use crate::error::StoreError;
use crate::volume::{Volume, VolumeType, read_mirror_file};

/// Where one blob is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    /// The volume holding it.
    pub volume_id: i64,
    /// Its file.
    pub path: PathBuf,
    /// Whether the file is gzip-compressed.
    pub compressed: bool,
}

struct Loaded {
    vols: Vec<(Volume, FileBlobStore)>,
    mirror_mtime: Option<SystemTime>,
}

/// A [`BlobStore`] over the message volumes of the `volume` table.
pub struct VolumeBlobStore {
    mirror: PathBuf,
    loaded: RwLock<Loaded>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Gzip of `raw` (flate2, default level).
fn gzip(raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(raw)
        .and_then(|()| enc.finish())
        .map_err(|e| StoreError::Internal(format!("compress blob: {e}")))
}

/// The raw bytes of a gzip file's content.
fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| {
            StoreError::Corrupt(format!("blob {} does not decompress: {e}", path.display()))
        })?;
    Ok(out)
}

impl VolumeBlobStore {
    /// The backend for the store database at `db_path`, reading volume definitions from
    /// its mirror file ([`crate::volume::mirror_path`]), which
    /// [`crate::VolumeAdmin::open`] writes.
    ///
    /// # Errors
    /// I/O errors reading the mirror file.
    pub fn open(db_path: &Path) -> Result<VolumeBlobStore, StoreError> {
        let store = VolumeBlobStore {
            mirror: crate::volume::mirror_path(db_path),
            loaded: RwLock::new(Loaded {
                vols: Vec::new(),
                mirror_mtime: None,
            }),
        };
        store.reload(true)?;
        Ok(store)
    }

    /// Re-reads the mirror file when it changed since the last read (or always when
    /// `force`). Returns whether the volume set was re-read.
    fn reload(&self, force: bool) -> Result<bool, StoreError> {
        let now = mtime(&self.mirror);
        if !force
            && self
                .loaded
                .read()
                .map(|l| l.mirror_mtime == now)
                .unwrap_or(false)
        {
            return Ok(false);
        }
        let vols = read_mirror_file(&self.mirror)
            .map_err(|e| StoreError::io("read volume list", &self.mirror, e))?;
        let vols = vols
            .into_iter()
            .filter(|v| v.kind.holds_blobs())
            .map(|v| {
                let fs = FileBlobStore::new(v.path.clone());
                (v, fs)
            })
            .collect();
        let mut l = self
            .loaded
            .write()
            .map_err(|_| StoreError::Corrupt("volume table lock poisoned".into()))?;
        *l = Loaded {
            vols,
            mirror_mtime: now,
        };
        Ok(true)
    }

    fn with_loaded<T>(&self, f: impl FnOnce(&Loaded) -> T) -> Result<T, StoreError> {
        let l = self
            .loaded
            .read()
            .map_err(|_| StoreError::Corrupt("volume table lock poisoned".into()))?;
        Ok(f(&l))
    }

    /// The message volumes currently known, by id.
    pub fn volumes(&self) -> Vec<Volume> {
        let _ = self.reload(false);
        self.with_loaded(|l| l.vols.iter().map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }

    fn find(&self, digest: &str) -> Result<Option<BlobLocation>, StoreError> {
        self.with_loaded(|l| -> Result<Option<BlobLocation>, StoreError> {
            // Current primary first: where nearly every read lands.
            let mut order: Vec<&(Volume, FileBlobStore)> = l.vols.iter().collect();
            order
                .sort_by_key(|(v, _)| (!(v.current && v.kind == VolumeType::PrimaryMessage), v.id));
            for (v, fs) in order {
                let plain = fs.path_for(digest)?;
                if plain.is_file() {
                    return Ok(Some(BlobLocation {
                        volume_id: v.id,
                        path: plain,
                        compressed: false,
                    }));
                }
                let gz = fs.compressed_path_for(digest)?;
                if gz.is_file() {
                    return Ok(Some(BlobLocation {
                        volume_id: v.id,
                        path: gz,
                        compressed: true,
                    }));
                }
            }
            Ok(None)
        })?
    }

    /// Where the blob `digest` is stored, or `None` when no volume holds it. A miss
    /// re-reads the volume list when it changed. Blocking; cost: a few `stat` calls per
    /// volume.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a malformed digest.
    pub fn locate(&self, digest: &str) -> Result<Option<BlobLocation>, StoreError> {
        if let Some(loc) = self.find(digest)? {
            return Ok(Some(loc));
        }
        if self.reload(false)? {
            return self.find(digest);
        }
        Ok(None)
    }

    /// The bytes of the blob at `loc`, decompressed.
    ///
    /// # Errors
    /// `NotFound` I/O errors surface as [`StoreError::Io`]; bad gzip as
    /// [`StoreError::Corrupt`].
    pub fn read_at(loc: &BlobLocation) -> Result<Vec<u8>, StoreError> {
        let bytes =
            std::fs::read(&loc.path).map_err(|e| StoreError::io("read blob", &loc.path, e))?;
        if loc.compressed {
            gunzip(&bytes, &loc.path)
        } else {
            Ok(bytes)
        }
    }

    /// Writes `raw` into volume `vol` as that volume stores it (compressed when it
    /// compresses and `raw` is larger than its threshold). Durable on return.
    fn write_into(
        &self,
        vol: &Volume,
        raw: &[u8],
        digest: &str,
    ) -> Result<BlobLocation, StoreError> {
        self.write_into_as(vol, raw, digest, true)
    }

    /// [`VolumeBlobStore::write_into`], durable on return only when `synced` (else
    /// [`BlobStore::sync`] makes it durable).
    fn write_into_as(
        &self,
        vol: &Volume,
        raw: &[u8],
        digest: &str,
        synced: bool,
    ) -> Result<BlobLocation, StoreError> {
        let fs = FileBlobStore::new(vol.path.clone());
        let write = |path: &Path, bytes: &[u8]| {
            if synced {
                fs.write_at(path, bytes)
            } else {
                fs.write_at_unsynced(path, bytes)
            }
        };
        let (path, compressed) = if vol.compress && raw.len() as u64 > vol.compression_threshold {
            let gz = fs.compressed_path_for(digest)?;
            write(&gz, &gzip(raw)?)?;
            (gz, true)
        } else {
            let plain = fs.path_for(digest)?;
            write(&plain, raw)?;
            (plain, false)
        };
        Ok(BlobLocation {
            volume_id: vol.id,
            path,
            compressed,
        })
    }

    /// [`BlobStore::put`] (`synced`) or [`BlobStore::put_logged`]: into the current
    /// primary message volume unless some volume already holds the content.
    fn put_as(&self, digest: &str, raw: &[u8], synced: bool) -> Result<bool, StoreError> {
        let _ = self.reload(false);
        if self.find(digest)?.is_some() {
            return Ok(false);
        }
        let vol = self
            .current(VolumeType::PrimaryMessage)
            .ok_or_else(|| StoreError::Corrupt("no current primary message volume".into()))?;
        self.write_into_as(&vol, raw, digest, synced)?;
        Ok(true)
    }

    /// The current volume of type `kind`, if any.
    pub fn current(&self, kind: VolumeType) -> Option<Volume> {
        self.volumes()
            .into_iter()
            .find(|v| v.kind == kind && v.current)
    }

    /// Moves the blob `digest` into volume `to`: copies it (recompressed as `to` stores
    /// blobs), fsyncs, then deletes the old file. Returns the old location and the raw
    /// size, or `None`
    /// when the blob is missing or already in `to`. Crash-safe: at any instant at least
    /// one complete copy exists. Blocking; cost: a read, a write and two fsyncs.
    ///
    /// # Errors
    /// I/O errors; on error the old file is kept.
    pub fn move_blob(
        &self,
        digest: &str,
        to: &Volume,
    ) -> Result<Option<(BlobLocation, u64)>, StoreError> {
        let Some(from) = self.locate(digest)? else {
            return Ok(None);
        };
        if from.volume_id == to.id {
            return Ok(None);
        }
        let raw = match Self::read_at(&from) {
            Ok(raw) => raw,
            // Deleted since it was located: nothing to move.
            Err(StoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        self.write_into(to, &raw, digest)?;
        match std::fs::remove_file(&from.path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove moved blob", &from.path, e)),
        }
        if let Some(dir) = from.path.parent() {
            crate::redo::log::sync_dir(dir)?;
        }
        Ok(Some((from, raw.len() as u64)))
    }
}

impl BlobStore for VolumeBlobStore {
    /// Writes to the current primary message volume unless some volume already holds
    /// the content. Cost: one write and two fsyncs for new content.
    fn put(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.put_as(digest, raw, true)
    }

    /// As `put`, without the fsyncs (see the trait).
    fn put_logged(&self, digest: &str, raw: &[u8]) -> Result<bool, StoreError> {
        self.put_as(digest, raw, false)
    }

    /// One `syncfs` per message volume that exists (a second one on the same file
    /// system finds little left to write).
    fn sync(&self) -> Result<(), StoreError> {
        for v in self.volumes() {
            if v.path.is_dir() {
                crate::blob::sync_volume(&v.path)?;
            }
        }
        Ok(())
    }

    /// Batches of `BULK_SYNC_MIN` or more are written unsynced into the current
    /// primary volume and made durable with one file system sync; smaller ones blob by
    /// blob, as [`BlobStore::put`].
    fn put_many(&self, blobs: &[(String, &[u8])]) -> Result<Vec<bool>, StoreError> {
        if blobs.len() < crate::blob::BULK_SYNC_MIN {
            return blobs.iter().map(|(d, raw)| self.put(d, raw)).collect();
        }
        let _ = self.reload(false);
        let vol = self
            .current(VolumeType::PrimaryMessage)
            .ok_or_else(|| StoreError::Corrupt("no current primary message volume".into()))?;
        let fs = FileBlobStore::new(vol.path.clone());
        let mut out = Vec::with_capacity(blobs.len());
        for (digest, raw) in blobs {
            if self.find(digest)?.is_some() {
                out.push(false);
                continue;
            }
            if vol.compress && raw.len() as u64 > vol.compression_threshold {
                fs.write_at_unsynced(&fs.compressed_path_for(digest)?, &gzip(raw)?)?;
            } else {
                fs.write_at_unsynced(&fs.path_for(digest)?, raw)?;
            }
            out.push(true);
        }
        if out.iter().any(|w| *w) {
            crate::blob::sync_volume(&vol.path)?;
        }
        Ok(out)
    }

    fn get(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        // Two tries: an HSM move may delete the file between locate and read.
        for _ in 0..2 {
            let Some(loc) = self.locate(digest)? else {
                break;
            };
            match Self::read_at(&loc) {
                Err(StoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                    continue;
                }
                other => return other,
            }
        }
        Err(StoreError::Corrupt(format!(
            "blob {digest} is missing from every volume"
        )))
    }

    fn contains(&self, digest: &str) -> bool {
        matches!(self.locate(digest), Ok(Some(_)))
    }

    /// Removes every copy (a crash mid-move may have left two).
    fn remove(&self, digest: &str) -> Result<bool, StoreError> {
        let mut removed = false;
        for v in self.volumes() {
            let fs = FileBlobStore::new(v.path.clone());
            for p in [fs.path_for(digest)?, fs.compressed_path_for(digest)?] {
                match std::fs::remove_file(&p) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io("remove blob", p, e)),
                }
            }
        }
        Ok(removed)
    }

    /// Every digest stored in any message volume, once, with its latest write time.
    fn list(&self) -> Result<Vec<(String, SystemTime)>, StoreError> {
        let mut seen = std::collections::HashMap::<String, SystemTime>::new();
        for v in self.volumes() {
            for (d, t, _) in FileBlobStore::new(v.path.clone()).list_files()? {
                let e = seen.entry(d).or_insert(t);
                *e = (*e).max(t);
            }
        }
        Ok(seen.into_iter().collect())
    }
}
