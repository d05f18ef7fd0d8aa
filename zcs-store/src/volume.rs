//! Volume definitions: the `volume` table (Zimbra's `zmvolume` data) and its mirror file.
//!
//! A volume is a directory blobs (or index files) live in, with a type, a compression flag
//! and threshold, and a `current` mark: new blobs go to the current primary message
//! volume, HSM moves them to the current secondary one. The table is the authority; each
//! change also rewrites `<db>.volumes`, a small text mirror the blob backend
//! ([`crate::VolumeBlobStore`]) re-reads without a database connection, so a volume added
//! by the `zmvolume` tool while the server runs is seen by the server at its next blob
//! miss or write. This module does not move or read blobs.

// LIMITATION: the volume table lives with the store's metadata; a MariaDB or PostgreSQL
// database shared by several mailbox servers would share their volume definitions
// (Zimbra gives each mailbox server its own database, and so should a deployment here).

use std::path::{Path, PathBuf};

use crate::error::{DbContext, StoreError};

/// What a volume holds (Zimbra's volume types and their numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VolumeType {
    /// `primaryMessage` (1): where new blobs are written.
    PrimaryMessage,
    /// `secondaryMessage` (2): where HSM moves aged blobs.
    SecondaryMessage,
    /// `index` (10): search index files (recorded only; the index is not kept here).
    Index,
}

impl VolumeType {
    /// Zimbra's number for the type.
    pub fn code(self) -> i64 {
        match self {
            VolumeType::PrimaryMessage => 1,
            VolumeType::SecondaryMessage => 2,
            VolumeType::Index => 10,
        }
    }

    /// The type with Zimbra's number `code`, if any.
    pub fn from_code(code: i64) -> Option<VolumeType> {
        match code {
            1 => Some(VolumeType::PrimaryMessage),
            2 => Some(VolumeType::SecondaryMessage),
            10 => Some(VolumeType::Index),
            _ => None,
        }
    }

    /// Zimbra's name for the type (`primaryMessage`, `secondaryMessage`, `index`).
    pub fn name(self) -> &'static str {
        match self {
            VolumeType::PrimaryMessage => "primaryMessage",
            VolumeType::SecondaryMessage => "secondaryMessage",
            VolumeType::Index => "index",
        }
    }

    /// Parses Zimbra's type name (case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<VolumeType> {
        [
            VolumeType::PrimaryMessage,
            VolumeType::SecondaryMessage,
            VolumeType::Index,
        ]
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(s))
    }

    /// Whether the volume holds message blobs (primary or secondary).
    pub fn holds_blobs(self) -> bool {
        self != VolumeType::Index
    }
}

/// One volume, as `zmvolume -l` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// The volume id (from 1, never reused while the row exists).
    pub id: i64,
    /// What it holds.
    pub kind: VolumeType,
    /// Unique name (`message1`).
    pub name: String,
    /// Its root directory.
    pub path: PathBuf,
    /// Whether blobs above `compression_threshold` bytes are stored gzip-compressed.
    pub compress: bool,
    /// Size in bytes above which blobs are compressed (when `compress`).
    pub compression_threshold: u64,
    /// Whether it is the current volume of its type.
    pub current: bool,
}

/// The default compression threshold (Zimbra's `zmvolume -ct` default, 4096 bytes).
pub const DEFAULT_COMPRESSION_THRESHOLD: u64 = 4096;

/// What `zmvolume -a` / `-e` sets; `None` fields keep their value on edit.
#[derive(Clone, Debug, Default)]
pub struct VolumeSpec {
    /// Name (required to add).
    pub name: Option<String>,
    /// Type (required to add).
    pub kind: Option<VolumeType>,
    /// Root directory (required to add).
    pub path: Option<PathBuf>,
    /// Compression flag (default false).
    pub compress: Option<bool>,
    /// Compression threshold (default [`DEFAULT_COMPRESSION_THRESHOLD`]).
    pub compression_threshold: Option<u64>,
}

/// The mirror file of the volume table for the database at `db_path`.
pub fn mirror_path(db_path: &Path) -> PathBuf {
    let mut p = db_path.as_os_str().to_owned();
    p.push(".volumes");
    PathBuf::from(p)
}

/// Administration of the volume table of one store's metadata database (SQLite,
/// MariaDB or PostgreSQL). Opening it takes no lock: it may run beside a server holding
/// the store (SQLite WAL, or the server engine's own concurrency), which sees the changes
/// through the mirror file on this host.
pub struct VolumeAdmin {
    pool: crate::db::Db,
    db_path: PathBuf,
}

type Row = (i64, i64, String, String, i64, i64, i64);
/// A row of an older local volume table, with `follows_config`.
type LocalRow = (i64, i64, String, String, i64, i64, i64, i64);

fn from_row(r: Row) -> Result<Volume, StoreError> {
    Ok(Volume {
        id: r.0,
        kind: VolumeType::from_code(r.1)
            .ok_or_else(|| StoreError::Corrupt(format!("volume {} has type {}", r.0, r.1)))?,
        name: r.2,
        path: PathBuf::from(r.3),
        compress: r.4 != 0,
        compression_threshold: r.5.max(0) as u64,
        current: r.6 != 0,
    })
}

impl VolumeAdmin {
    /// Opens the volume table of the SQLite database at `db_path` (creating the schema
    /// when missing); see [`VolumeAdmin::open_on`].
    ///
    /// # Errors
    /// Database and I/O errors as they come.
    pub async fn open(db_path: &Path, default_blob_root: &Path) -> Result<VolumeAdmin, StoreError> {
        let pool = crate::schema::open_pool(db_path).await?;
        VolumeAdmin::open_on(pool, db_path, default_blob_root).await
    }

    /// Opens the volume table of the metadata database `db` (schema already in place,
    /// as [`crate::db::Db::open_metadata`] leaves it), with its mirror file beside
    /// `db_path` ([`mirror_path`]). When the table is empty, `default_blob_root` becomes
    /// volume 1, `message1`, the current primary message volume, uncompressed; that
    /// volume keeps following `default_blob_root` at each open until its path is
    /// edited. On a server engine with an empty table, the volumes an older release kept
    /// in the local SQLite file `db_path` (when it exists) are brought over first.
    ///
    /// # Errors
    /// Database and I/O errors as they come.
    pub async fn open_on(
        pool: crate::db::Db,
        db_path: &Path,
        default_blob_root: &Path,
    ) -> Result<VolumeAdmin, StoreError> {
        let admin = VolumeAdmin {
            pool,
            db_path: db_path.to_path_buf(),
        };
        let mut n = admin.count().await?;
        if n == 0 && admin.pool.backend() != crate::db::Backend::Sqlite && db_path.is_file() {
            n = admin.adopt_local(db_path).await?;
        }
        if n == 0 {
            sqlx::query(
                "INSERT INTO volume (id, type, name, path, compress, compression_threshold,
                 current, follows_config) VALUES (1, 1, 'message1', ?1, 0, ?2, 1, 1)",
            )
            .bind(default_blob_root.to_string_lossy().into_owned())
            .bind(DEFAULT_COMPRESSION_THRESHOLD as i64)
            .execute(&admin.pool)
            .await
            .db("add default volume")?;
        }
        // The default volume follows `zcs_store_volume` (a restore into another home
        // brings the table along; its blobs are under the new home's root).
        sqlx::query("UPDATE volume SET path = ?1 WHERE follows_config = 1")
            .bind(default_blob_root.to_string_lossy().into_owned())
            .execute(&admin.pool)
            .await
            .db("follow the configured blob root")?;
        admin.write_mirror().await?;
        Ok(admin)
    }

    async fn count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM volume")
            .fetch_one(&self.pool)
            .await
            .db("count volumes")
    }

    /// Copies the volume rows of the local SQLite file `db_path` (where volumes lived
    /// before they moved to the metadata database) into this one. Returns the rows now
    /// in the table.
    async fn adopt_local(&self, db_path: &Path) -> Result<i64, StoreError> {
        let local = crate::db::Db::open_sqlite(db_path).await?;
        let has_table: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'volume'",
        )
        .fetch_one(&local)
        .await
        .db("inspect local volume table")?;
        let rows: Vec<LocalRow> = if has_table == 0 {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT id, type, name, path, compress, compression_threshold, current,
                 follows_config FROM volume ORDER BY id",
            )
            .fetch_all(&local)
            .await
            .db("read local volume table")?
        };
        local.close().await;
        for r in &rows {
            sqlx::query(
                "INSERT INTO volume (id, type, name, path, compress, compression_threshold,
                 current, follows_config) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(r.0)
            .bind(r.1)
            .bind(&r.2)
            .bind(&r.3)
            .bind(r.4)
            .bind(r.5)
            .bind(r.6)
            .bind(r.7)
            .execute(&self.pool)
            .await
            .db("adopt local volume")?;
        }
        if !rows.is_empty() {
            tracing::info!(
                volumes = rows.len(),
                "volume table moved to the metadata database"
            );
        }
        self.count().await
    }

    /// Every volume, by id.
    pub async fn list(&self) -> Result<Vec<Volume>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, type, name, path, compress, compression_threshold, current
             FROM volume ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .db("list volumes")?;
        rows.into_iter().map(from_row).collect()
    }

    /// The volume with id `id`.
    ///
    /// # Errors
    /// [`StoreError::NoSuchItem`] when there is none.
    pub async fn get(&self, id: i64) -> Result<Volume, StoreError> {
        self.list()
            .await?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or_else(|| StoreError::NoSuchItem(format!("volume {id}")))
    }

    /// The current volume of each type.
    pub async fn current(&self) -> Result<Vec<Volume>, StoreError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|v| v.current)
            .collect())
    }

    /// Adds a volume (`zmvolume -a`). The first volume of a type becomes its current
    /// one. Returns the new volume.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] when name, type or path is missing or the name is
    /// taken.
    pub async fn add(&self, spec: &VolumeSpec) -> Result<Volume, StoreError> {
        let bad = |m: &str| StoreError::InvalidRequest(m.to_string());
        let name = spec
            .name
            .clone()
            .ok_or_else(|| bad("volume name is required"))?;
        let kind = spec.kind.ok_or_else(|| bad("volume type is required"))?;
        let path = spec
            .path
            .clone()
            .ok_or_else(|| bad("volume path is required"))?;
        if name.trim().is_empty() || !path.is_absolute() {
            return Err(bad(
                "volume name must not be empty and path must be absolute",
            ));
        }
        let existing = self.list().await?;
        if existing.iter().any(|v| v.name == name) {
            return Err(bad(&format!("volume name {name} is already in use")));
        }
        let first_of_type = !existing.iter().any(|v| v.kind == kind);
        if kind.holds_blobs() {
            std::fs::create_dir_all(&path)
                .map_err(|e| StoreError::io("create volume", &path, e))?;
        }
        // Tools and the server never add volumes at the same instant; the primary key
        // refuses a second row with the same id if they ever did.
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM volume")
            .fetch_one(&self.pool)
            .await
            .db("next volume id")?;
        sqlx::query(
            "INSERT INTO volume (id, type, name, path, compress, compression_threshold, current)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(id)
        .bind(kind.code())
        .bind(&name)
        .bind(path.to_string_lossy().into_owned())
        .bind(i64::from(spec.compress.unwrap_or(false)))
        .bind(
            spec.compression_threshold
                .unwrap_or(DEFAULT_COMPRESSION_THRESHOLD)
                .min(i64::MAX as u64) as i64,
        )
        .bind(i64::from(first_of_type))
        .execute(&self.pool)
        .await
        .db("add volume")?;
        self.write_mirror().await?;
        tracing::info!(volume = id, name = %name, kind = kind.name(), "volume added");
        self.get(id).await
    }

    /// Changes the given fields of volume `id` (`zmvolume -e`). A type change is refused
    /// for the current volume of its type.
    ///
    /// # Errors
    /// [`StoreError::NoSuchItem`] for an unknown id; [`StoreError::InvalidRequest`] for a
    /// taken name or a refused type change.
    pub async fn edit(&self, id: i64, spec: &VolumeSpec) -> Result<Volume, StoreError> {
        let mut v = self.get(id).await?;
        if let Some(name) = &spec.name {
            if self
                .list()
                .await?
                .iter()
                .any(|o| o.id != id && &o.name == name)
            {
                return Err(StoreError::InvalidRequest(format!(
                    "volume name {name} is already in use"
                )));
            }
            v.name = name.clone();
        }
        if let Some(kind) = spec.kind
            && kind != v.kind
        {
            if v.current {
                return Err(StoreError::InvalidRequest(format!(
                    "volume {id} is the current {} volume; its type cannot change",
                    v.kind.name()
                )));
            }
            v.kind = kind;
        }
        if let Some(p) = &spec.path {
            v.path = p.clone();
        }
        if let Some(c) = spec.compress {
            v.compress = c;
        }
        if let Some(t) = spec.compression_threshold {
            v.compression_threshold = t;
        }
        sqlx::query(
            "UPDATE volume SET type = ?2, name = ?3, path = ?4, compress = ?5,
             compression_threshold = ?6,
             follows_config = CASE WHEN ?7 = 1 THEN follows_config ELSE 0 END
             WHERE id = ?1",
        )
        .bind(id)
        .bind(v.kind.code())
        .bind(&v.name)
        .bind(v.path.to_string_lossy().into_owned())
        .bind(i64::from(v.compress))
        .bind(v.compression_threshold.min(i64::MAX as u64) as i64)
        .bind(i64::from(spec.path.is_none()))
        .execute(&self.pool)
        .await
        .db("edit volume")?;
        self.write_mirror().await?;
        tracing::info!(volume = id, "volume edited");
        Ok(v)
    }

    /// Deletes volume `id` (`zmvolume -d`). Refused for a current volume and while any
    /// blob file lives in it.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] when refused; [`StoreError::NoSuchItem`] for an
    /// unknown id. Cost: a walk of the volume's directory.
    pub async fn delete(&self, id: i64) -> Result<(), StoreError> {
        let v = self.get(id).await?;
        if v.current {
            return Err(StoreError::InvalidRequest(format!(
                "volume {id} is the current {} volume",
                v.kind.name()
            )));
        }
        if v.kind.holds_blobs() {
            let root = v.path.clone();
            let files = tokio::task::spawn_blocking(move || {
                crate::blob::FileBlobStore::new(root).list_files()
            })
            .await
            .map_err(|e| StoreError::Internal(format!("list task failed: {e}")))??;
            if !files.is_empty() {
                return Err(StoreError::InvalidRequest(format!(
                    "volume {id} still holds {} blobs",
                    files.len()
                )));
            }
        }
        sqlx::query("DELETE FROM volume WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .db("delete volume")?;
        self.write_mirror().await?;
        tracing::info!(volume = id, "volume deleted");
        Ok(())
    }

    /// Makes volume `id` the current one of its type (`zmvolume -sc`).
    ///
    /// # Errors
    /// [`StoreError::NoSuchItem`] for an unknown id.
    pub async fn set_current(&self, id: i64) -> Result<Volume, StoreError> {
        let v = self.get(id).await?;
        let mut tx = self.pool.begin().await.db("begin set current volume")?;
        sqlx::query(
            "UPDATE volume SET current = CASE WHEN id = ?1 THEN 1 ELSE 0 END WHERE type = ?2",
        )
        .bind(id)
        .bind(v.kind.code())
        .execute(&mut *tx)
        .await
        .db("set current volume")?;
        tx.commit().await.db("commit set current volume")?;
        self.write_mirror().await?;
        tracing::info!(volume = id, kind = v.kind.name(), "current volume set");
        self.get(id).await
    }

    /// Leaves no secondary message volume current (`zmvolume -ts`): HSM sessions then
    /// have nowhere to move blobs and refuse to run (the scheduled one is skipped) until
    /// one is made current again. Blobs already on secondary volumes stay readable.
    /// Returns the volume that was current, if any.
    ///
    /// # Errors
    /// Database and I/O errors.
    pub async fn turn_off_secondary(&self) -> Result<Option<Volume>, StoreError> {
        let was = self
            .current()
            .await?
            .into_iter()
            .find(|v| v.kind == VolumeType::SecondaryMessage);
        sqlx::query("UPDATE volume SET current = 0 WHERE type = ?1")
            .bind(VolumeType::SecondaryMessage.code())
            .execute(&self.pool)
            .await
            .db("turn off secondary volume")?;
        self.write_mirror().await?;
        tracing::info!(
            volume = was.as_ref().map(|v| v.id),
            "secondary volume turned off"
        );
        Ok(was)
    }

    /// Rewrites the mirror file from the table (temporary file, fsync, rename).
    async fn write_mirror(&self) -> Result<(), StoreError> {
        let vols = self.list().await?;
        let path = mirror_path(&self.db_path);
        tokio::task::spawn_blocking(move || write_mirror_file(&path, &vols))
            .await
            .map_err(|e| StoreError::Internal(format!("mirror task failed: {e}")))?
    }
}

/// One line per volume: `id type compress threshold current path-and-name` fields,
/// tab-separated, path last but one and name last (neither holds a tab in practice;
/// a tab in either is replaced by a space).
fn write_mirror_file(path: &Path, vols: &[Volume]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut text = String::new();
    for v in vols {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            v.id,
            v.kind.code(),
            u8::from(v.compress),
            v.compression_threshold,
            u8::from(v.current),
            v.name.replace('\t', " "),
            v.path.to_string_lossy().replace('\t', " "),
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
    }
    let tmp = path.with_extension("volumes.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| StoreError::io("write", &tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io("rename", path, e))
}

/// Reads the mirror file; lines that do not parse are skipped.
pub(crate) fn read_mirror_file(path: &Path) -> std::io::Result<Vec<Volume>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().filter_map(parse_mirror_line).collect())
}

fn parse_mirror_line(line: &str) -> Option<Volume> {
    let f: Vec<&str> = line.splitn(7, '\t').collect();
    if f.len() != 7 {
        return None;
    }
    Some(Volume {
        id: f[0].parse().ok()?,
        kind: VolumeType::from_code(f[1].parse().ok()?)?,
        compress: f[2] == "1",
        compression_threshold: f[3].parse().ok()?,
        current: f[4] == "1",
        name: f[5].to_string(),
        path: PathBuf::from(f[6]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn types_round_trip() {
        for t in [
            VolumeType::PrimaryMessage,
            VolumeType::SecondaryMessage,
            VolumeType::Index,
        ] {
            assert_eq!(VolumeType::from_code(t.code()), Some(t));
            assert_eq!(VolumeType::parse(t.name()), Some(t));
        }
        assert_eq!(
            VolumeType::parse("PRIMARYMESSAGE"),
            Some(VolumeType::PrimaryMessage)
        );
        assert_eq!(VolumeType::parse("other"), None);
    }

    proptest! {
        #[test]
        fn mirror_lines_never_panic(line in ".{0,80}") {
            let _ = parse_mirror_line(&line);
        }
    }

    #[test]
    fn mirror_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let vols = vec![Volume {
            id: 3,
            kind: VolumeType::SecondaryMessage,
            name: "hsm one".into(),
            path: PathBuf::from("/data/hsm"),
            compress: true,
            compression_threshold: 10,
            current: true,
        }];
        let p = dir.path().join("m.volumes");
        write_mirror_file(&p, &vols).unwrap();
        assert_eq!(read_mirror_file(&p).unwrap(), vols);
    }
}
