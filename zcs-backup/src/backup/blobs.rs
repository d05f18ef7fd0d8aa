//! Where a backup session's blobs come from and how they are placed: the live volumes
//! ([`LiveBlobs`]: primary and secondary, plain or gzip), the session's blob directory
//! or zip ([`Sink`]), and the byte budget that stands in for a full disk in tests
//! ([`Budget`]).

use std::path::{Path, PathBuf};

use zcs_store::{FileBlobStore, VolumeType};

use super::BackupOptions;
use crate::BackupPaths;
use crate::blobcopy::{self, CopyError};
use crate::error::{BackupError, StoreStep};
use crate::zipblobs::{Packed, ZipPacker};

/// Charges the bytes a session writes against [`BackupOptions::space_limit`].
#[derive(Debug, Default)]
pub(super) struct Budget {
    limit: Option<u64>,
    used: std::sync::atomic::AtomicU64,
}

impl Budget {
    pub(super) fn new(limit: Option<u64>) -> Budget {
        Budget {
            limit,
            used: Default::default(),
        }
    }

    /// Records `n` more bytes; `ENOSPC` once past the limit.
    pub(super) fn charge(&self, n: u64, path: &Path) -> Result<(), BackupError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let used = self.used.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        if used > limit {
            return Err(BackupError::io(
                "write",
                path,
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ));
        }
        Ok(())
    }

    /// Whether blobs must be copied (a limited "disk" is another file system).
    pub(super) fn limited(&self) -> bool {
        self.limit.is_some()
    }
}

/// Where live blobs are: every message volume of the store (primary and secondary,
/// plain or gzip), falling back to the default volume root.
pub(super) struct LiveBlobs {
    volumes: Option<zcs_store::VolumeBlobStore>,
    fallback: FileBlobStore,
}

impl LiveBlobs {
    pub(super) fn open(paths: &BackupPaths) -> LiveBlobs {
        LiveBlobs {
            volumes: zcs_store::VolumeBlobStore::open(&paths.db).ok(),
            fallback: FileBlobStore::new(paths.store.clone()),
        }
    }

    /// The file holding `digest`, whether it is gzip, and whether it is on a secondary
    /// (HSM) volume; `None` when no volume holds it.
    pub(super) fn locate(
        &self,
        digest: &str,
    ) -> Result<Option<(PathBuf, bool, bool)>, BackupError> {
        if let Some(v) = &self.volumes
            && let Some(loc) = v.locate(digest).step("locate blob")?
        {
            let secondary = v
                .volumes()
                .iter()
                .any(|vol| vol.id == loc.volume_id && vol.kind == VolumeType::SecondaryMessage);
            return Ok(Some((loc.path, loc.compressed, secondary)));
        }
        for (path, gz) in [
            (self.fallback.path_for(digest).step("name blob")?, false),
            (
                self.fallback
                    .compressed_path_for(digest)
                    .step("name blob")?,
                true,
            ),
        ] {
            if path.is_file() {
                return Ok(Some((path, gz, false)));
            }
        }
        Ok(None)
    }
}

/// What happened to one blob.
pub(super) enum Placed {
    /// In the session (or already there).
    Stored,
    /// Left out on purpose (`--exclude-hsm-blobs`).
    Skipped,
    /// No volume holds it any more (deleted since the snapshot).
    Gone,
}

/// Where a session puts blobs: the blob directory, or a zip and the digests already
/// packed in this session.
pub(super) enum Sink<'a> {
    Files(&'a FileBlobStore),
    Zip(&'a mut ZipPacker, &'a mut Packed),
}

/// Places the blob `digest` into the session: into its blob directory exactly as the
/// volume stores it (a gzip file stays gzip, so the bytes are the volume's; a hard link
/// when both are on one file system, else a copy), or its raw bytes into a zip.
pub(super) fn place_blob(
    live: &LiveBlobs,
    sink: Sink<'_>,
    digest: &str,
    opts: &BackupOptions,
    budget: &Budget,
) -> Result<Placed, BackupError> {
    let Some((src, gz, secondary)) = live.locate(digest)? else {
        return Ok(Placed::Gone);
    };
    if secondary && opts.exclude_hsm_blobs {
        return Ok(Placed::Skipped);
    }
    let dest = match sink {
        Sink::Files(d) => d,
        Sink::Zip(packer, packed) => {
            if packed.contains(digest) {
                return Ok(Placed::Stored);
            }
            let raw = match read_volume_blob(&src, gz) {
                Ok(raw) => raw,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Placed::Gone),
                Err(e) => return Err(BackupError::io("read blob", &src, e)),
            };
            budget.charge(raw.len() as u64, &src)?;
            packer.add(digest, &raw)?;
            packed.insert(digest.to_string());
            return Ok(Placed::Stored);
        }
    };
    let dst = if gz {
        dest.compressed_path_for(digest)
    } else {
        dest.path_for(digest)
    }
    .step("name blob")?;
    if dst.exists() {
        return Ok(Placed::Stored);
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(|e| BackupError::io("create", parent, e))?;
    }
    if budget.limited() || std::fs::hard_link(&src, &dst).is_err() {
        match blobcopy::copy_file(&src, &dst, |n| budget.charge(n, &dst)) {
            Ok(_) => {}
            Err(CopyError::Read(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Placed::Gone);
            }
            // Another account of this session placed it meanwhile.
            Err(CopyError::Write(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(CopyError::Read(e)) => return Err(BackupError::io("read blob", &src, e)),
            Err(CopyError::Write(e)) => {
                let _ = std::fs::remove_file(&dst);
                return Err(BackupError::io("copy blob", &dst, e));
            }
            Err(CopyError::Budget(e)) => return Err(e),
        }
    }
    Ok(Placed::Stored)
}

/// The raw bytes of a volume's blob file (gunzipped when `gz`).
fn read_volume_blob(path: &Path, gz: bool) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let bytes = std::fs::read(path)?;
    if !gz {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut out)?;
    Ok(out)
}
