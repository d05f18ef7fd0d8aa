//! Blob frames: the bytes of a new message's blob, carried in the redo log itself.
//!
//! In charge of: the frame's byte format (pure, never panics), finding the frames of a
//! log, and [`collect_blobs`], which finds the wanted blobs in a redo directory
//! (archived files and the current `redo.log`) for [`RedoBlob::read`].
//!
//! Zimbra's redo log holds the body of every delivered message, so a server whose blob
//! volume is lost can still replay the deliveries made after its last backup. zcs does
//! the same: before the `CreateMessage` record that first names a blob in a file, the
//! writer puts a blob frame with that blob's bytes, in the same write and fsync. A frame
//! takes no sequence number (the records' sequence stays dense) and rolls over and is
//! archived with the file it is in.
//!
//! Frame layout (little-endian, beside the records of `super::codec`):
//!
//! ```text
//! marker u32 = 0x424F_4C42 ("BLOB" on disk) | body length u32 | CRC-32 of the body u32
//! body: version u8 | digest (u32 length + UTF-8) | the blob's raw bytes (the rest)
//! ```
//!
//! A torn or corrupt frame is treated like a torn or corrupt record (see the codec).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::codec::{self, DecodeError, FORMAT_VERSION};
use super::wire::{Reader, len_u32, put_str};
use crate::error::StoreError;

/// The frame marker.
pub(super) const BLOB_MARKER: u32 = 0x424F_4C42;
/// The largest blob carried in a frame; larger blobs are not carried (they rely on the
/// blob volume and the backups alone).
pub const MAX_BLOB_FRAME_LEN: u32 = 256 << 20;
const FRAME_LEN: usize = 12;

/// Where one blob frame's bytes are in the input it was decoded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobFrame {
    /// The blob's item digest (as in `CreateMessage`).
    pub digest: String,
    /// The blob's raw bytes, as a range of the decoded input.
    pub bytes: Range<usize>,
}

/// Appends the framed blob `raw` with digest `digest` to `out`.
pub fn encode_blob_frame(digest: &str, raw: &[u8], out: &mut Vec<u8>) {
    let mut head = Vec::with_capacity(8 + digest.len());
    head.push(FORMAT_VERSION);
    put_str(&mut head, digest);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head);
    crc.update(raw);
    out.extend_from_slice(&BLOB_MARKER.to_le_bytes());
    out.extend_from_slice(&len_u32(head.len() + raw.len()).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(raw);
}

/// Whether `bytes` (at a record boundary) start with a blob frame's marker.
pub(super) fn starts_frame(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4] == BLOB_MARKER.to_le_bytes()
}

/// Decodes the blob frame at the start of `bytes` (which [`starts_frame`]): the frame,
/// its blob range relative to `bytes`, and the bytes it takes. Never panics.
pub(super) fn decode_frame(bytes: &[u8]) -> Result<(BlobFrame, usize), DecodeError> {
    if bytes.len() < FRAME_LEN {
        return Err(DecodeError::Truncated);
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if len > MAX_BLOB_FRAME_LEN + 1024 {
        return Err(DecodeError::TooLong(len));
    }
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let end = FRAME_LEN + len as usize;
    let Some(body) = bytes.get(FRAME_LEN..end) else {
        return Err(DecodeError::Truncated);
    };
    if crc32fast::hash(body) != crc {
        return Err(DecodeError::Checksum);
    }
    let mut r = Reader { buf: body, pos: 0 };
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let digest = r.string()?;
    let frame = BlobFrame {
        digest,
        bytes: FRAME_LEN + r.pos..end,
    };
    Ok((frame, end))
}

/// Where a blob carried in a redo log file is: read it with [`RedoBlob::read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedoBlob {
    /// The redo log file (archived or current).
    pub path: PathBuf,
    /// The blob's item digest.
    pub digest: String,
    /// The blob's bytes in the file.
    pub bytes: Range<usize>,
}

impl RedoBlob {
    /// The blob's raw bytes, checked against its digest. Blocking.
    ///
    /// # Errors
    /// The file cannot be read (an archived file pruned meanwhile, a rolled-over
    /// current file), or its bytes there do not match the digest
    /// ([`StoreError::Corrupt`]).
    pub fn read(&self) -> Result<Vec<u8>, StoreError> {
        let mut f = std::fs::File::open(&self.path)
            .map_err(|e| StoreError::io("open redo log", &self.path, e))?;
        let mut raw = vec![0u8; self.bytes.len()];
        f.seek(SeekFrom::Start(self.bytes.start as u64))
            .and_then(|_| f.read_exact(&mut raw))
            .map_err(|e| StoreError::io("read blob from redo log", &self.path, e))?;
        if crate::blob::digest_of(&raw) != self.digest {
            return Err(StoreError::Corrupt(format!(
                "blob {} in {} does not match its digest",
                self.digest,
                self.path.display()
            )));
        }
        Ok(raw)
    }
}

/// Finds the blobs named in `wanted` in the redo logs of `redo_dir` (its `archive/`
/// files, then `redo.log`; the first frame of a digest wins). Damaged files are read up
/// to the damage; a missing directory holds nothing. The bytes are checked when read.
///
/// Cost: reads every redo file whole, one at a time, until all are found.
///
/// # Errors
/// A file cannot be listed or read.
pub fn collect_blobs(
    redo_dir: &Path,
    wanted: &HashSet<String>,
) -> Result<HashMap<String, RedoBlob>, StoreError> {
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut files: Vec<_> = super::archive::list(redo_dir)?
        .into_iter()
        .map(|l| l.path)
        .collect();
    files.push(redo_dir.join("redo.log"));
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("read redo log", &path, e)),
        };
        for frame in codec::decode_log(&bytes).blobs {
            if wanted.contains(&frame.digest) && !out.contains_key(&frame.digest) {
                let blob = RedoBlob {
                    path: path.clone(),
                    digest: frame.digest.clone(),
                    bytes: frame.bytes,
                };
                out.insert(frame.digest, blob);
            }
        }
        if out.len() == wanted.len() {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redo::codec::{RedoOp, RedoRecord, decode_log, encode_file_header};
    use crate::redo::log::{RedoFile, RedoLog};
    use proptest::prelude::*;
    use std::sync::Arc;
    use zcs_core::MailboxId;

    fn create(id: i32, digest: &str, size: u64) -> RedoOp {
        RedoOp::CreateMessage {
            change: i64::from(id),
            id,
            folder: 2,
            flags: 0,
            date_ms: 1,
            size,
            digest: digest.into(),
            subject: String::new(),
            sender: String::new(),
            recipients: String::new(),
            message_id: None,
            tags: Vec::new(),
            conv: 0,
            conv_promote: Vec::new(),
        }
    }

    proptest! {
        #[test]
        fn frames_between_records_decode_and_keep_the_sequence(
            blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..6),
        ) {
            let mut bytes = encode_file_header().to_vec();
            for (i, raw) in blobs.iter().enumerate() {
                encode_blob_frame(&format!("d{i}"), raw, &mut bytes);
                let rec = RedoRecord {
                    seq: i as u64 + 1,
                    timestamp_ms: 0,
                    mailbox: MailboxId(1),
                    op: RedoOp::DeleteMailbox,
                };
                crate::redo::codec::encode_record(&rec, &mut bytes);
            }
            let d = decode_log(&bytes);
            prop_assert_eq!(d.stop, None);
            prop_assert_eq!(d.valid_len, bytes.len());
            prop_assert_eq!(d.records.len(), blobs.len());
            prop_assert_eq!(d.blobs.len(), blobs.len());
            for (f, raw) in d.blobs.iter().zip(&blobs) {
                prop_assert_eq!(&bytes[f.bytes.clone()], raw.as_slice());
            }
            // A cut anywhere keeps whole records and frames before it, never panics.
            for cut in 0..bytes.len() {
                let d = decode_log(&bytes[..cut]);
                prop_assert!(d.valid_len <= cut.max(crate::redo::codec::FILE_HEADER_LEN));
            }
        }

        #[test]
        fn garbage_after_a_marker_never_panics(tail in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = BLOB_MARKER.to_le_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            let _ = decode_frame(&bytes);
            let _ = crate::redo::codec::decode_records(&bytes);
        }
    }

    #[tokio::test]
    async fn the_writer_carries_each_blob_once_per_file_and_collect_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let blobs: std::collections::HashMap<String, Vec<u8>> =
            [b"one".as_slice(), b"two".as_slice()]
                .iter()
                .map(|raw| (crate::blob::digest_of(raw), raw.to_vec()))
                .collect();
        let (d1, d2) = (
            crate::blob::digest_of(b"one"),
            crate::blob::digest_of(b"two"),
        );
        let opened = RedoFile::open(dir.path()).unwrap();
        let log = RedoLog::start(opened.file, 1, 0).unwrap();
        let source = blobs.clone();
        log.set_blob_source(Arc::new(move |d: &str| source.get(d).cloned()));
        for (id, d) in [(10, &d1), (11, &d1), (12, &d2)] {
            log.append(MailboxId(1), 0, create(id, d, 3)).await.unwrap();
        }
        // A blob the source cannot read: the record is still written, with no frame.
        log.append(MailboxId(1), 0, create(13, "missing", 3))
            .await
            .unwrap();
        log.close().await;

        let bytes = std::fs::read(dir.path().join("redo.log")).unwrap();
        let d = decode_log(&bytes);
        assert_eq!(d.stop, None);
        assert_eq!(d.records.len(), 4);
        let seqs: Vec<u64> = d.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4], "frames take no sequence");
        let framed: Vec<&str> = d.blobs.iter().map(|b| b.digest.as_str()).collect();
        assert_eq!(framed, vec![d1.as_str(), d2.as_str()]);

        // Reopened, the file remembers what it holds: d1 is not framed again.
        let opened = RedoFile::open(dir.path()).unwrap();
        let log = RedoLog::start(opened.file, 5, 0).unwrap();
        let source = blobs.clone();
        log.set_blob_source(Arc::new(move |d: &str| source.get(d).cloned()));
        log.append(MailboxId(1), 0, create(14, &d1, 3))
            .await
            .unwrap();
        log.close().await;
        let bytes = std::fs::read(dir.path().join("redo.log")).unwrap();
        assert_eq!(decode_log(&bytes).blobs.len(), 2);

        let wanted = [d1.clone(), d2.clone(), "missing".to_string()]
            .into_iter()
            .collect();
        let found = collect_blobs(dir.path(), &wanted).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[&d1].read().unwrap(), b"one");
        assert_eq!(found[&d2].read().unwrap(), b"two");
        // Bytes altered on disk are refused when read.
        let mut bad = bytes.clone();
        bad[found[&d2].bytes.start] ^= 0x20;
        std::fs::write(dir.path().join("redo.log"), &bad).unwrap();
        assert!(found[&d2].read().is_err());
    }

    #[test]
    fn frame_round_trips_and_reports_its_range() {
        let mut buf = vec![9u8; 3];
        encode_blob_frame("abc", b"hello blob", &mut buf);
        let (frame, used) = decode_frame(&buf[3..]).expect("decodes");
        assert_eq!(used, buf.len() - 3);
        assert_eq!(frame.digest, "abc");
        assert_eq!(&buf[3..][frame.bytes], b"hello blob");
    }

    #[test]
    fn damaged_frames_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode_blob_frame("d", b"0123456789", &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_frame(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(decode_frame(&bad), Err(DecodeError::Checksum));
    }
}
