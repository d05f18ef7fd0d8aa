//! The MIT keytab file format (`FILE:` keytabs as `kadmin ktadd`, `ktutil` and Windows
//! `ktpass` write them): parsing the file into its keys, and choosing the key that
//! decrypts a service ticket. Versions 0x0501 (native byte order, the realm counted among
//! the components, no name type) and 0x0502 (big-endian) are read; holes (entries with a
//! negative length, left by deletions) are skipped. The layout is MIT's documented one
//! (`doc/formats/keytab_file_format`):
//!
//! ```text
//! keytab  = u16 version, entry*
//! entry   = i32 size, principal, u32 timestamp, u8 kvno, keyblock, [u32 kvno]
//! principal = u16 count, data realm, data component*count, [u32 name_type (v2)]
//! keyblock  = u16 enctype, data key          data = u16 length, bytes
//! ```
//!
//! Nothing here reads the file system: [`Keytab::parse`] takes the bytes.

use std::fmt;

use thiserror::Error;

/// Why a keytab could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeytabError {
    /// The file does not start with 0x05 0x01 or 0x05 0x02.
    #[error("not an MIT keytab (version bytes {0:#06x})")]
    BadVersion(u16),
    /// An entry or a field runs past the end of the file or of its entry.
    #[error("truncated keytab entry at byte {0}")]
    Truncated(usize),
    /// A field's text is not UTF-8.
    #[error("keytab entry at byte {0} has a name that is not UTF-8")]
    BadText(usize),
}

/// One key of a keytab.
#[derive(Clone, PartialEq, Eq)]
pub struct KeytabEntry {
    /// The principal's name components (`HTTP`, `mail.example.com`).
    pub components: Vec<String>,
    /// The principal's realm.
    pub realm: String,
    /// The name type (RFC 4120 §6.2), 1 (NT-PRINCIPAL) in version 1 files.
    pub name_type: u32,
    /// When the key was written, seconds since the epoch.
    pub timestamp: u32,
    /// The key version number (the 32-bit one when present and non-zero).
    pub kvno: u32,
    /// The encryption type (RFC 3961 §8: 17 aes128, 18 aes256, ...).
    pub enctype: u16,
    /// The key bytes.
    pub key: Vec<u8>,
}

impl fmt::Debug for KeytabEntry {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeytabEntry")
            .field("principal", &self.principal())
            .field("name_type", &self.name_type)
            .field("kvno", &self.kvno)
            .field("enctype", &self.enctype)
            .field("key_len", &self.key.len())
            .finish()
    }
}

impl KeytabEntry {
    /// `comp1/comp2@REALM`.
    pub fn principal(&self) -> String {
        format!("{}@{}", self.components.join("/"), self.realm)
    }

    /// Whether this entry is for the service `components@realm` (names compared exactly,
    /// as the KDC wrote them; realms too).
    pub fn is_for(&self, components: &[String], realm: &str) -> bool {
        self.realm == realm && self.components == components
    }
}

/// A parsed keytab: its entries in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keytab {
    /// The keys, holes left out.
    pub entries: Vec<KeytabEntry>,
}

/// A cursor over one byte slice in the keytab's byte order.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Base offset of `buf` in the file (for error positions).
    base: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeytabError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(KeytabError::Truncated(self.base + self.pos))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, KeytabError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, KeytabError> {
        let b: [u8; 2] = self.take(2)?.try_into().expect("two bytes taken");
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_ne_bytes(b)
        })
    }

    fn u32(&mut self) -> Result<u32, KeytabError> {
        let b: [u8; 4] = self.take(4)?.try_into().expect("four bytes taken");
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_ne_bytes(b)
        })
    }

    fn data(&mut self) -> Result<&'a [u8], KeytabError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    fn text(&mut self) -> Result<String, KeytabError> {
        let at = self.base + self.pos;
        let raw = self.data()?;
        String::from_utf8(raw.to_vec()).map_err(|_| KeytabError::BadText(at))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

impl Keytab {
    /// Parses a whole keytab file.
    ///
    /// # Errors
    /// [`KeytabError`] when the version is unknown or an entry is cut short; an entry
    /// whose declared size is larger than what is left is an error too (a file truncated
    /// while being written).
    pub fn parse(bytes: &[u8]) -> Result<Keytab, KeytabError> {
        let version = match bytes {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from(*a) << 8,
            [] => 0,
        };
        let big_endian = match version {
            0x0502 => true,
            0x0501 => false,
            v => return Err(KeytabError::BadVersion(v)),
        };
        let mut file = Reader {
            buf: bytes,
            pos: 2,
            base: 0,
            big_endian: true,
        };
        let mut entries = Vec::new();
        // An entry's size is an i32 in the file's byte order; fewer than four bytes left
        // ends the file (MIT stops there too).
        while file.remaining() >= 4 {
            let at = file.pos;
            file.big_endian = big_endian;
            let size = file.u32()? as i32;
            if size == 0 {
                break;
            }
            let len = size.unsigned_abs() as usize;
            let body = file.take(len)?;
            if size < 0 {
                continue;
            }
            let mut r = Reader {
                buf: body,
                pos: 0,
                base: at + 4,
                big_endian,
            };
            entries.push(parse_entry(&mut r, version)?);
        }
        Ok(Keytab { entries })
    }

    /// The key for a ticket of `components@realm` encrypted with `enctype` under key
    /// version `kvno` (`None` when the ticket names none): the entry with exactly that
    /// version, else (no version asked) the highest version of that type.
    pub fn find(
        &self,
        components: &[String],
        realm: &str,
        enctype: u16,
        kvno: Option<u32>,
    ) -> Option<&KeytabEntry> {
        let mut fitting = self
            .entries
            .iter()
            .filter(|e| e.enctype == enctype && e.is_for(components, realm));
        match kvno {
            Some(v) => fitting.find(|e| e.kvno == v),
            None => fitting.max_by_key(|e| e.kvno),
        }
    }

    /// The distinct principals the keytab holds keys for, in file order.
    pub fn principals(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in &self.entries {
            let p = e.principal();
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

fn parse_entry(r: &mut Reader<'_>, version: u16) -> Result<KeytabEntry, KeytabError> {
    let mut count = usize::from(r.u16()?);
    // Version 1 counts the realm among the components.
    if version == 0x0501 {
        count = count.saturating_sub(1);
    }
    let realm = r.text()?;
    let mut components = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        components.push(r.text()?);
    }
    let name_type = if version == 0x0502 { r.u32()? } else { 1 };
    let timestamp = r.u32()?;
    let kvno8 = r.u8()?;
    let enctype = r.u16()?;
    let key = r.data()?.to_vec();
    // MIT 1.14+ appends a 32-bit kvno; zero means "use the 8-bit one".
    let kvno = if r.remaining() >= 4 {
        match r.u32()? {
            0 => u32::from(kvno8),
            v => v,
        }
    } else {
        u32::from(kvno8)
    };
    Ok(KeytabEntry {
        components,
        realm,
        name_type,
        timestamp,
        kvno,
        enctype,
        key,
    })
}

/// Writes a version 0x0502 keytab holding `entries` (tests, and tools that hand a key to
/// the server). Each entry carries the 32-bit kvno.
pub fn write_v2(entries: &[KeytabEntry]) -> Vec<u8> {
    fn data(out: &mut Vec<u8>, b: &[u8]) {
        let n = u16::try_from(b.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&b[..usize::from(n)]);
    }
    let mut out = vec![0x05, 0x02];
    for e in entries {
        let mut body = Vec::new();
        let count = u16::try_from(e.components.len()).unwrap_or(u16::MAX);
        body.extend_from_slice(&count.to_be_bytes());
        data(&mut body, e.realm.as_bytes());
        for c in e.components.iter().take(usize::from(count)) {
            data(&mut body, c.as_bytes());
        }
        body.extend_from_slice(&e.name_type.to_be_bytes());
        body.extend_from_slice(&e.timestamp.to_be_bytes());
        body.push(e.kvno.min(255) as u8);
        body.extend_from_slice(&e.enctype.to_be_bytes());
        data(&mut body, &e.key);
        body.extend_from_slice(&e.kvno.to_be_bytes());
        let size = i32::try_from(body.len()).unwrap_or(i32::MAX);
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The keytab `kadmin.local ktadd` wrote for HTTP/localhost@ZCS.TEST (aes256 and
    /// aes128, kvno 2), keys replaced by a pattern.
    fn mit_sample() -> Vec<u8> {
        let mut v = vec![0x05, 0x02];
        for (etype, klen) in [(18u16, 32usize), (17, 16)] {
            let mut body = vec![0x00, 0x02, 0x00, 0x08];
            body.extend_from_slice(b"ZCS.TEST");
            body.extend_from_slice(&[0x00, 0x04]);
            body.extend_from_slice(b"HTTP");
            body.extend_from_slice(&[0x00, 0x09]);
            body.extend_from_slice(b"localhost");
            body.extend_from_slice(&[0, 0, 0, 1, 0x6b, 0x14, 0xf9, 0xdd, 0x02]);
            body.extend_from_slice(&etype.to_be_bytes());
            body.extend_from_slice(&(klen as u16).to_be_bytes());
            body.extend((0..klen).map(|i| i as u8));
            body.extend_from_slice(&[0, 0, 0, 2]);
            v.extend_from_slice(&(body.len() as i32).to_be_bytes());
            v.extend_from_slice(&body);
        }
        v
    }

    #[test]
    fn reads_what_kadmin_writes() {
        let kt = Keytab::parse(&mit_sample()).expect("parses");
        assert_eq!(kt.entries.len(), 2);
        let e = &kt.entries[0];
        assert_eq!(e.principal(), "HTTP/localhost@ZCS.TEST");
        assert_eq!((e.name_type, e.kvno, e.enctype), (1, 2, 18));
        assert_eq!(e.key.len(), 32);
        assert_eq!(kt.entries[1].enctype, 17);
        let spn = vec!["HTTP".to_string(), "localhost".to_string()];
        assert_eq!(
            kt.find(&spn, "ZCS.TEST", 17, Some(2)).map(|e| e.kvno),
            Some(2)
        );
        assert!(kt.find(&spn, "ZCS.TEST", 17, Some(3)).is_none());
        assert!(kt.find(&spn, "OTHER", 18, None).is_none());
        assert_eq!(kt.principals(), vec!["HTTP/localhost@ZCS.TEST"]);
        assert!(
            !format!("{e:?}").contains("[0, 1, 2"),
            "Debug hides the key"
        );
    }

    #[test]
    fn holes_versions_and_truncation() {
        let mut v = vec![0x05, 0x02];
        v.extend_from_slice(&(-6i32).to_be_bytes());
        v.extend_from_slice(&[9; 6]);
        v.extend_from_slice(&mit_sample()[2..]);
        assert_eq!(Keytab::parse(&v).expect("hole skipped").entries.len(), 2);
        assert_eq!(
            Keytab::parse(&[0x05, 0x03]),
            Err(KeytabError::BadVersion(0x0503))
        );
        assert_eq!(Keytab::parse(&[]), Err(KeytabError::BadVersion(0)));
        let full = mit_sample();
        assert!(matches!(
            Keytab::parse(&full[..full.len() - 3]),
            Err(KeytabError::Truncated(_))
        ));
        // An 8-bit kvno only (no trailing u32), and a zero trailing kvno.
        let mut short = mit_sample();
        short.truncate(2 + 4 + 0x4e);
        let n = short.len();
        short[2..6].copy_from_slice(&0x4ai32.to_be_bytes());
        short.truncate(n - 4);
        let kt = Keytab::parse(&short).expect("parses");
        assert_eq!(kt.entries[0].kvno, 2);
    }

    #[test]
    fn version_one_counts_the_realm() {
        let mut body = Vec::new();
        let ne16 = |v: u16| v.to_ne_bytes();
        body.extend_from_slice(&ne16(3));
        body.extend_from_slice(&ne16(2));
        body.extend_from_slice(b"EX");
        body.extend_from_slice(&ne16(4));
        body.extend_from_slice(b"HTTP");
        body.extend_from_slice(&ne16(1));
        body.extend_from_slice(b"h");
        body.extend_from_slice(&7u32.to_ne_bytes());
        body.push(5);
        body.extend_from_slice(&ne16(17));
        body.extend_from_slice(&ne16(2));
        body.extend_from_slice(&[1, 2]);
        let mut v = vec![0x05, 0x01];
        v.extend_from_slice(&(body.len() as i32).to_ne_bytes());
        v.extend_from_slice(&body);
        let kt = Keytab::parse(&v).expect("parses");
        assert_eq!(kt.entries[0].principal(), "HTTP/h@EX");
        assert_eq!((kt.entries[0].kvno, kt.entries[0].name_type), (5, 1));
    }

    fn entry() -> impl Strategy<Value = KeytabEntry> {
        (
            proptest::collection::vec("[A-Za-z0-9.-]{1,12}", 1..4),
            "[A-Z.]{1,12}",
            0u32..10,
            any::<u32>(),
            1u32..100_000,
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(
                |(components, realm, name_type, timestamp, kvno, enctype, key)| KeytabEntry {
                    components,
                    realm,
                    name_type,
                    timestamp,
                    kvno,
                    enctype,
                    key,
                },
            )
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Keytab::parse(&bytes);
            let mut v2 = vec![0x05, 0x02];
            v2.extend_from_slice(&bytes);
            let _ = Keytab::parse(&v2);
            let mut v1 = vec![0x05, 0x01];
            v1.extend_from_slice(&bytes);
            let _ = Keytab::parse(&v1);
        }

        #[test]
        fn written_keytabs_read_back(entries in proptest::collection::vec(entry(), 0..5)) {
            let kt = Keytab::parse(&write_v2(&entries)).expect("own output parses");
            prop_assert_eq!(kt.entries, entries);
        }
    }
}
