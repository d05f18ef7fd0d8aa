//! The admin SOAP requests of backup as Zimbra names their attributes, read into this
//! crate's options: `BackupRequest`'s `<backup method="full|incremental|abort|delete"
//! target zip zipStore sync label before blobs secondaryBlobs searchIndex>` becomes the
//! `zmbackup` run it means, and `BackupQueryRequest`'s `<query target label type from to
//! backupListOffset backupListCount accountListStatus>` the sessions it lists. The
//! server's handlers turn the results into XML; the `RestoreRequest` side is in
//! [`crate::cli::restore_from_attrs`].

use std::path::Path;

use crate::catalog::{self, Session, SessionKind};
use crate::commands::BackupArgs;
use crate::error::BackupError;

/// What a `BackupRequest` asks for.
#[derive(Debug)]
pub enum BackupAction {
    /// A full or incremental backup, or the deletion of old sessions (`method="delete"`,
    /// `BackupArgs::delete` set), as `zmbackup` runs them.
    Run(Box<BackupArgs>),
    /// `method="abort"`: stop the running backup (`label`: only that one).
    Abort(Option<String>),
}

/// Reads a `BackupRequest`'s `backup` element (`attr` looks an attribute up; `accounts`
/// are its `account name=` children, none meaning all).
///
/// `blobs`, `secondaryBlobs` and `searchIndex` take `include`, `exclude` or `config`
/// (the global `zimbraBackupSkip*` setting decides, the default); `zipStore="1"` wins
/// over `zip="1"`; `sync` is accepted and the backup always runs before the answer.
///
/// # Errors
/// An unknown method or include/exclude value; `delete` without `before`.
pub fn backup_from_attrs<'a>(
    attr: impl Fn(&str) -> Option<&'a str>,
    accounts: Vec<String>,
) -> Result<BackupAction, BackupError> {
    let flag = |k: &str| attr(k).is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE"));
    let choice = |k: &str| -> Result<(bool, bool), BackupError> {
        match attr(k).map(str::trim) {
            None | Some("config") | Some("") => Ok((false, false)),
            Some("include") => Ok((false, true)),
            Some("exclude") => Ok((true, false)),
            Some(other) => Err(BackupError::Invalid(format!(
                "{k} must be include, exclude or config (got {other:?})"
            ))),
        }
    };
    let method = attr("method").unwrap_or("full");
    let (full, incremental, delete) = match method {
        "full" => (true, false, None),
        "incremental" => (false, true, None),
        "delete" => {
            let before = attr("before")
                .filter(|b| !b.trim().is_empty())
                .ok_or_else(|| {
                    BackupError::Invalid(
                        "method delete needs before (a label, nn(d|m|y) or a time)".into(),
                    )
                })?;
            (false, false, Some(before.trim().to_string()))
        }
        "abort" => return Ok(BackupAction::Abort(attr("label").map(str::to_string))),
        other => {
            return Err(BackupError::Invalid(format!(
                "unknown backup method {other:?}"
            )));
        }
    };
    let (exclude_blobs, include_blobs) = choice("blobs")?;
    let (exclude_hsm_blobs, include_hsm_blobs) = choice("secondaryBlobs")?;
    let (exclude_search_index, include_search_index) = choice("searchIndex")?;
    let zip_store = flag("zipStore");
    Ok(BackupAction::Run(Box::new(BackupArgs {
        full,
        incremental,
        accounts,
        server: String::new(),
        groups: 0,
        sync: flag("sync"),
        delete,
        exclude_blobs,
        exclude_hsm_blobs,
        exclude_search_index,
        zip: flag("zip") && !zip_store,
        zip_store,
        no_zip: false,
        include_blobs,
        include_hsm_blobs,
        include_search_index,
        target: attr("target").filter(|t| !t.is_empty()).map(str::to_string),
        mail_report: false,
    })))
}

/// What a `BackupQueryRequest` asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this session.
    pub label: Option<String>,
    /// Only full or only incremental sessions.
    pub kind: Option<SessionKind>,
    /// Sessions started at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Sessions started at or before this time (ms since the epoch).
    pub to_ms: Option<i64>,
    /// Skip this many matching sessions (newest first, as Zimbra lists them).
    pub offset: usize,
    /// At most this many sessions (`None`: all).
    pub count: Option<usize>,
    /// Whether to list each session's accounts (`accountListStatus` other than
    /// `NONE`).
    pub list_accounts: bool,
}

/// Reads a `BackupQueryRequest`'s `query` element.
///
/// # Errors
/// An unknown `type`; a number that does not parse.
pub fn query_from_attrs<'a>(attr: impl Fn(&str) -> Option<&'a str>) -> Result<Query, BackupError> {
    let num = |k: &str| -> Result<Option<i64>, BackupError> {
        attr(k)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| BackupError::Invalid(format!("bad {k} {v:?}")))
            })
            .transpose()
    };
    let kind = match attr("type").map(str::trim) {
        None | Some("") => None,
        Some("full") => Some(SessionKind::Full),
        Some("incremental") => Some(SessionKind::Incremental),
        Some(other) => {
            return Err(BackupError::Invalid(format!(
                "type must be full or incremental (got {other:?})"
            )));
        }
    };
    Ok(Query {
        label: attr("label").filter(|l| !l.is_empty()).map(str::to_string),
        kind,
        from_ms: num("from")?,
        to_ms: num("to")?,
        offset: num("backupListOffset")?.unwrap_or(0).max(0) as usize,
        count: num("backupListCount")?
            .filter(|c| *c > 0)
            .map(|c| c as usize),
        list_accounts: attr("accountListStatus")
            .is_some_and(|s| !s.trim().eq_ignore_ascii_case("NONE")),
    })
}

/// The completed sessions on `target` that `q` selects, newest first, and whether more
/// follow the page.
///
/// # Errors
/// A damaged catalog.
pub fn query(target: &Path, q: &Query) -> Result<(Vec<Session>, bool), BackupError> {
    let mut all: Vec<Session> = catalog::list_sessions(target)?
        .into_iter()
        .filter(|s| q.label.as_ref().is_none_or(|l| *l == s.catalog.label))
        .filter(|s| q.kind.is_none_or(|k| k == s.catalog.kind))
        .filter(|s| q.from_ms.is_none_or(|t| s.catalog.started_ms >= t))
        .filter(|s| q.to_ms.is_none_or(|t| s.catalog.started_ms <= t))
        .collect();
    all.reverse();
    let rest: Vec<Session> = all.into_iter().skip(q.offset).collect();
    let take = q.count.unwrap_or(rest.len());
    let more = rest.len() > take;
    Ok((rest.into_iter().take(take).collect(), more))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }

    #[test]
    fn backup_attributes_become_zmbackup_options() {
        let a = [
            ("method", "full"),
            ("zip", "1"),
            ("zipStore", "1"),
            ("searchIndex", "exclude"),
            ("blobs", "include"),
            ("target", "/mnt/b"),
        ];
        let BackupAction::Run(args) = backup_from_attrs(attrs(&a), vec![]).unwrap() else {
            panic!("not a run");
        };
        assert!(args.full && !args.incremental);
        assert_eq!(args.packaging(), crate::BlobPackaging::ZipStore);
        assert!(args.exclude_search_index && args.include_blobs && !args.exclude_blobs);
        assert_eq!(args.target.as_deref(), Some("/mnt/b"));
        let a = [("method", "incremental")];
        let BackupAction::Run(args) =
            backup_from_attrs(attrs(&a), vec!["u@x.test".into()]).unwrap()
        else {
            panic!("not a run");
        };
        assert!(args.incremental && args.accounts == ["u@x.test"]);
        let a = [("method", "delete"), ("before", "1m")];
        let BackupAction::Run(args) = backup_from_attrs(attrs(&a), vec![]).unwrap() else {
            panic!("not a run");
        };
        assert_eq!(args.delete.as_deref(), Some("1m"));
        let a = [("method", "abort"), ("label", "full-20070712.155951.123")];
        assert!(matches!(
            backup_from_attrs(attrs(&a), vec![]).unwrap(),
            BackupAction::Abort(Some(l)) if l == "full-20070712.155951.123"
        ));
        for bad in [
            &[("method", "sideways")][..],
            &[("method", "delete")][..],
            &[("blobs", "maybe")][..],
        ] {
            assert!(backup_from_attrs(attrs(bad), vec![]).is_err());
        }
    }

    #[test]
    fn query_attributes_parse() {
        let a = [
            ("type", "full"),
            ("from", "5"),
            ("backupListCount", "2"),
            ("accountListStatus", "ALL"),
        ];
        let q = query_from_attrs(attrs(&a)).unwrap();
        assert_eq!(q.kind, Some(SessionKind::Full));
        assert_eq!(
            (q.from_ms, q.count, q.list_accounts),
            (Some(5), Some(2), true)
        );
        assert!(query_from_attrs(attrs(&[("type", "weekly")])).is_err());
        assert!(query_from_attrs(attrs(&[("from", "soon")])).is_err());
        let none = query_from_attrs(attrs(&[("accountListStatus", "NONE")])).unwrap();
        assert!(!none.list_accounts);
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(query(tmp.path(), &q).unwrap().0.len(), 0);
    }
}
