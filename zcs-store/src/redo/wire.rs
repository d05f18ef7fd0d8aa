//! The redo log's wire primitives: little-endian integers, length-prefixed strings and
//! id lists, and the bounds-checked [`Reader`] that decodes them without panicking.
//! Used by `super::codec` and `super::codec_items`.

use super::codec::DecodeError;

pub(super) fn put_ids(b: &mut Vec<u8>, ids: &[i32]) {
    put_u32(b, len_u32(ids.len()));
    for id in ids {
        put_i32(b, *id);
    }
}

pub(super) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_str(b: &mut Vec<u8>, s: &str) {
    put_u32(b, len_u32(s.len()));
    b.extend_from_slice(s.as_bytes());
}

/// A bounds-checked cursor over a record body.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self
            .pos
            .checked_add(N)
            .ok_or(DecodeError::Malformed("overflow"))?;
        let slice = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Malformed("short payload"))?;
        self.pos = end;
        let mut a = [0u8; N];
        a.copy_from_slice(slice);
        Ok(a)
    }

    /// Whether bytes are left (optional trailing fields of older records).
    pub(super) fn more(&self) -> bool {
        self.pos < self.buf.len()
    }

    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(super) fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.take()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub(super) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    /// A list count, checked against the bytes left so a garbage count cannot make the
    /// decoder reserve a huge vector.
    pub(super) fn count(&mut self, elem_len: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        let left = self.buf.len() - self.pos;
        if n.saturating_mul(elem_len) > left {
            return Err(DecodeError::Malformed("count exceeds payload"));
        }
        Ok(n)
    }

    /// A list of i32 ids.
    pub(super) fn ids(&mut self) -> Result<Vec<i32>, DecodeError> {
        let n = self.count(4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.i32()?);
        }
        Ok(out)
    }

    pub(super) fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.u32()? as usize;
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError::Malformed("overflow"))?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Malformed("short string"))?;
        self.pos = end;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Malformed("string not UTF-8"))
    }
}
