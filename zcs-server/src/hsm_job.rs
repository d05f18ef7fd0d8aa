//! HSM sessions as the server and `zmhsm` run them: the policy and batch size from the directory
//! (this server's `zimbraHsmPolicy` and `zimbraHsmBatchSize`, else the global config's, else
//! Zimbra's defaults), the store paths and metadata URL from the local config ([`store_config`],
//! which the store tools share), and one session over the current secondary volume, reading items
//! from whichever engine holds the metadata. The server runs a session on the `zcs_hsm_schedule`
//! cron time (see `jobs`); an operator runs one with `zmhsm -t`.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use zcs_core::Entry;
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};
use zcs_store::{StoreConfig, VolumeAdmin};

use crate::home::Home;
use crate::localconfig::LocalConfig;

/// Zimbra's default `zimbraHsmPolicy`.
pub const DEFAULT_POLICY: &str = "message,document:before:-30days";
/// Zimbra's default `zimbraHsmBatchSize`.
pub const DEFAULT_BATCH: usize = 10_000;

/// Where a home's store lives: its paths and the metadata database URL
/// (`zcs_store_url`; empty for the SQLite file at `db_path`). Dereferences to the
/// paths.
#[derive(Clone, Debug)]
pub struct StoreTarget {
    /// The store paths (database file, blob root, redo log directory).
    pub cfg: StoreConfig,
    /// The metadata database URL, as [`zcs_store::Store::open_url`] takes it.
    pub url: String,
}

impl Deref for StoreTarget {
    type Target = StoreConfig;
    fn deref(&self) -> &StoreConfig {
        &self.cfg
    }
}

impl StoreTarget {
    /// Opens the metadata database without the store's redo log (so a tool may run
    /// beside the server) and the volume table on it, which also rewrites the volume
    /// mirror file the blob backend reads.
    ///
    /// # Errors
    /// The database or the volume table cannot be opened; as text.
    pub async fn open_volumes(&self) -> Result<(zcs_store::db::Db, VolumeAdmin), String> {
        let db = zcs_store::db::Db::open_metadata(&self.url, &self.cfg.db_path)
            .await
            .map_err(|e| format!("open metadata database: {e}"))?;
        let admin = VolumeAdmin::open_on(db.clone(), &self.cfg.db_path, &self.cfg.blob_root)
            .await
            .map_err(|e| format!("open volume table: {e}"))?;
        Ok((db, admin))
    }

    /// Opens the whole store (redo log included), as the server does.
    ///
    /// # Errors
    /// [`zcs_store::StoreError::Locked`] while the server holds it; others as they come.
    pub async fn open_store(&self) -> Result<zcs_store::Store, zcs_store::StoreError> {
        zcs_store::Store::open_url(
            &self.url,
            self.cfg.clone(),
            zcs_store::StoreOptions::default(),
        )
        .await
    }
}

/// The store of `home` as its local config names it (the server's defaults for keys
/// left unset): `zcs_store_db`, `zcs_store_volume`, `zcs_redolog_directory` and
/// `zcs_store_url`.
pub fn store_config(home: &Home, lc: &LocalConfig) -> StoreTarget {
    let path = |key: &str, dflt: PathBuf| {
        lc.get(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or(dflt)
    };
    StoreTarget {
        cfg: StoreConfig {
            db_path: path("zcs_store_db", home.db().join("mailbox.db")),
            blob_root: path("zcs_store_volume", home.store()),
            redo_dir: path("zcs_redolog_directory", home.redolog()),
        },
        url: lc
            .get("zcs_store_url")
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The HSM policies and batch size in force: the server's values, else the global
/// config's, else [`DEFAULT_POLICY`] and [`DEFAULT_BATCH`].
pub fn policy(server: Option<&Entry>, global: &Entry) -> (Vec<String>, usize) {
    let pick = |name: &str| -> Vec<String> {
        server
            .map(|s| s.attrs.get_all(name).to_vec())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| global.attrs.get_all(name).to_vec())
    };
    let mut policies = pick("zimbraHsmPolicy");
    if policies.is_empty() {
        policies.push(DEFAULT_POLICY.to_string());
    }
    let batch = pick("zimbraHsmBatchSize")
        .first()
        .and_then(|v| v.parse().ok())
        .filter(|b| *b > 0)
        .unwrap_or(DEFAULT_BATCH);
    (policies, batch)
}

/// Whether the store at `cfg` has a current secondary message volume, so a session
/// has somewhere to move blobs (the scheduled run is skipped quietly when it has not).
pub fn has_secondary(cfg: &StoreTarget) -> bool {
    zcs_store::VolumeBlobStore::open(&cfg.db_path)
        .map(|b| b.current(zcs_store::VolumeType::SecondaryMessage).is_some())
        .unwrap_or(false)
}

/// Runs one session with the policy texts `policies` and `batch`, as of now.
///
/// # Errors
/// A policy that does not parse, no current secondary volume, a session already
/// running, or a store failure; each as text for the caller to print or log.
pub async fn run_session(
    cfg: &StoreTarget,
    policies: &[String],
    batch: usize,
) -> Result<HsmStatus, String> {
    let now = chrono::Utc::now().timestamp_millis();
    let parsed = policies
        .iter()
        .map(|p| HsmPolicy::parse(p, now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let (db, _volumes) = cfg.open_volumes().await?;
    let blobs =
        Arc::new(zcs_store::VolumeBlobStore::open(&cfg.db_path).map_err(|e| e.to_string())?);
    let res = hsm::run_on(&db, &cfg.db_path, blobs, &parsed, batch)
        .await
        .map_err(|e| e.to_string());
    db.close().await;
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = Attrs::default();
        for (k, v) in pairs {
            attrs.add(k, *v);
        }
        Entry {
            kind: EntryKind::Server,
            id: ZimbraId::new(),
            name: "s.test".into(),
            attrs,
        }
    }

    #[test]
    fn the_server_wins_then_the_global_config_then_the_defaults() {
        let global = entry(&[("zimbraHsmBatchSize", "50")]);
        assert_eq!(
            policy(None, &global),
            (vec![DEFAULT_POLICY.to_string()], 50)
        );
        let server = entry(&[
            ("zimbraHsmPolicy", "message:before:-1days"),
            ("zimbraHsmBatchSize", "2"),
        ]);
        assert_eq!(
            policy(Some(&server), &global),
            (vec!["message:before:-1days".to_string()], 2)
        );
        assert_eq!(policy(None, &entry(&[])).1, DEFAULT_BATCH);
    }
}
