//! Encrypted archives (`zimbraVirusBlockEncryptedArchive`): Zimbra has clamd block
//! them (`ArchiveBlockEncrypted`, reported as `Heuristics.Encrypted.Zip`), since a
//! scanner cannot look inside. This finds a ZIP attachment, at any depth of attached
//! messages, whose central directory (APPNOTE 4.3.12) marks an entry encrypted
//! (general purpose bit 0, or the strong-encryption bit 6).
//!
//! A pure function over the message octets; the verdict is applied in `scan`.
// LIMITATION: ZIP64 archives (a central directory beyond 4 GiB or 65,535 entries) and
// other formats (7z, RAR) are not looked into.

use mail_parser::{MessageParser, MimeHeaders};

/// The name clamd gives an encrypted ZIP, used as the "virus" name.
pub const ENCRYPTED_ZIP: &str = "Heuristics.Encrypted.Zip";

/// Attached messages looked into, at most, below the top level.
const MAX_DEPTH: usize = 5;

/// The end of central directory record is at most this far from the end (22 octets
/// plus a comment of up to 65,535).
const EOCD_SEARCH: usize = 22 + 65_535;

/// The name (or `"attachment"`) of the first attachment that is a ZIP archive with an
/// encrypted entry; `None` when there is none or the message cannot be parsed.
/// Cost: one MIME parse and a walk of each ZIP's central directory.
pub fn encrypted_archive(content: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(content)?;
    find(&message, 0)
}

fn find(message: &mail_parser::Message<'_>, depth: usize) -> Option<String> {
    for part in message.attachments() {
        if zip_is_encrypted(part.contents()) {
            return Some(part.attachment_name().unwrap_or("attachment").to_string());
        }
        if depth < MAX_DEPTH
            && let Some(inner) = part.message()
            && let Some(found) = find(inner, depth + 1)
        {
            return Some(found);
        }
    }
    None
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok()
}

/// Whether `data` is a ZIP archive whose central directory lists an encrypted entry.
pub fn zip_is_encrypted(data: &[u8]) -> bool {
    if !data.starts_with(b"PK\x03\x04") && !data.starts_with(b"PK\x05\x06") {
        return false;
    }
    // APPNOTE 4.3.16: the end of central directory record, searched from the end.
    let from = data.len().saturating_sub(EOCD_SEARCH);
    let Some(eocd) = data[from..]
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .map(|p| from + p)
    else {
        return false;
    };
    let (Some(count), Some(offset)) = (u16_at(data, eocd + 10), u32_at(data, eocd + 16)) else {
        return false;
    };
    // APPNOTE 4.3.12: each central directory header, 46 octets plus its name, extra
    // field and comment.
    let mut at = offset;
    for _ in 0..count {
        if data.get(at..at + 4) != Some(b"PK\x01\x02".as_slice()) {
            return false;
        }
        let Some(flags) = u16_at(data, at + 8) else {
            return false;
        };
        if flags & 0x0001 != 0 || flags & 0x0040 != 0 {
            return true;
        }
        let (Some(n), Some(e), Some(c)) = (
            u16_at(data, at + 28),
            u16_at(data, at + 30),
            u16_at(data, at + 32),
        ) else {
            return false;
        };
        at += 46 + n + e + c;
    }
    false
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;

    /// A one-entry ZIP (stored) with the given general purpose flags.
    fn zip(flags: u16) -> Vec<u8> {
        let name = b"a.txt";
        let body = b"hello";
        let mut z = Vec::new();
        z.extend_from_slice(b"PK\x03\x04\x14\x00");
        z.extend_from_slice(&flags.to_le_bytes());
        z.extend_from_slice(&[0; 10]); // method, time, date, crc
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name);
        z.extend_from_slice(body);
        let cd = z.len();
        z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00");
        z.extend_from_slice(&flags.to_le_bytes());
        z.extend_from_slice(&[0; 10]);
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(body.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 12]); // extra, comment, disk, attrs
        z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
        z.extend_from_slice(name);
        let cd_len = z.len() - cd;
        z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        z.extend_from_slice(&(cd_len as u32).to_le_bytes());
        z.extend_from_slice(&(cd as u32).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z
    }

    /// A message with `data` attached as `name`, base64.
    pub(crate) fn with_zip(name: &str, data: &[u8]) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        format!(
            "From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
             --B\r\nContent-Type: application/zip\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--B--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn encrypted_entries_are_found() {
        assert!(!zip_is_encrypted(&zip(0)));
        assert!(zip_is_encrypted(&zip(1)));
        assert!(zip_is_encrypted(&zip(0x41)));
        assert!(!zip_is_encrypted(&zip(0x08)), "data descriptor only");
        assert!(!zip_is_encrypted(b"PK\x03\x04 truncated"));
        assert!(!zip_is_encrypted(b"not a zip"));
        assert_eq!(
            encrypted_archive(&with_zip("secret.zip", &zip(1))),
            Some("secret.zip".into())
        );
        assert_eq!(encrypted_archive(&with_zip("plain.zip", &zip(0))), None);
        // Named otherwise, still a ZIP.
        assert_eq!(
            encrypted_archive(&with_zip("photo.jpg", &zip(1))),
            Some("photo.jpg".into())
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut z = b"PK\x03\x04".to_vec();
            z.extend_from_slice(&bytes);
            let _ = zip_is_encrypted(&z);
            let _ = encrypted_archive(&bytes);
        }

        #[test]
        fn damaged_directories_never_panic(cut in 0usize..140, flip in 0usize..140) {
            let mut z = zip(1);
            if let Some(b) = z.get_mut(flip) {
                *b ^= 0xff;
            }
            z.truncate(cut.max(4));
            let _ = zip_is_encrypted(&z);
        }
    }
}
