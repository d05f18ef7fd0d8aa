//! Payloads of the folder attribute ops (`SetFolderAttrs`, `SetFolderView`,
//! `FeedSeen`); the record frame around them is [`super::codec`]'s.
//!
//! Layouts (little-endian, strings as in [`super::codec`]):
//!
//! ```text
//! 32 SetFolderAttrs  change i64 | id i32 | flags u32 | url str | reminder u8 (0/1)
//! 33 SetFolderView   change i64 | id i32 | view str
//! 34 FeedSeen        folder i32 | reset u8 (0/1) | count u32 | key str ...
//! ```

use super::codec::{DecodeError, RedoOp};
use super::wire::{Reader, len_u32, put_i32, put_i64, put_str, put_u32};

/// Encodes the payload of a folder attribute op; other ops are left to their codecs.
pub(super) fn encode_folder_op(op: &RedoOp, b: &mut Vec<u8>) {
    match op {
        RedoOp::SetFolderAttrs {
            change,
            id,
            flags,
            url,
            reminder,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_u32(b, *flags);
            put_str(b, url);
            b.push(u8::from(*reminder));
        }
        RedoOp::SetFolderView { change, id, view } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_str(b, view);
        }
        RedoOp::FeedSeen {
            folder,
            reset,
            keys,
        } => {
            put_i32(b, *folder);
            b.push(u8::from(*reset));
            put_u32(b, len_u32(keys.len()));
            for k in keys {
                put_str(b, k);
            }
        }
        _ => {}
    }
}

fn flag(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::Malformed("boolean")),
    }
}

/// Decodes the payload of op `code` when it is a folder attribute op.
///
/// # Errors
/// [`DecodeError::UnknownOp`] for a code no codec knows; malformed payloads.
pub(super) fn decode_folder_op(code: u8, r: &mut Reader<'_>) -> Result<RedoOp, DecodeError> {
    Ok(match code {
        32 => RedoOp::SetFolderAttrs {
            change: r.i64()?,
            id: r.i32()?,
            flags: r.u32()?,
            url: r.string()?,
            reminder: flag(r)?,
        },
        33 => RedoOp::SetFolderView {
            change: r.i64()?,
            id: r.i32()?,
            view: r.string()?,
        },
        34 => {
            let folder = r.i32()?;
            let reset = flag(r)?;
            // Each key takes at least its 4-byte length.
            let n = r.count(4)?;
            let mut keys = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(r.string()?);
            }
            RedoOp::FeedSeen {
                folder,
                reset,
                keys,
            }
        }
        other => return Err(DecodeError::UnknownOp(other)),
    })
}
