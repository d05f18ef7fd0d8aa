//! The archive containers REST exports are written in: tar (POSIX ustar, IEEE
//! 1003.1-1988), tar gzipped (RFC 1952) and zip (PKWARE APPNOTE 6.3, stored entries,
//! UTF-8 names). Whole archives are built in memory.
// LIMITATION: entries over 4 GiB and archives over 4 GiB (zip without ZIP64) are not
// supported; export stops with an error instead.

use std::io::Write;

/// One file of an archive.
#[derive(Clone, Debug)]
pub struct ArchiveEntry {
    /// Path inside the archive, `/`-separated, no leading `/`.
    pub name: String,
    pub data: Vec<u8>,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive too large")]
    TooLarge,
    #[error("compression failed: {0}")]
    Io(#[from] std::io::Error),
}

fn octal(field: &mut [u8], value: u64) {
    // Width-1 octal digits, NUL-terminated.
    let text = format!("{value:0width$o}", width = field.len() - 1);
    let bytes = text.as_bytes();
    let width = field.len() - 1;
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

/// Splits a long name into ustar's `prefix` (155) and `name` (100) at a `/`; names
/// that cannot be split are cut (on a character boundary).
fn ustar_names(name: &str) -> (String, String) {
    if name.len() <= 100 {
        return (String::new(), name.to_string());
    }
    for (i, c) in name.char_indices() {
        if c == '/' && i <= 155 && name.len() - i - 1 <= 100 {
            return (name[..i].to_string(), name[i + 1..].to_string());
        }
    }
    let mut end = 100;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    (String::new(), name[..end].to_string())
}

/// A tar archive of `entries`.
///
/// # Errors
/// [`ArchiveError::TooLarge`] for an entry ustar cannot describe (8 GiB and over).
pub fn tar(entries: &[ArchiveEntry]) -> Result<Vec<u8>, ArchiveError> {
    let mut out = Vec::new();
    for e in entries {
        if e.data.len() as u64 >= 8 * 1024 * 1024 * 1024 {
            return Err(ArchiveError::TooLarge);
        }
        let mut h = [0u8; 512];
        let (prefix, name) = ustar_names(&e.name);
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], e.data.len() as u64);
        octal(&mut h[136..148], e.mtime.max(0) as u64);
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        let text = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(text.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        out.resize(out.len() + pad, 0);
    }
    out.resize(out.len() + 1024, 0);
    Ok(out)
}

/// A gzipped tar archive of `entries`.
///
/// # Errors
/// As [`tar`], or a compression failure.
pub fn tgz(entries: &[ArchiveEntry]) -> Result<Vec<u8>, ArchiveError> {
    let raw = tar(entries)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw)?;
    Ok(gz.finish()?)
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A zip archive of `entries`, stored (not compressed).
///
/// # Errors
/// [`ArchiveError::TooLarge`] past 4 GiB or 65535 entries.
pub fn zip(entries: &[ArchiveEntry]) -> Result<Vec<u8>, ArchiveError> {
    let count = u16::try_from(entries.len()).map_err(|_| ArchiveError::TooLarge)?;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).map_err(|_| ArchiveError::TooLarge)?;
        let size = u32::try_from(e.data.len()).map_err(|_| ArchiveError::TooLarge)?;
        let name_len = u16::try_from(e.name.len()).map_err(|_| ArchiveError::TooLarge)?;
        let mut crc = flate2::Crc::new();
        crc.update(&e.data);
        let crc = crc.sum();
        // Local file header (APPNOTE §4.3.7): version 2.0, bit 11 = UTF-8 name.
        u32le(&mut out, 0x0403_4b50);
        for v in [20u16, 0x0800, 0, 0, 0x21] {
            u16le(&mut out, v);
        }
        for v in [crc, size, size] {
            u32le(&mut out, v);
        }
        u16le(&mut out, name_len);
        u16le(&mut out, 0);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&e.data);
        // Central directory header (§4.3.12).
        u32le(&mut central, 0x0201_4b50);
        for v in [20u16, 20, 0x0800, 0, 0, 0x21] {
            u16le(&mut central, v);
        }
        for v in [crc, size, size] {
            u32le(&mut central, v);
        }
        for v in [name_len, 0, 0, 0, 0] {
            u16le(&mut central, v);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(e.name.as_bytes());
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| ArchiveError::TooLarge)?;
    let cd_size = u32::try_from(central.len()).map_err(|_| ArchiveError::TooLarge)?;
    out.extend_from_slice(&central);
    // End of central directory (§4.3.16).
    u32le(&mut out, 0x0605_4b50);
    for v in [0u16, 0, count, count] {
        u16le(&mut out, v);
    }
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn tar_layout() {
        let t = tar(&sample()).expect("tar");
        assert_eq!(t.len() % 512, 0);
        assert_eq!(&t[257..262], b"ustar");
        assert!(t.starts_with(b"Inbox/257-Hello.eml\0"));
        // Checksum field holds the header sum.
        let mut h = t[..512].to_vec();
        let stored =
            u32::from_str_radix(std::str::from_utf8(&h[148..154]).expect("ascii").trim(), 8)
                .expect("octal");
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|b| u32::from(*b)).sum::<u32>());
        let gz = tgz(&sample()).expect("tgz");
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
            .expect("gunzip");
        assert_eq!(back, t);
    }

    #[test]
    fn zip_layout() {
        let z = zip(&sample()).expect("zip");
        assert!(z.starts_with(&[0x50, 0x4b, 0x03, 0x04]));
        let eocd = &z[z.len() - 22..];
        assert!(eocd.starts_with(&[0x50, 0x4b, 0x05, 0x06]));
        assert_eq!(u16::from_le_bytes([eocd[10], eocd[11]]), 2);
        let cd_off = u32::from_le_bytes([eocd[16], eocd[17], eocd[18], eocd[19]]) as usize;
        assert!(z[cd_off..].starts_with(&[0x50, 0x4b, 0x01, 0x02]));
    }
}
