//! Reading the archives a REST import receives: tar (POSIX ustar, IEEE 1003.1-1988, with
//! GNU `L` long names and pax `path=` records), tar gzipped (RFC 1952) and zip (PKWARE
//! APPNOTE 6.3, stored and deflated entries). The inverse of `super::super::archive`.
//!
//! Reading is lenient the way GNU tar is: a gzip stream whose CRC or length trailer is
//! wrong keeps what it decoded, and a tar header whose checksum fails is skipped to the
//! next valid header ("skipping to next header"). Either marks the archive `damaged`
//! and the entry before the gap `damaged` too, so the importer can tell the caller.
//! Real Zimbra exports in the QA corpus need this: their large binary messages lost
//! bytes, which shifts every later header off the 512-byte grid.

use std::io::Read;

/// One file read out of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadEntry {
    /// Path inside the archive, `/`-separated, without a leading `/` or `./`.
    pub name: String,
    pub data: Vec<u8>,
    /// Modification time, seconds since the epoch (0 when the archive has none).
    pub mtime: i64,
    /// The bytes after this entry did not line up (its content may be wrong).
    pub damaged: bool,
}

/// The files of one archive, in archive order.
#[derive(Clone, Debug, Default)]
pub struct ReadArchive {
    pub entries: Vec<ReadEntry>,
    /// Some of the archive could not be read as written (see the module doc).
    pub damaged: bool,
}

/// Why an archive could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("not a tar, tgz or zip archive")]
    NotAnArchive,
    #[error("archive unpacks to more than {0} bytes")]
    TooLarge(usize),
    #[error("archive holds more than {MAX_ENTRIES} entries")]
    TooMany,
    #[error("malformed archive: {0}")]
    Malformed(&'static str),
}

/// The most entries (headers of any kind) one archive may hold: far above a real
/// mailbox export's folders and items per import, far below what a few megabytes of
/// gzipped empty tar headers unpack to (each would become an item).
pub const MAX_ENTRIES: usize = 100_000;

/// Tar header bytes count against the unpacked budget like content does.
const TAR_HEADER: usize = 512;

/// Reads `bytes` as whichever container its first bytes say (gzip, zip, else tar),
/// unpacking at most `max` bytes of content.
///
/// # Errors
/// [`ReadError::NotAnArchive`] when no file at all can be read (an empty archive too),
/// [`ReadError::TooLarge`] past `max`, [`ReadError::Malformed`] for a zip whose
/// directory is unusable.
pub fn read_archive(bytes: &[u8], max: usize) -> Result<ReadArchive, ReadError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let (raw, ok) = gunzip(bytes, max)?;
        let mut a = read_tar(&raw, max)?;
        a.damaged |= !ok;
        return Ok(a);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return read_zip(bytes, max);
    }
    read_tar(bytes, max)
}

/// Gunzips `bytes` (RFC 1952); `false` beside the data when the stream ended badly
/// (what was decoded before the fault is kept).
fn gunzip(bytes: &[u8], max: usize) -> Result<(Vec<u8>, bool), ReadError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut dec = flate2::read::MultiGzDecoder::new(bytes).take(limit);
    let ok = dec.read_to_end(&mut out).is_ok();
    if out.len() > max {
        return Err(ReadError::TooLarge(max));
    }
    if out.is_empty() {
        return Err(ReadError::NotAnArchive);
    }
    Ok((out, ok))
}

fn octal(field: &[u8]) -> Option<u64> {
    let text: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .filter(|b| *b != b' ')
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&text).ok()?, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// True when `h` (512 bytes) is a tar header whose checksum holds (IEEE 1003.1 §10.1.1:
/// the sum of the header's bytes with the checksum field read as spaces).
fn header_ok(h: &[u8]) -> bool {
    if h.len() < 512 {
        return false;
    }
    let Some(stored) = octal(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    stored == sum && h[..100].iter().any(|b| *b != 0)
}

/// The offset of the next valid ustar header after `from`, by its magic.
fn resync(d: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + 262 <= d.len() {
        let rel = d[at + 257..].windows(5).position(|w| w == b"ustar")?;
        let start = at + rel;
        if header_ok(&d[start..d.len().min(start + 512)]) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// The path of a pax extended header's `path` record (IEEE 1003.1-2001 pax format).
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .filter_map(|l| l.split_once(' ').map(|(_, kv)| kv))
        .find_map(|kv| kv.strip_prefix("path=").map(str::to_string))
}

fn clean_name(name: &str) -> String {
    name.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

fn read_tar(d: &[u8], max: usize) -> Result<ReadArchive, ReadError> {
    let mut out = ReadArchive::default();
    let mut total = 0usize;
    let mut headers = 0usize;
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    // Where the last entry's content began: lost bytes move the next header back into
    // the span the last entry was read from, so a resync searches from there.
    let mut last_start: Option<usize> = None;
    while pos + 512 <= d.len() {
        let h = &d[pos..pos + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        if !header_ok(h) {
            if pos == 0 {
                return Err(ReadError::NotAnArchive);
            }
            out.damaged = true;
            let from = last_start.map_or(pos + 1, |s| s + 1);
            let next = resync(d, from).filter(|n| *n != pos);
            if let Some(last) = out.entries.last_mut() {
                last.damaged = true;
                // The entry read past the next header: cut it there, without padding.
                if let (Some(start), Some(n)) = (last_start, next)
                    && n > start
                    && n - start < last.data.len()
                {
                    last.data.truncate(n - start);
                    while last.data.last() == Some(&0) {
                        last.data.pop();
                    }
                }
            }
            match next {
                Some(n) if n > last_start.unwrap_or(0) => {
                    last_start = None;
                    pos = n;
                    continue;
                }
                _ => break,
            }
        }
        headers += 1;
        total = total.saturating_add(TAR_HEADER);
        if headers > MAX_ENTRIES {
            return Err(ReadError::TooMany);
        }
        if total > max {
            return Err(ReadError::TooLarge(max));
        }
        let Some(size) = octal(&h[124..136]).and_then(|s| usize::try_from(s).ok()) else {
            out.damaged = true;
            break;
        };
        let start = pos + 512;
        let end = start.saturating_add(size);
        let truncated = end > d.len();
        let data = &d[start..end.min(d.len())];
        let kind = h[156];
        let name = {
            let prefix = cstr(&h[345..500]);
            let base = cstr(&h[..100]);
            let ustar = &h[257..262] == b"ustar";
            if ustar && !prefix.is_empty() {
                format!("{prefix}/{base}")
            } else {
                base
            }
        };
        match kind {
            b'L' => long_name = Some(cstr(data)),
            b'x' => long_name = pax_path(data).or(long_name),
            b'0' | 0 | b'7' => {
                total = total.saturating_add(data.len());
                if total > max {
                    return Err(ReadError::TooLarge(max));
                }
                let name = clean_name(&long_name.take().unwrap_or(name));
                last_start = Some(start);
                out.entries.push(ReadEntry {
                    name,
                    data: data.to_vec(),
                    mtime: octal(&h[136..148])
                        .and_then(|t| i64::try_from(t).ok())
                        .unwrap_or(0),
                    damaged: truncated,
                });
            }
            _ => long_name = None,
        }
        if truncated {
            out.damaged = true;
            break;
        }
        pos = end.saturating_add((512 - size % 512) % 512);
    }
    // An archive with no file in it (only zero blocks, only directories) is refused
    // as well: there is nothing to import and it is most likely not what was meant.
    if out.entries.is_empty() {
        return Err(ReadError::NotAnArchive);
    }
    Ok(out)
}

fn le16(d: &[u8], at: usize) -> Option<usize> {
    let b = d.get(at..at + 2)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn le32(d: &[u8], at: usize) -> Option<usize> {
    let b = d.get(at..at + 4)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
}

/// A zip by its central directory (APPNOTE §4.3.12, §4.3.16).
fn read_zip(d: &[u8], max: usize) -> Result<ReadArchive, ReadError> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let floor = d.len().saturating_sub(22 + 65_535);
    let eocd = (floor..=d.len().saturating_sub(22))
        .rev()
        .find(|i| d.get(*i..*i + 4) == Some(EOCD))
        .ok_or(ReadError::Malformed("no zip end record"))?;
    let count = le16(d, eocd + 10).ok_or(ReadError::Malformed("short end record"))?;
    let mut at = le32(d, eocd + 16).ok_or(ReadError::Malformed("short end record"))?;
    let mut out = ReadArchive::default();
    let mut total = 0usize;
    for _ in 0..count {
        let bad = ReadError::Malformed("bad central directory");
        if d.get(at..at + 4) != Some(b"PK\x01\x02") {
            return Err(bad);
        }
        let field = |off: usize| le16(d, at + off).ok_or(ReadError::Malformed("short entry"));
        let method = field(10)?;
        let csize = le32(d, at + 20).ok_or(ReadError::Malformed("short entry"))?;
        let usize_ = le32(d, at + 24).ok_or(ReadError::Malformed("short entry"))?;
        let (nlen, xlen, clen) = (field(28)?, field(30)?, field(32)?);
        let local = le32(d, at + 42).ok_or(ReadError::Malformed("short entry"))?;
        let name = d
            .get(at + 46..at + 46 + nlen)
            .ok_or(ReadError::Malformed("short entry name"))?;
        let name = clean_name(&String::from_utf8_lossy(name));
        at = at + 46 + nlen + xlen + clen;
        if d.get(local..local + 4) != Some(b"PK\x03\x04") {
            return Err(ReadError::Malformed("bad local header"));
        }
        let lnlen = le16(d, local + 26).ok_or(ReadError::Malformed("short local header"))?;
        let lxlen = le16(d, local + 28).ok_or(ReadError::Malformed("short local header"))?;
        let start = local + 30 + lnlen + lxlen;
        let raw = d
            .get(start..start.saturating_add(csize))
            .ok_or(ReadError::Malformed("entry past the end"))?;
        total = total.saturating_add(usize_);
        if total > max {
            return Err(ReadError::TooLarge(max));
        }
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut v = Vec::new();
                let limit = u64::try_from(usize_).unwrap_or(u64::MAX).saturating_add(1);
                flate2::read::DeflateDecoder::new(raw)
                    .take(limit)
                    .read_to_end(&mut v)
                    .map_err(|_| ReadError::Malformed("bad deflate data"))?;
                v
            }
            _ => return Err(ReadError::Malformed("unsupported zip compression")),
        };
        if name.ends_with('/') {
            continue;
        }
        out.entries.push(ReadEntry {
            name,
            data,
            mtime: 0,
            damaged: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontends::http::archive::{self, ArchiveEntry};
    use proptest::prelude::*;

    fn sample() -> Vec<ArchiveEntry> {
        vec![
            ArchiveEntry {
                name: "Inbox/257-Hello.eml".into(),
                data: b"Subject: Hello\r\n\r\nbody\r\n".to_vec(),
                mtime: 1_700_000_000,
            },
            ArchiveEntry {
                name: format!("{}/{}.eml", "d".repeat(120), "n".repeat(90)),
                data: vec![7u8; 1000],
                mtime: 0,
            },
        ]
    }

    fn names(a: &ReadArchive) -> Vec<(String, usize)> {
        a.entries
            .iter()
            .map(|e| (e.name.clone(), e.data.len()))
            .collect()
    }

    #[test]
    fn tar_headers_count_against_the_budget_and_entries_are_capped() {
        // Attack review: 3 MB of gzip unpacked to ~500,000 empty documents.
        let empty = |n: usize| {
            let entries: Vec<ArchiveEntry> = (0..n)
                .map(|i| ArchiveEntry {
                    name: format!("x/{i}"),
                    data: Vec::new(),
                    mtime: 0,
                })
                .collect();
            archive::tar(&entries).expect("tar")
        };
        let ten = empty(10);
        assert_eq!(
            read_archive(&ten, 10 * 512).expect("fits").entries.len(),
            10
        );
        assert_eq!(
            read_archive(&ten, 9 * 512).err(),
            Some(ReadError::TooLarge(9 * 512))
        );
        let many = empty(MAX_ENTRIES + 1);
        assert_eq!(
            read_archive(&many, usize::MAX).err(),
            Some(ReadError::TooMany)
        );
    }

    #[test]
    fn reads_what_the_exporter_writes() {
        let want: Vec<(String, usize)> = sample()
            .iter()
            .map(|e| (e.name.clone(), e.data.len()))
            .collect();
        for bytes in [
            archive::tar(&sample()).expect("tar"),
            archive::tgz(&sample()).expect("tgz"),
            archive::zip(&sample()).expect("zip"),
        ] {
            let a = read_archive(&bytes, 1 << 20).expect("read");
            assert_eq!(names(&a), want);
            assert!(!a.damaged);
            assert_eq!(a.entries[0].data, sample()[0].data);
        }
        let t = read_archive(&archive::tar(&sample()).expect("tar"), 1 << 20).expect("read");
        assert_eq!(t.entries[0].mtime, 1_700_000_000);
    }

    #[test]
    fn skips_to_the_next_header_after_lost_bytes() {
        let mut entries = sample();
        entries.push(ArchiveEntry {
            name: "Inbox/258-After.eml".into(),
            data: b"Subject: After\r\n\r\n".to_vec(),
            mtime: 0,
        });
        let mut t = archive::tar(&entries).expect("tar");
        // Lose 13 bytes inside the second entry's content.
        t.drain(2048..2061);
        let a = read_archive(&t, 1 << 20).expect("read");
        assert!(a.damaged);
        assert_eq!(
            a.entries.last().map(|e| e.name.as_str()),
            Some("Inbox/258-After.eml")
        );
        assert!(a.entries[1].damaged);
        assert!(!a.entries[0].damaged);
    }

    #[test]
    fn limits_and_garbage() {
        assert_eq!(
            read_archive(&archive::tgz(&sample()).expect("tgz"), 100).err(),
            Some(ReadError::TooLarge(100))
        );
        assert_eq!(
            read_archive(b"hello", 100).err(),
            Some(ReadError::NotAnArchive)
        );
        assert_eq!(
            read_archive(&[0x1f, 0x8b, 1, 2], 100).err(),
            Some(ReadError::NotAnArchive)
        );
        assert!(read_archive(b"PK\x03\x04garbage", 100).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = read_archive(&bytes, 1 << 16);
        }

        #[test]
        fn damaged_archives_never_panic(cut in 0usize..3000, flip in 0usize..3000, b: u8) {
            for mut bytes in [
                archive::tar(&sample()).expect("tar"),
                archive::zip(&sample()).expect("zip"),
                archive::tgz(&sample()).expect("tgz"),
            ] {
                if flip < bytes.len() {
                    bytes[flip] = b;
                }
                bytes.truncate(cut);
                let _ = read_archive(&bytes, 1 << 16);
            }
        }
    }
}
