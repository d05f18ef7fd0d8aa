//! Folder colours: Zimbra's `color` index (0-9) and `rgb` (`#RRGGBB`) on a folder, as
//! `CreateFolder`, `FolderAction op=color` and `GetFolder` carry them.
//!
//! Kept in two columns of `folder` (`color`, and `rgb` as `0xRRGGBB` or -1 for none) and
//! changed by one `SetFolderColor` record; the folder takes the change number (Zimbra
//! counts a colour change as a folder metadata change), its items do not. Mountpoints
//! and search folders have the same two columns in `folder_link` and take the same
//! record (the id says which table).

use std::collections::HashMap;

use sqlx::Row;
use zcs_core::{ItemId, MailboxId};

use crate::db::DbConn;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;

/// A folder's colour: Zimbra's palette index and, when set, an RGB value, which clients
/// show instead of the index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FolderColor {
    /// Zimbra's colour index, 0 (default) to 9.
    pub color: u8,
    /// `0xRRGGBB`, `None` when the folder has no RGB colour.
    pub rgb: Option<u32>,
}

impl FolderColor {
    /// The highest palette index Zimbra knows (orange).
    pub const MAX_INDEX: u8 = 9;

    /// The colour of palette index `color`.
    pub fn index(color: u8) -> FolderColor {
        FolderColor { color, rgb: None }
    }

    /// The colour `#RRGGBB` (the `#` optional, hex digits in any case); `None` when
    /// `s` is not of that form. The index is left at 0, as Zimbra does for RGB colours.
    pub fn from_rgb_hex(s: &str) -> Option<FolderColor> {
        let hex = s.strip_prefix('#').unwrap_or(s);
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let rgb = u32::from_str_radix(hex, 16).ok()?;
        Some(FolderColor {
            color: 0,
            rgb: Some(rgb),
        })
    }

    /// The RGB value as Zimbra writes it, `#RRGGBB` in upper case.
    pub fn rgb_hex(&self) -> Option<String> {
        self.rgb.map(|v| format!("#{v:06X}"))
    }

    /// Whether this is the colour a folder has when none was set.
    pub fn is_default(&self) -> bool {
        *self == FolderColor::default()
    }

    pub(crate) fn from_columns(color: i64, rgb: i64) -> FolderColor {
        FolderColor {
            color: u8::try_from(color).unwrap_or(0),
            rgb: u32::try_from(rgb).ok().filter(|v| *v <= 0x00ff_ffff),
        }
    }

    fn rgb_column(&self) -> i32 {
        self.rgb.map_or(-1, |v| (v & 0x00ff_ffff) as i32)
    }
}

/// Applies `SetFolderColor` inside the caller's transaction; a missing folder is skipped
/// with a warning, as everywhere in `crate::apply`.
pub(crate) async fn apply(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    color: i32,
    rgb: i32,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE folder SET color = ?, rgb = ?, modseq = MAX(modseq, ?)
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(color)
    .bind(rgb)
    .bind(change)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("recolor folder")?;
    let mut touched = done.rows_affected();
    if touched == 0 {
        touched = sqlx::query(
            "UPDATE folder_link SET color = ?, rgb = ?, modseq = MAX(modseq, ?)
             WHERE mailbox_id = ? AND id = ?",
        )
        .bind(color)
        .bind(rgb)
        .bind(change)
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("recolor link")?
        .rows_affected();
    }
    if touched == 0 {
        tracing::warn!(
            mailbox = mb.0,
            folder = id,
            "colour change of a missing folder skipped"
        );
    }
    Ok(())
}

impl Mailbox {
    /// The colour of folder, mountpoint or search folder `id`.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`.
    pub async fn folder_color(&self, id: ItemId) -> Result<FolderColor, StoreError> {
        self.check_maintenance()?;
        let row = sqlx::query(
            "SELECT color, rgb FROM folder WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT color, rgb FROM folder_link WHERE mailbox_id = ?1 AND id = ?2",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("read folder colour")?
        .ok_or_else(|| StoreError::no_such_folder(id))?;
        Ok(FolderColor::from_columns(
            row.try_get(0).db("read folder colour")?,
            row.try_get(1).db("read folder colour")?,
        ))
    }

    /// The colours of every folder that has one (folders with the default colour are
    /// absent), for listing a folder tree in one read.
    pub async fn folder_colors(&self) -> Result<HashMap<ItemId, FolderColor>, StoreError> {
        self.check_maintenance()?;
        let rows = sqlx::query(
            "SELECT id, color, rgb FROM folder WHERE mailbox_id = ? AND (color <> 0 OR rgb <> -1)",
        )
        .bind(self.id().0)
        .fetch_all(&self.inner.pool)
        .await
        .db("read folder colours")?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let id = ItemId(r.try_get::<i64, _>(0).db("read folder colours")? as i32);
            let c = FolderColor::from_columns(
                r.try_get(1).db("read folder colours")?,
                r.try_get(2).db("read folder colours")?,
            );
            out.insert(id, c);
        }
        Ok(out)
    }

    /// Sets the colour of folder, mountpoint or search folder `id` (one change; the
    /// folder takes the change number, its items do not). Setting the colour it
    /// already has logs nothing.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; `service.INVALID_REQUEST` for an index above 9 or an RGB
    /// value above `0xFFFFFF`.
    pub async fn set_folder_color(
        &self,
        id: ItemId,
        color: FolderColor,
    ) -> Result<FolderColor, StoreError> {
        if color.color > FolderColor::MAX_INDEX {
            return Err(StoreError::InvalidRequest(format!(
                "folder colour index {} is not 0-9",
                color.color
            )));
        }
        if color.rgb.is_some_and(|v| v > 0x00ff_ffff) {
            return Err(StoreError::InvalidRequest(
                "folder RGB colour is not #RRGGBB".into(),
            ));
        }
        self.locked(move |mb| async move {
            let current = mb.folder_color(id).await?;
            if current == color {
                return Ok(());
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::SetFolderColor {
                change: st.change + 1,
                id: id.0,
                color: i32::from(color.color),
                rgb: color.rgb_column(),
            })
            .await
        })
        .await?;
        self.folder_color(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_forms() {
        let c = FolderColor::from_rgb_hex("#00ff7F").expect("valid");
        assert_eq!(c.rgb, Some(0x00ff7f));
        assert_eq!(c.rgb_hex().as_deref(), Some("#00FF7F"));
        assert_eq!(
            FolderColor::from_rgb_hex("123456").map(|c| c.rgb),
            Some(Some(0x123456))
        );
        for bad in ["", "#12345", "#1234567", "#GG0000", "+12345", "#+1234"] {
            assert!(FolderColor::from_rgb_hex(bad).is_none(), "{bad}");
        }
        assert!(FolderColor::default().is_default());
        assert_eq!(FolderColor::from_columns(3, -1), FolderColor::index(3));
        assert_eq!(
            FolderColor::from_columns(300, 0x1_000_000),
            FolderColor::index(0)
        );
        assert_eq!(
            FolderColor::from_rgb_hex("#FFFFFF").map(|c| c.rgb_column()),
            Some(0xffffff)
        );
    }
}
