//! Per-account loggers (`zmprov addAccountLogger` and friends): one account's events of
//! one log category at a more verbose level than the server's, without raising the level
//! for everyone else.
//!
//! zmprov writes the list to `conf/account-loggers` (one `account<TAB>category<TAB>level`
//! line each); the running server reads it within seconds and raises the filter for the
//! categories named, and the log layer then drops the extra lines of every other
//! account. As in Zimbra, nothing here is meant to outlive troubleshooting:
//! `zmprov resetAllLoggers` empties the list.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use tracing::Level;
use tracing::level_filters::LevelFilter;

/// The categories an account logger may name (`zimbra.<name>`), with the tracing target
/// prefixes whose events belong to each.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    ("imap", &["zcs_server::imap", "zcs_server::imap_backend"]),
    ("pop", &["zcs_server::pop3", "zcs_server::pop3_backend"]),
    (
        "lmtp",
        &["zcs_mta", "zcs_server::delivery", "zcs_server::mta"],
    ),
    ("soap", &["zcs_server::soap", "zcs_server::frontends::http"]),
    ("mailbox", &["zcs_store"]),
    (
        "index",
        &["zcs_index", "zcs_server::indexer", "zcs_server::search"],
    ),
    ("account", &["zcs_directory", "zcs_server::login"]),
    ("security", &["zimbra.security"]),
    ("backup", &["zcs_backup"]),
];

/// One account logger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLogger {
    /// The account's name, lower-cased.
    pub account: String,
    /// The short category name (`imap`), without `zimbra.`.
    pub category: String,
    pub level: Level,
}

impl AccountLogger {
    /// Zimbra's `zimbra.<category>=<level>` form.
    pub fn display(&self) -> String {
        format!(
            "zimbra.{}={}",
            self.category,
            self.level.as_str().to_ascii_lowercase()
        )
    }
}

/// A category from Zimbra's `zimbra.imap` or plain `imap` spelling.
///
/// # Errors
/// Not a known category; the message lists the known ones.
pub fn parse_category(text: &str) -> Result<&'static str, String> {
    let short = text
        .trim()
        .strip_prefix("zimbra.")
        .unwrap_or(text.trim())
        .to_ascii_lowercase();
    CATEGORIES
        .iter()
        .map(|(c, _)| *c)
        .find(|c| *c == short)
        .ok_or_else(|| {
            let known: Vec<String> = CATEGORIES
                .iter()
                .map(|(c, _)| format!("zimbra.{c}"))
                .collect();
            format!("unknown log category {text:?}; one of {}", known.join(", "))
        })
}

/// A level from `trace|debug|info|warn|error`.
///
/// # Errors
/// Anything else.
pub fn parse_level(text: &str) -> Result<Level, String> {
    text.trim()
        .parse::<Level>()
        .map_err(|_| format!("unknown level {text:?}; one of trace, debug, info, warn, error"))
}

/// Where a home keeps its account loggers.
pub fn file(home_root: &Path) -> PathBuf {
    home_root.join("conf").join("account-loggers")
}

/// The loggers in `path`; a missing file is an empty list, bad lines are skipped.
pub fn read(path: &Path) -> Vec<AccountLogger> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let account = parts.next()?.trim().to_ascii_lowercase();
            let category = parse_category(parts.next()?).ok()?;
            let level = parse_level(parts.next()?).ok()?;
            (!account.is_empty()).then(|| AccountLogger {
                account,
                category: category.to_string(),
                level,
            })
        })
        .collect()
}

/// Replaces the list in `path` (written beside and renamed, so a reader never sees half).
///
/// # Errors
/// The file could not be written.
pub fn write(path: &Path, loggers: &[AccountLogger]) -> std::io::Result<()> {
    let text: String = loggers
        .iter()
        .map(|l| {
            format!(
                "{}\t{}\t{}\n",
                l.account,
                l.category,
                l.level.as_str().to_ascii_lowercase()
            )
        })
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The filter directive that lets the loggers' lines through: `base` plus, for each
/// category with a logger, its targets at the most verbose level asked for.
pub fn directive(base: &str, loggers: &[AccountLogger]) -> String {
    let mut out = base.to_string();
    for (cat, targets) in CATEGORIES {
        let Some(level) = loggers
            .iter()
            .filter(|l| l.category == *cat)
            .map(|l| l.level)
            .max()
        else {
            continue;
        };
        for target in *targets {
            out.push_str(&format!(
                ",{target}={}",
                level.as_str().to_ascii_lowercase()
            ));
        }
    }
    out
}

/// The loggers in force and the server's own most verbose level, shared by the log
/// layer that decides which raised lines to keep.
#[derive(Debug)]
pub struct ActiveLoggers {
    loggers: RwLock<Vec<AccountLogger>>,
    base_max: RwLock<LevelFilter>,
}

impl Default for ActiveLoggers {
    fn default() -> Self {
        ActiveLoggers {
            loggers: RwLock::new(Vec::new()),
            base_max: RwLock::new(LevelFilter::TRACE),
        }
    }
}

impl ActiveLoggers {
    /// Puts `loggers` in force over a server level of `base_max`.
    pub fn set(&self, loggers: Vec<AccountLogger>, base_max: LevelFilter) {
        if let Ok(mut l) = self.loggers.write() {
            *l = loggers;
        }
        if let Ok(mut b) = self.base_max.write() {
            *b = base_max;
        }
    }

    /// Whether an event of `category` at `level`, logged for `account` (the context's
    /// `name`), is written: always when the server's level lets it through, else only
    /// when that account has a logger for the category at least that verbose.
    pub fn keeps(&self, account: Option<&str>, category: &str, level: &Level) -> bool {
        let base = self
            .base_max
            .read()
            .map(|b| *b)
            .unwrap_or(LevelFilter::TRACE);
        if base >= LevelFilter::from_level(*level) {
            return true;
        }
        let Some(account) = account else { return false };
        self.loggers.read().is_ok_and(|loggers| {
            loggers.iter().any(|l| {
                l.category == category
                    && l.account.eq_ignore_ascii_case(account)
                    && l.level >= *level
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(account: &str, cat: &str, level: Level) -> AccountLogger {
        AccountLogger {
            account: account.into(),
            category: cat.into(),
            level,
        }
    }

    #[test]
    fn categories_and_levels_parse_in_zimbras_spelling() {
        assert_eq!(parse_category("zimbra.imap"), Ok("imap"));
        assert_eq!(parse_category("POP"), Ok("pop"));
        assert!(parse_category("zimbra.nonsense").is_err());
        assert_eq!(parse_level("debug"), Ok(Level::DEBUG));
        assert!(parse_level("loud").is_err());
    }

    #[test]
    fn the_file_round_trips_and_skips_bad_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file(dir.path());
        let list = vec![
            logger("u@x.test", "imap", Level::DEBUG),
            logger("v@x.test", "lmtp", Level::TRACE),
        ];
        write(&path, &list).expect("write");
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).expect("read") + "junk\nx\tbad\tdebug\n",
        )
        .expect("append");
        assert_eq!(read(&path), list);
        assert!(read(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn the_directive_raises_only_named_categories() {
        let d = directive(
            "info",
            &[
                logger("u@x.test", "imap", Level::DEBUG),
                logger("v@x.test", "imap", Level::TRACE),
            ],
        );
        assert_eq!(
            d,
            "info,zcs_server::imap=trace,zcs_server::imap_backend=trace"
        );
        assert!(tracing_subscriber::EnvFilter::try_new(&d).is_ok());
    }

    #[test]
    fn only_the_logged_account_gets_raised_lines() {
        let active = ActiveLoggers::default();
        active.set(
            vec![logger("u@x.test", "imap", Level::DEBUG)],
            LevelFilter::INFO,
        );
        assert!(active.keeps(None, "imap", &Level::INFO));
        assert!(active.keeps(Some("U@x.test"), "imap", &Level::DEBUG));
        assert!(!active.keeps(Some("u@x.test"), "imap", &Level::TRACE));
        assert!(!active.keeps(Some("other@x.test"), "imap", &Level::DEBUG));
        assert!(!active.keeps(Some("u@x.test"), "pop", &Level::DEBUG));
        assert!(!active.keeps(None, "imap", &Level::DEBUG));
    }
}
