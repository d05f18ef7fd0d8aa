//! The files of Zimbra's backup layout that sit beside zcs's own (spec 04 §1.7), so an
//! operator who knows Zimbra finds them where the guide says:
//!
//! ```text
//! accounts.xml                        every account backed up -> latest full label
//! sessions/<label>/session.xml        the session's catalog (session.json as XML)
//! sessions/<label>/sys/db_schema.xml  which database copy the session holds
//! sessions/<label>/sys/localconfig.toml   the local config at backup time
//! sessions/<label>/LDAP/ldap.bak      the whole directory (same bytes as
//!                                     sys/directory.json, hard-linked)
//! sessions/<label>/accounts/<p>/<id>/meta.xml, ldap.xml   per account
//! ```
//!
//! What zcs reads back: `accounts.xml` (a restore without `-lb` needs it, as in Zimbra)
//! and `sys/localconfig.toml` (`-sys` writes it as `conf/localconfig.toml.restore`).
//! The other files are for people and tools; restores read `session.json`,
//! `sys/directory.json` and `account.json`, which carry the same facts.
//!
//! LIMITATION: zcs's local config is TOML, so the copy is `localconfig.toml`, not
//! Zimbra's `localconfig.xml`; the database is one SQLite copy (`sys/mailbox.db`), so
//! there are no per-account `db/<table>.dat` dumps and `db_schema.xml` names the copy
//! rather than listing tables; the index is one copy for the session (`sys/index/`),
//! not one per account; incrementals keep their redo records in the session
//! (`redo/records.log`) instead of a target-wide `redologs/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zcs_core::Entry;

use crate::BackupPaths;
use crate::catalog::{self, AccountRecord, Catalog, SessionKind};
use crate::error::BackupError;

/// The target-wide account catalog.
pub const ACCOUNTS_XML: &str = "accounts.xml";
/// The local config copy in a session's `sys/`.
pub const LOCALCONFIG: &str = "localconfig.toml";

/// Escapes `s` for an XML attribute value or text.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `session.xml`: the catalog's facts as XML.
fn session_xml(cat: &Catalog) -> String {
    let kind = match cat.kind {
        SessionKind::Full => "full",
        SessionKind::Incremental => "incremental",
    };
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<session label=\"{}\" type=\"{kind}\" \
         status=\"{}\" server=\"{}\" startTime=\"{}\" endTime=\"{}\" redoFrom=\"{}\" \
         redoTo=\"{}\" redoRecords=\"{}\" searchIndex=\"{}\">\n",
        esc(&cat.label),
        esc(&cat.status),
        esc(&cat.server),
        cat.started_ms,
        cat.ended_ms,
        cat.redo_from,
        cat.redo_to,
        cat.redo_records,
        cat.index,
    );
    for a in &cat.accounts {
        out.push_str(&format!(
            "  <account name=\"{}\" zimbraId=\"{}\"/>\n",
            esc(&a.name),
            esc(&a.id)
        ));
    }
    for e in &cat.excludes {
        out.push_str(&format!("  <exclude what=\"{}\"/>\n", esc(e)));
    }
    out.push_str("</session>\n");
    out
}

/// An entry as `ldap.xml` holds it.
fn entry_xml(e: &Entry) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{} name=\"{}\" zimbraId=\"{}\">\n",
        e.kind,
        esc(&e.name),
        e.id
    );
    for (name, values) in e.attrs.iter() {
        for v in values {
            out.push_str(&format!("  <a n=\"{}\">{}</a>\n", esc(name), esc(v)));
        }
    }
    out.push_str(&format!("</{}>\n", e.kind));
    out
}

/// `meta.xml`: the account's record in the session.
fn meta_xml(r: &AccountRecord, label: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<accountBackup label=\"{}\" \
         name=\"{}\" zimbraId=\"{}\" mailboxId=\"{}\" lastRedoSeq=\"{}\" blobs=\"{}\"/>\n",
        esc(label),
        esc(&r.name),
        esc(&r.id),
        r.mailbox.map(|m| m.to_string()).unwrap_or_default(),
        r.last_redo_seq,
        r.blobs
    )
}

/// Writes the Zimbra-named files of a session being built in `session` (before its
/// checksums are taken): `session.xml`, `sys/db_schema.xml`, `sys/localconfig.toml` (when the home
/// has one), `LDAP/ldap.bak`, each account's `ldap.xml`, and `meta.xml` for each
/// account whose mailbox the session copies.
///
/// # Errors
/// A file cannot be written.
pub(crate) fn write_session_files(
    session: &Path,
    paths: &BackupPaths,
    cat: &Catalog,
    entries: &[Entry],
) -> Result<(), BackupError> {
    catalog::write_synced(&session.join("session.xml"), session_xml(cat).as_bytes())?;
    let sys = session.join("sys");
    let db = if sys.join("mailbox.db").is_file() {
        "database=\"sys/mailbox.db\" format=\"sqlite\""
    } else {
        "database=\"\""
    };
    catalog::write_synced(
        &sys.join("db_schema.xml"),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dbSchema store=\"zcs\" {db}/>\n")
            .as_bytes(),
    )?;
    let lc = paths.conf.join(LOCALCONFIG);
    match std::fs::read(&lc) {
        Ok(bytes) => catalog::write_synced(&sys.join(LOCALCONFIG), &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io("read local config", &lc, e)),
    }
    let ldap = session.join("LDAP");
    std::fs::create_dir_all(&ldap).map_err(|e| BackupError::io("create", &ldap, e))?;
    let dump = sys.join("directory.json");
    let bak = ldap.join("ldap.bak");
    if std::fs::hard_link(&dump, &bak).is_err() {
        std::fs::copy(&dump, &bak).map_err(|e| BackupError::io("copy", &bak, e))?;
    }
    let by_id: BTreeMap<String, &Entry> = entries.iter().map(|e| (e.id.to_string(), e)).collect();
    for r in &cat.accounts {
        let dir = catalog::account_dir(session, &r.id);
        if r.mailbox.is_some() {
            catalog::write_synced(&dir.join("meta.xml"), meta_xml(r, &cat.label).as_bytes())?;
        }
        if let Some(e) = by_id.get(&r.id) {
            catalog::write_synced(&dir.join("ldap.xml"), entry_xml(e).as_bytes())?;
        }
    }
    Ok(())
}

/// One line of `accounts.xml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogAccount {
    /// The account's name when last backed up in full.
    pub name: String,
    /// Its `zimbraId`.
    pub id: String,
    /// The label of its latest full backup.
    pub latest_full: String,
}

/// Rewrites `<target>/accounts.xml` from the completed sessions on `target`: every
/// account in a full session with the label of its latest one (written to a temporary
/// file, fsynced and renamed, so a reader sees the old or the new catalog).
///
/// # Errors
/// The sessions cannot be listed; the file cannot be written.
pub fn write_accounts_xml(target: &Path) -> Result<Vec<CatalogAccount>, BackupError> {
    let mut latest: BTreeMap<String, CatalogAccount> = BTreeMap::new();
    for s in catalog::list_sessions(target)? {
        if s.catalog.kind != SessionKind::Full || s.catalog.status != "completed" {
            continue;
        }
        for a in &s.catalog.accounts {
            latest.insert(
                a.id.clone(),
                CatalogAccount {
                    name: a.name.clone(),
                    id: a.id.clone(),
                    latest_full: s.catalog.label.clone(),
                },
            );
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<accounts>\n");
    let list: Vec<CatalogAccount> = latest.into_values().collect();
    for a in &list {
        out.push_str(&format!(
            "  <account name=\"{}\" zimbraId=\"{}\" latestFullBackupLabel=\"{}\"/>\n",
            esc(&a.name),
            esc(&a.id),
            esc(&a.latest_full)
        ));
    }
    out.push_str("</accounts>\n");
    let path = target.join(ACCOUNTS_XML);
    let tmp = target.join(format!("{ACCOUNTS_XML}.tmp"));
    catalog::write_synced(&tmp, out.as_bytes())?;
    std::fs::rename(&tmp, &path).map_err(|e| BackupError::io("write", &path, e))?;
    Ok(list)
}

/// Reads `<target>/accounts.xml`.
///
/// # Errors
/// [`BackupError::Invalid`] when it is missing (a restore must then name its full
/// backup with `-lb`, as the guide says), [`BackupError::Corrupt`] when it does not
/// parse.
pub fn read_accounts_xml(target: &Path) -> Result<Vec<CatalogAccount>, BackupError> {
    let path = target.join(ACCOUNTS_XML);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Invalid(format!(
                "{} is missing: without it the latest full backup of an account is \
                 unknown; name the full backup with -lb <label> (zmbackupquery lists them)",
                path.display()
            )));
        }
        Err(e) => return Err(BackupError::io("read", &path, e)),
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if !line.starts_with("<account ") {
            continue;
        }
        let get = |k: &str| attr(line, k);
        match (get("name"), get("zimbraId"), get("latestFullBackupLabel")) {
            (Some(name), Some(id), Some(latest_full)) => out.push(CatalogAccount {
                name,
                id,
                latest_full,
            }),
            _ => {
                return Err(BackupError::Corrupt(format!(
                    "{}: unreadable line {line:?}",
                    path.display()
                )));
            }
        }
    }
    Ok(out)
}

/// The value of attribute `k` in one `accounts.xml` line, unescaped.
fn attr(line: &str, k: &str) -> Option<String> {
    let start = line.find(&format!(" {k}=\""))? + k.len() + 3;
    let end = start + line[start..].find('"')?;
    Some(
        line[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Where a restore with `-sys` puts the backed-up local config: beside the live one as
/// `localconfig.toml.restore`, never over it (the operator compares and swaps).
/// Returns the file written, or `None` when the session holds no local config.
///
/// # Errors
/// The copy cannot be written.
pub fn restore_localconfig(
    session: &Path,
    paths: &BackupPaths,
) -> Result<Option<PathBuf>, BackupError> {
    let src = session.join("sys").join(LOCALCONFIG);
    let bytes = match std::fs::read(&src) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BackupError::io("read", &src, e)),
    };
    let dest = paths.conf.join(format!("{LOCALCONFIG}.restore"));
    catalog::write_synced(&dest, &bytes)?;
    Ok(Some(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_xml_attributes_round_trip_escapes() {
        let line = format!(
            "<account name=\"{}\" zimbraId=\"x\" latestFullBackupLabel=\"full-1\"/>",
            esc("a&\"<b>'@x.test")
        );
        assert_eq!(attr(&line, "name").as_deref(), Some("a&\"<b>'@x.test"));
        assert_eq!(attr(&line, "zimbraId").as_deref(), Some("x"));
        assert_eq!(attr(&line, "nope"), None);
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(esc("a\u{1}b\tc"), "a\\u{1}b\tc");
    }

    proptest::proptest! {
        #[test]
        fn any_name_survives_accounts_xml(name in "\\PC{0,30}") {
            let line = format!(
                "<account name=\"{}\" zimbraId=\"i\" latestFullBackupLabel=\"l\"/>",
                esc(&name)
            );
            let got = attr(&line, "name");
            if !name.chars().any(|c| (c as u32) < 0x20) {
                proptest::prop_assert_eq!(got, Some(name));
            }
        }
    }
}
