//! Local config: per-host settings that live on this machine rather than in the
//! directory (`zmlocalconfig`). Stored as TOML in `conf/localconfig.toml`; keys that are
//! not set there take their compiled-in default.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::home::Home;

/// A known key: name, default (may reference other keys as `${key}`), description.
pub struct KeyDef {
    pub name: &'static str,
    pub default: &'static str,
    pub desc: &'static str,
}

/// The keys zcs knows, with their defaults.
pub const KEYS: &[KeyDef] = &[
    KeyDef {
        name: "zimbra_home",
        default: "",
        desc: "the zcs home directory (the ZCS_HOME in use unless set here)",
    },
    KeyDef {
        name: "zimbra_server_hostname",
        default: "",
        desc: "this server's name in the directory (set at first start)",
    },
    KeyDef {
        name: "zimbra_log_directory",
        default: "${zimbra_home}/log",
        desc: "where logs are written",
    },
    KeyDef {
        name: "zcs_bind_address",
        default: "127.0.0.1",
        desc: "address every listener binds unless its server attribute names another; \
               0.0.0.0 opens them to the network",
    },
    KeyDef {
        name: "zcs_directory_db",
        default: "${zimbra_home}/db/directory.db",
        desc: "SQLite file of the directory",
    },
    KeyDef {
        name: "zcs_directory_url",
        default: "",
        desc: "directory database URL (mysql://, postgres://, sqlite:); empty uses \
               zcs_directory_db",
    },
    KeyDef {
        name: "zcs_store_db",
        default: "${zimbra_home}/db/mailbox.db",
        desc: "SQLite file of mailbox metadata",
    },
    KeyDef {
        name: "zcs_store_url",
        default: "",
        desc: "mailbox metadata database URL (mysql://, postgres://, sqlite:); empty uses \
               zcs_store_db. Blobs, volumes and the redo log stay local; zmhsm and \
               zmblobchk work on SQLite only",
    },
    KeyDef {
        name: "zcs_store_volume",
        default: "${zimbra_home}/store",
        desc: "primary message volume",
    },
    KeyDef {
        name: "zcs_index_volume",
        default: "${zimbra_home}/index",
        desc: "index volume",
    },
    KeyDef {
        name: "zcs_worker_threads",
        default: "0",
        desc: "async worker threads of the server (0: one per core); read at start",
    },
    KeyDef {
        name: "zimbra_feed_manager_blacklist",
        default: crate::egress::DEFAULT_BLACKLIST,
        desc: "addresses and ranges a folder's feed or calendar URL may not reach",
    },
    KeyDef {
        name: "zimbra_feed_manager_whitelist",
        default: "",
        desc: "exceptions to zimbra_feed_manager_blacklist",
    },
    KeyDef {
        name: "zcs_feed_ca_file",
        default: "",
        desc: "PEM file of certificate authorities trusted for https feeds and calendar \
               subscriptions besides the system's roots",
    },
    KeyDef {
        name: "av_notify_user",
        default: "",
        desc: "where notices of quarantined viruses and blocked attachments go (empty: \
               admin@ the default domain)",
    },
    KeyDef {
        name: "zcs_redolog_directory",
        default: "${zimbra_home}/redolog",
        desc: "redo log directory",
    },
    KeyDef {
        name: "zimbra_user",
        default: "",
        desc: "the unprivileged user a server started as root becomes once its listeners \
               are bound (Zimbra's is zimbra); empty keeps running as the starting user",
    },
    KeyDef {
        name: "zcs_smtp_submission_port",
        default: "587",
        desc: "message submission port (RFC 6409: AUTH required before MAIL); Zimbra sets \
               it in Postfix's master.cf",
    },
    KeyDef {
        name: "zcs_smtps_port",
        default: "465",
        desc: "SMTP submission over implicit TLS (RFC 8314)",
    },
    KeyDef {
        name: "zcs_clamd_address",
        default: "",
        desc: "clamd to scan inbound mail with (host:port); empty: no virus scanning",
    },
    KeyDef {
        name: "zcs_spamd_address",
        default: "",
        desc: "spamd to score inbound mail with (host:port); empty: no spam scoring",
    },
    KeyDef {
        name: "zcs_mta_minimal_backoff_seconds",
        default: "",
        desc: "first retry delay of deferred mail in seconds (empty: the built-in default)",
    },
    KeyDef {
        name: "zcs_mta_queue_run_delay_seconds",
        default: "",
        desc: "seconds between runs of the deferred queue (empty: the built-in default)",
    },
    KeyDef {
        name: "zcs_http_dos_exempt_loopback",
        default: "true",
        desc: "whether loopback clients are exempt from the HTTP request flood filter",
    },
    KeyDef {
        name: "zcs_dns_servers",
        default: "",
        desc: "name servers the MTA asks (ip[:port], comma-separated); empty: the system's",
    },
    KeyDef {
        name: "zcs_mta_auth_checks",
        default: "",
        desc: "SPF/DKIM/DMARC checks of inbound mail (empty: on when zcs_dns_servers is set)",
    },
    KeyDef {
        name: "zcs_dmarc_reject_failures",
        default: "TRUE",
        desc: "honour the sender's DMARC p=reject / p=quarantine when DMARC fails",
    },
    KeyDef {
        name: "zcs_mta_config_reload_seconds",
        default: "60",
        desc: "the MTA re-reads its settings this often (0: only on zmmtactl reload)",
    },
    KeyDef {
        name: "zmdisklog_warn_threshold",
        default: "85",
        desc: "disk usage percent of a home volume that logs a warning (checked every 10 min)",
    },
    KeyDef {
        name: "zmdisklog_critical_threshold",
        default: "95",
        desc: "disk usage percent of a home volume that logs a critical alert",
    },
    KeyDef {
        name: "zmdbintegrityreport_disabled",
        default: "FALSE",
        desc: "TRUE skips the weekly database integrity report (heavy on I/O)",
    },
    KeyDef {
        name: "zmstat_interval",
        default: "30",
        desc: "seconds between the statistics samples written to log/zmstat/*.csv",
    },
    KeyDef {
        name: "zcs_log_level",
        default: "info",
        desc: "log levels of mailbox.log (EnvFilter syntax, e.g. info,zcs_server::imap=debug); \
               applied at run time on SIGHUP",
    },
    KeyDef {
        name: "zcs_log_retention_days",
        default: "30",
        desc: "days rolled-over logs (mailbox.log.YYYY-MM-DD, audit.log.*) are kept",
    },
    KeyDef {
        name: "zimbra_index_wildcard_max_terms_expanded",
        default: "20000",
        desc: "index words one search wildcard expands to at most; the words past it \
               are not searched (read at start)",
    },
    KeyDef {
        name: "zcs_imap_max_connections_per_ip",
        default: "50",
        desc: "IMAP connections one client address may hold at once (0: no cap)",
    },
    KeyDef {
        name: "zcs_http_max_connections_per_ip",
        default: "100",
        desc: "HTTP/HTTPS/admin connections one client address may hold at once, per \
               listener (0: no cap)",
    },
    KeyDef {
        name: "zcs_http_max_connections",
        default: "5000",
        desc: "HTTP/HTTPS/admin connections one listener holds at once (0: no cap)",
    },
    KeyDef {
        name: "zcs_http_idle_timeout",
        default: "60",
        desc: "seconds an HTTP connection may send nothing while no request is under way \
               (a running request gets 360)",
    },
    KeyDef {
        name: "zcs_metrics_allowed_addresses",
        default: "127.0.0.0/8 ::1/128",
        desc: "networks (CIDR, space or comma separated) whose clients may read /metrics \
               on the admin port without an admin auth token",
    },
    KeyDef {
        name: "zcs_pop3_max_connections_per_ip",
        default: "50",
        desc: "POP3 connections one client address may hold at once (0: no cap)",
    },
    KeyDef {
        name: "imap_max_idle_time",
        default: "60",
        desc: "seconds an IMAP connection may stay idle before it logs in",
    },
    KeyDef {
        name: "pop3_max_idle_time",
        default: "60",
        desc: "seconds a POP3 connection may stay idle before it logs in",
    },
    KeyDef {
        name: "zimbra_swatch_notice_user",
        default: "",
        desc: "address the authentication-failure alerts (zmauditwatch) are mailed to; \
               empty sends them to admin@ the default domain",
    },
    KeyDef {
        name: "zimbra_swatch_ipacct_threshold",
        default: "10",
        desc: "authentication failures of one account from one address in 60 s that \
               raise an alert",
    },
    KeyDef {
        name: "zimbra_swatch_acct_threshold",
        default: "15",
        desc: "authentication failures of one account from any address in 60 s that \
               raise an alert",
    },
    KeyDef {
        name: "zimbra_swatch_ip_threshold",
        default: "20",
        desc: "authentication failures from one address for any account in 60 s that \
               raise an alert",
    },
    KeyDef {
        name: "zimbra_swatch_total_threshold",
        default: "1000",
        desc: "authentication failures of the whole server in 60 s that raise an alert",
    },
    KeyDef {
        name: "zmtrainsa_cleanup_host",
        default: "TRUE",
        desc: "TRUE: this server trains the spam filter from the spam and ham training \
               mailboxes every night and empties them (only one server should)",
    },
    KeyDef {
        name: "zcs_hsm_schedule",
        default: "0 2 * * *",
        desc: "cron time (minute hour day month weekday) of the HSM session that moves \
               old blobs to the current secondary volume; empty turns it off",
    },
    KeyDef {
        name: "zcs_mta_client_connection_count_limit",
        default: "50",
        desc: "simultaneous SMTP connections one client address may hold (0: no limit); \
               applied by zmmtactl reload",
    },
    KeyDef {
        name: "zcs_mta_client_message_rate_limit",
        default: "0",
        desc: "messages one client address may send per minute (0: no limit)",
    },
    KeyDef {
        name: "zcs_mta_client_recipient_rate_limit",
        default: "0",
        desc: "recipients one client address may send to per minute (0: no limit)",
    },
    KeyDef {
        name: "zcs_dmarc_report_enabled",
        default: "FALSE",
        desc: "TRUE: record DMARC checks of inbound mail and send the daily aggregate \
               reports (RFC 7489 §7.2) to the rua= addresses of the senders' domains",
    },
    KeyDef {
        name: "zcs_dmarc_report_from",
        default: "",
        desc: "sender of DMARC aggregate reports (empty: noreply-dmarc@<host name>)",
    },
    KeyDef {
        name: "zcs_dmarc_report_org",
        default: "",
        desc: "organisation named in DMARC aggregate reports (empty: the host name)",
    },
    KeyDef {
        name: "zimbra_zmprov_default_soap_server",
        default: "localhost",
        desc: "server zmprov talks to in SOAP mode",
    },
];

/// Whether a key's value is a secret that `zmlocalconfig` masks unless `-s` is given.
pub fn is_secret(key: &str) -> bool {
    key.contains("password") || key.contains("secret") || key.ends_with("_url")
}

/// What `zmlocalconfig` shows instead of a secret value: always the same, so the mask
/// does not tell the secret's length.
pub const SECRET_MASK: &str = "********";

/// Errors reading or writing the local config.
#[derive(Debug, thiserror::Error)]
pub enum LocalConfigError {
    #[error("read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("parse {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The local config of one home: the values set in its file over the defaults.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    path: PathBuf,
    set: BTreeMap<String, String>,
    /// Values known at run time that beat the compiled-in defaults but not the file:
    /// `zimbra_home` is the home this config was loaded from, so a home can be moved.
    runtime: BTreeMap<String, String>,
}

impl LocalConfig {
    /// Loads the local config of `home`; a missing file is an empty config.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a flat TOML table of strings.
    pub fn load(home: &Home) -> Result<LocalConfig, LocalConfigError> {
        let mut lc = Self::load_path(&home.localconfig())?;
        lc.runtime.insert(
            "zimbra_home".into(),
            home.root().to_string_lossy().into_owned(),
        );
        Ok(lc)
    }

    /// Loads the local config from `path`.
    ///
    /// # Errors
    /// As [`LocalConfig::load`].
    pub fn load_path(path: &Path) -> Result<LocalConfig, LocalConfigError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(LocalConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let set: BTreeMap<String, String> =
            toml::from_str(&text).map_err(|e| LocalConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(LocalConfig {
            path: path.to_path_buf(),
            set,
            runtime: BTreeMap::new(),
        })
    }

    /// The file this config was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw value of `key`: set value, else default, else `None` for unknown keys.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.set
            .get(key)
            .or_else(|| self.runtime.get(key))
            .cloned()
            .or_else(|| {
                KEYS.iter()
                    .find(|k| k.name == key)
                    .map(|k| k.default.to_string())
            })
    }

    /// The value of `key` with `${other}` references expanded (up to a fixed depth).
    pub fn get(&self, key: &str) -> Option<String> {
        self.raw(key).map(|v| self.expand(&v, 0))
    }

    fn expand(&self, value: &str, depth: usize) -> String {
        if depth > 8 || !value.contains("${") {
            return value.to_string();
        }
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    let v = self.raw(name).unwrap_or_default();
                    out.push_str(&self.expand(&v, depth + 1));
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Whether `key` is set in the file (rather than defaulted).
    pub fn is_set(&self, key: &str) -> bool {
        self.set.contains_key(key)
    }

    /// Every key, set or known, in name order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.name.to_string()).collect();
        keys.extend(self.set.keys().cloned());
        keys.sort();
        keys.dedup();
        keys
    }

    /// Sets `key` to `value` in memory; call [`LocalConfig::save`] to keep it.
    pub fn set(&mut self, key: &str, value: &str) {
        self.set.insert(key.to_string(), value.to_string());
    }

    /// Removes `key` from the file's values (it falls back to its default).
    pub fn unset(&mut self, key: &str) {
        self.set.remove(key);
    }

    /// Writes the config atomically (temporary file, then rename).
    ///
    /// # Errors
    /// The file system refused the write.
    pub fn save(&self) -> Result<(), LocalConfigError> {
        let err = |source| LocalConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let text = toml::to_string(&self.set).map_err(|e| LocalConfigError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.path.with_extension("toml.tmp");
        fs::write(&tmp, text).map_err(err)?;
        fs::rename(&tmp, &self.path).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_expand_and_set_values_persist() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let mut lc = LocalConfig::load(&home).unwrap();
        lc.set("zimbra_home", "/opt/zcs");
        assert_eq!(
            lc.get("zcs_directory_db").unwrap(),
            "/opt/zcs/db/directory.db"
        );
        lc.set("foo_key", "bar");
        lc.save().unwrap();
        let again = LocalConfig::load(&home).unwrap();
        assert_eq!(again.get("foo_key").as_deref(), Some("bar"));
        assert!(again.is_set("zimbra_home"));
        assert!(!again.is_set("zcs_bind_address"));
        assert_eq!(again.get("nope"), None);
    }

    #[test]
    fn self_reference_does_not_loop() {
        let dir = tempfile::tempdir().unwrap();
        let mut lc = LocalConfig::load(&Home::at(dir.path())).unwrap();
        lc.set("a", "${a}x");
        assert!(lc.get("a").unwrap().ends_with('x'));
    }
}
