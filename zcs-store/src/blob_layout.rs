//! Where a blob file sits under its volume's root, and how a volume says which
//! arrangement it uses.
//!
//! Two arrangements exist. Volumes created from 2026-12-06 on are **flat**:
//! `<root>/<h[0..2]>/<h>.msg`, 256 directories, and carry a marker file `LAYOUT` at the
//! root written before their first directory. Older volumes are **nested**:
//! `<root>/<h[0..2]>/<h[2..4]>/<h>.msg`, up to 65,536 directories, and have no marker.
//! Nested spread a fresh volume's first hundred thousand blobs over new directories, and
//! creating a directory cost about four times the file it held (measured by the
//! 2026-12-06 decision `docs/decisions/2026-12-06-flat-blob-layout.md`); old volumes
//! stay readable as they are, no file is moved.
//!
//! How a volume's arrangement is told: the marker means flat; no marker and a
//! two-hex-digit directory holding a directory means nested; anything else (a missing or
//! empty root) is a new volume, flat, whose marker the first write puts down.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::redo::log::sync_dir;

/// The marker file at a flat volume's root.
pub(crate) const MARKER: &str = "LAYOUT";

/// What the marker holds (a person reading the volume learns the arrangement from it).
const MARKER_TEXT: &[u8] = b"flat: <h[0..2]>/<h>.msg (zcs blob volume)\n";

/// A volume's arrangement of blob files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `<h[0..2]>/<h>.msg` (with the marker).
    Flat,
    /// `<h[0..2]>/<h[2..4]>/<h>.msg` (volumes written before the marker existed).
    Nested,
}

impl Layout {
    /// The arrangement of the volume at `root`, read from the disk. Cost: one `stat`,
    /// and a directory listing only for a volume without the marker.
    pub(crate) fn of(root: &Path) -> Layout {
        if root.join(MARKER).is_file() {
            return Layout::Flat;
        }
        let Ok(entries) = fs::read_dir(root) else {
            return Layout::Flat;
        };
        let nested = entries.filter_map(|e| e.ok()).any(|e| {
            let p = e.path();
            is_hex_pair(&p) && p.is_dir() && has_hex_pair_dir(&p)
        });
        if nested { Layout::Nested } else { Layout::Flat }
    }

    /// How many directory levels sit between the root and a blob file.
    pub(crate) fn depth(self) -> usize {
        match self {
            Layout::Flat => 1,
            Layout::Nested => 2,
        }
    }

    /// The file for the blob whose lower-case hex SHA-256 is `hex` (64 digits).
    pub(crate) fn path(self, root: &Path, hex: &str) -> PathBuf {
        // Built in one buffer: every blob read, write and look-up computes it, several
        // times per delivery.
        let mut p = root.join(&hex[0..2]).into_os_string();
        p.reserve(72);
        p.push("/");
        if self == Layout::Nested {
            p.push(&hex[2..4]);
            p.push("/");
        }
        p.push(hex);
        p.push(".msg");
        PathBuf::from(p)
    }
}

/// Puts the flat marker at `root` (creating the root) unless it is there, durably: a
/// crash never leaves a flat directory without it. Call before creating the first
/// directory under a flat volume's root.
pub(crate) fn ensure_marker(root: &Path) -> Result<(), StoreError> {
    let marker = root.join(MARKER);
    if marker.is_file() {
        return Ok(());
    }
    if !root.is_dir() {
        fs::create_dir_all(root).map_err(|e| StoreError::io("create blob volume", root, e))?;
        if let Some(parent) = root.parent() {
            sync_dir(parent)?;
        }
    }
    let tmp = root.join(format!(".{MARKER}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let res = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| StoreError::io("create volume marker", &tmp, e))?;
        f.write_all(MARKER_TEXT)
            .and_then(|()| f.sync_all())
            .map_err(|e| StoreError::io("write volume marker", &tmp, e))?;
        fs::rename(&tmp, &marker).map_err(|e| StoreError::io("name volume marker", &marker, e))?;
        sync_dir(root)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Every file `depth` directory levels under `root` (directories at each level only;
/// names are the caller's business). A missing root or level lists nothing.
pub(crate) fn files_at_depth(root: &Path, depth: usize) -> Result<Vec<PathBuf>, StoreError> {
    let read = |dir: &Path| -> Result<Vec<PathBuf>, StoreError> {
        match fs::read_dir(dir) {
            Ok(it) => Ok(it.filter_map(|e| e.ok().map(|e| e.path())).collect()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::io("list blob volume", dir, e)),
        }
    };
    let mut dirs = vec![root.to_path_buf()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for d in &dirs {
            next.extend(read(d)?.into_iter().filter(|p| p.is_dir()));
        }
        dirs = next;
    }
    let mut files = Vec::new();
    for d in &dirs {
        files.extend(read(d)?);
    }
    Ok(files)
}

/// Whether the last component of `p` is two lower-case hex digits.
fn is_hex_pair(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.len() == 2
            && n.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether directory `dir` holds a two-hex-digit directory.
fn has_hex_pair_dir(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|it| {
        it.filter_map(|e| e.ok())
            .any(|e| is_hex_pair(&e.path()) && e.path().is_dir())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn a_missing_or_empty_root_is_flat() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Layout::of(&dir.path().join("absent")), Layout::Flat);
        assert_eq!(Layout::of(dir.path()), Layout::Flat);
    }

    #[test]
    fn an_unmarked_volume_with_two_levels_is_nested() {
        let dir = tempfile::tempdir().unwrap();
        let p = Layout::Nested.path(dir.path(), HEX);
        assert!(p.ends_with(format!("2c/f2/{HEX}.msg")), "{}", p.display());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"x").unwrap();
        assert_eq!(Layout::of(dir.path()), Layout::Nested);
        assert_eq!(files_at_depth(dir.path(), 2).unwrap(), vec![p]);
    }

    #[test]
    fn the_marker_makes_a_volume_flat_and_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        ensure_marker(&root).unwrap();
        ensure_marker(&root).unwrap();
        assert_eq!(fs::read(root.join(MARKER)).unwrap(), MARKER_TEXT);
        let p = Layout::Flat.path(&root, HEX);
        assert!(p.ends_with(format!("2c/{HEX}.msg")), "{}", p.display());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"x").unwrap();
        assert_eq!(Layout::of(&root), Layout::Flat);
        assert_eq!(files_at_depth(&root, 1).unwrap(), vec![p]);
        // Only the marker and the one directory are at the root: no temporary left.
        assert_eq!(fs::read_dir(&root).unwrap().count(), 2);
    }
}
