//! The search index in a backup: a consistent copy of the server's tantivy index taken
//! by a full session (`sys/index/`), and, on restore, the restored mailboxes' documents
//! put back into the live index so search works without a reindex.
//!
//! zcs keeps one tantivy index for every mailbox (a `mailbox` field on each document),
//! so the session holds one index, not one per account. The copy is the state of the
//! last commit: `meta.json` names the segments, and segment files never change once
//! written, so hard-linking (or copying) the files of the listed segments, then
//! checking the copy opens, gives that commit exactly, while the server keeps indexing.
//! A merge that deletes a listed segment meanwhile makes the copy retry.
//!
//! Restoring rewrites the live index offline (no writer may hold it: the server is
//! stopped): the live segments without the restored mailboxes' documents and the
//! backup's segments with only theirs are merged into a new index that replaces the
//! old directory. A restore that cannot do this leaves the items unindexed and the
//! server's indexer reindexes them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use tantivy::directory::{MmapDirectory, OwnedBytes};
use tantivy::fastfield::{AliveBitSet, write_alive_bitset};
use tantivy::{BitSet, Index, Segment, SegmentReader};

use crate::error::BackupError;

/// Where a full session keeps its index copy.
pub fn session_index(session: &Path) -> PathBuf {
    session.join("sys").join("index")
}

const META: &str = "meta.json";
const ATTEMPTS: usize = 20;
/// The fast field holding a document's mailbox id (zcs-index's schema).
const MAILBOX_FIELD: &str = "mailbox";
/// The fast field holding a document's item id.
const ITEM_FIELD: &str = "item";

fn corrupt(what: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Corrupt(format!("index {}: {e}", what.display()))
}

/// Segment ids (file name stems) listed by a `meta.json`.
fn segment_stems(meta: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_slice(meta).map_err(|e| e.to_string())?;
    let segs = v
        .get("segments")
        .and_then(|s| s.as_array())
        .ok_or("meta.json lists no segments")?;
    segs.iter()
        .map(|s| {
            s.get("segment_id")
                .and_then(|id| id.as_str())
                .map(|id| id.replace('-', ""))
                .ok_or_else(|| "segment without id".to_string())
        })
        .collect()
}

/// Copies the last commit of the index in `live` to `dest` (hard links when possible,
/// else copies; `charge` is told the bytes copied). Returns `false` when `live` holds
/// no index (nothing copied).
///
/// # Errors
/// The copy keeps failing (the index changes faster than it can be copied, or is
/// damaged); file errors.
pub fn snapshot(
    live: &Path,
    dest: &Path,
    mut charge: impl FnMut(u64, &Path) -> Result<(), BackupError>,
) -> Result<bool, BackupError> {
    let mut last_err = String::new();
    for _ in 0..ATTEMPTS {
        let meta = match std::fs::read(live.join(META)) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(BackupError::io("read index", live.join(META), e)),
        };
        let stems = segment_stems(&meta).map_err(|e| corrupt(live, e))?;
        let _ = std::fs::remove_dir_all(dest);
        std::fs::create_dir_all(dest).map_err(|e| BackupError::io("create", dest, e))?;
        let names: Vec<String> = std::fs::read_dir(live)
            .map_err(|e| BackupError::io("list index", live, e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let mut ok = true;
        for stem in &stems {
            let prefix = format!("{stem}.");
            let files: Vec<&String> = names.iter().filter(|n| n.starts_with(&prefix)).collect();
            if files.is_empty() {
                ok = false;
                break;
            }
            for f in files {
                let (src, dst) = (live.join(f), dest.join(f));
                if std::fs::hard_link(&src, &dst).is_err() {
                    match std::fs::copy(&src, &dst) {
                        Ok(n) => charge(n, &dst)?,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            ok = false;
                            break;
                        }
                        Err(e) => return Err(BackupError::io("copy index", &src, e)),
                    }
                }
            }
            if !ok {
                break;
            }
        }
        if !ok {
            last_err = "a segment went away while copying".into();
            continue;
        }
        crate::catalog::write_synced(&dest.join(META), &meta)?;
        charge(meta.len() as u64, dest)?;
        match check_opens(dest) {
            Ok(()) => return Ok(true),
            Err(e) => last_err = e,
        }
    }
    let _ = std::fs::remove_dir_all(dest);
    Err(BackupError::Invalid(format!(
        "could not copy the search index in {} after {ATTEMPTS} attempts ({last_err}); \
         retry, or back up with --excludeSearchIndex",
        live.display()
    )))
}

/// Whether the index in `dir` opens and every segment's files read.
fn check_opens(dir: &Path) -> Result<(), String> {
    let index = Index::open_in_dir(dir).map_err(|e| e.to_string())?;
    for seg in index.searchable_segments().map_err(|e| e.to_string())? {
        SegmentReader::open(&seg).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A bitset of the documents of `reader` to keep: those whose mailbox is (`keep_in`
/// true) or is not (false) in `mailboxes`. Also collects, per kept mailbox, the item
/// ids kept when `items` is given.
fn filter(
    reader: &SegmentReader,
    mailboxes: &HashSet<i64>,
    keep_in: bool,
    mut items: Option<&mut HashMap<i64, Vec<i64>>>,
) -> tantivy::Result<(AliveBitSet, usize)> {
    let mb = reader.fast_fields().i64(MAILBOX_FIELD)?;
    let item = reader.fast_fields().i64(ITEM_FIELD)?;
    let max = reader.max_doc();
    let mut bits = BitSet::with_max_value(max);
    let mut kept = 0;
    for doc in 0..max {
        if !reader.is_deleted(doc)
            && let Some(m) = mb.first(doc)
            && mailboxes.contains(&m) == keep_in
        {
            bits.insert(doc);
            kept += 1;
            if let (Some(items), Some(i)) = (items.as_deref_mut(), item.first(doc)) {
                items.entry(m).or_default().push(i);
            }
        }
    }
    let mut buf = Vec::new();
    write_alive_bitset(&bits, &mut buf)?;
    Ok((AliveBitSet::open(OwnedBytes::new(buf)), kept))
}

/// Puts the documents of `mailboxes` from the backup's index copy `backup` into the
/// live index directory `live` (no writer may hold it), replacing what it held for
/// those mailboxes. Returns, per mailbox, the item ids whose documents are now in the
/// live index (the caller marks those items indexed).
///
/// Done by merging into `<live>.restore-new` and swapping directories; a crash in the
/// middle leaves either the old index, the new one, or none (the server then builds a
/// new one and reindexes every mailbox): never a mix.
///
/// # Errors
/// The backup copy or the live index cannot be read; the merge or swap fails. The live
/// index is then untouched (or absent, see above).
pub fn restore_mailboxes(
    backup: &Path,
    live: &Path,
    mailboxes: &HashSet<i64>,
) -> Result<HashMap<i64, Vec<i64>>, BackupError> {
    let mut items = HashMap::new();
    if mailboxes.is_empty() {
        return Ok(items);
    }
    let bindex = Index::open_in_dir(backup).map_err(|e| corrupt(backup, e))?;
    let mut segments: Vec<Segment> = Vec::new();
    let mut filters = Vec::new();
    let mut total = 0;
    let live_index = if live.join(META).exists() {
        Some(Index::open_in_dir(live).map_err(|e| corrupt(live, e))?)
    } else {
        None
    };
    if let Some(li) = &live_index {
        for seg in li.searchable_segments().map_err(|e| corrupt(live, e))? {
            let reader = SegmentReader::open(&seg).map_err(|e| corrupt(live, e))?;
            let (bits, n) =
                filter(&reader, mailboxes, false, None).map_err(|e| corrupt(live, e))?;
            total += n;
            segments.push(seg);
            filters.push(Some(bits));
        }
    }
    for seg in bindex
        .searchable_segments()
        .map_err(|e| corrupt(backup, e))?
    {
        let reader = SegmentReader::open(&seg).map_err(|e| corrupt(backup, e))?;
        let (bits, n) =
            filter(&reader, mailboxes, true, Some(&mut items)).map_err(|e| corrupt(backup, e))?;
        total += n;
        segments.push(seg);
        filters.push(Some(bits));
    }
    let new_dir = sibling(live, "restore-new");
    let _ = std::fs::remove_dir_all(&new_dir);
    if total > 0 {
        std::fs::create_dir_all(&new_dir).map_err(|e| BackupError::io("create", &new_dir, e))?;
        let settings = bindex.settings().clone();
        let out = MmapDirectory::open(&new_dir).map_err(|e| corrupt(&new_dir, e))?;
        let merged = tantivy::indexer::merge_filtered_segments(&segments, settings, filters, out);
        if let Err(e) = merged {
            let _ = std::fs::remove_dir_all(&new_dir);
            return Err(corrupt(&new_dir, format!("merge failed: {e}")));
        }
    }
    drop(live_index);
    // Swap: the old directory aside, the new one in, the old one gone.
    let old = sibling(live, "restore-old");
    let _ = std::fs::remove_dir_all(&old);
    if live.exists() {
        std::fs::rename(live, &old).map_err(|e| BackupError::io("move index aside", live, e))?;
    }
    if total > 0 {
        std::fs::rename(&new_dir, live)
            .map_err(|e| BackupError::io("put restored index in place", live, e))?;
    }
    let _ = std::fs::remove_dir_all(&old);
    if let Some(parent) = live.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(items)
}

fn sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "index".into());
    dir.with_file_name(format!("{name}.{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_segments_become_file_stems() {
        let meta = br#"{"segments":[{"segment_id":"0a1b2c3d-0000-4000-8000-00000000000f",
            "max_doc":3,"deletes":null}],"opstamp":4}"#;
        assert_eq!(
            segment_stems(meta).unwrap(),
            vec!["0a1b2c3d00004000800000000000000f".to_string()]
        );
        assert!(segment_stems(b"{}").is_err());
        assert!(segment_stems(b"not json").is_err());
    }

    #[test]
    fn no_index_is_no_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let done = snapshot(
            &tmp.path().join("none"),
            &tmp.path().join("copy"),
            |_, _| Ok(()),
        )
        .unwrap();
        assert!(!done);
    }
}
