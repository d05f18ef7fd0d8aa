//! Which redo records an account's restore replays: the chain's and the server's own
//! records cut at the point in time ([`Records`]), the source mailbox and records of one
//! account ([`pick`], which restarts from a restore logged in the records and leaves out
//! an interrupted restore's own records), and the accounts deleted since the backup
//! ([`deleted_since_backup`]).

use super::*;

/// A restore of the account that did not finish, whose own records are left out.
pub(super) struct Interrupted {
    pub(super) started_ms: i64,
    pub(super) account: ZimbraId,
    pub(super) mailbox: Option<i64>,
}

impl Interrupted {
    /// Whether `r` was logged by that restore.
    pub(super) fn wrote(&self, r: &RedoRecord) -> bool {
        let restores_it = match &r.op {
            RedoOp::RestoreMailbox { account, .. } => *account == self.account,
            _ => false,
        };
        r.timestamp_ms >= self.started_ms && (Some(r.mailbox.0) == self.mailbox || restores_it)
    }
}

/// Where an account's mailbox comes from and the records replayed over it.
pub(super) struct Picked {
    /// Source mailbox of the chain (redo records are filed under it).
    pub(super) source_mb: Option<i64>,
    /// The session and mailbox the rows are copied from (`None`: an empty mailbox).
    pub(super) from_session: Option<(Session, i64)>,
    /// Records to replay, by sequence.
    pub(super) records: Vec<RedoRecord>,
}

/// The source mailbox of `entry` (from the full session, or its creation in the
/// records) and its records after the copied state; a restore logged in the records
/// restarts the mailbox from the session that record names.
pub(super) fn pick(
    ctx: &Ctx<'_>,
    entry: &Entry,
    file: Option<&AccountFile>,
    file_session: Option<&Session>,
    all: &[RedoRecord],
    own: Option<&Interrupted>,
) -> Result<Picked, BackupError> {
    let kept: Vec<&RedoRecord> = all
        .iter()
        .filter(|r| own.is_none_or(|o| !o.wrote(r)))
        .collect();
    let all = kept;
    let (source_mb, mut after) = match file
        .and_then(|f| f.record.mailbox.map(|m| (m, f.record.last_redo_seq)))
    {
        Some((mb, seq)) => (Some(mb), seq),
        None => (
            all.iter().find_map(|r| match &r.op {
                RedoOp::CreateMailbox { account, .. } if *account == entry.id => Some(r.mailbox.0),
                _ => None,
            }),
            0,
        ),
    };
    let mut from_session: Option<(Session, i64)> = file.and_then(|f| f.record.mailbox).map(|mb| {
        let s = file_session.unwrap_or(&ctx.chain.full);
        (s.clone(), mb)
    });
    // A restore of this account (into its mailbox, or into a new mailbox after the
    // old one was deleted) is where its history continues.
    let mut follow_mb = source_mb;
    if let Some((seq, mb, label, src)) = all
        .iter()
        .filter(|r| r.seq > after)
        .filter_map(|r| match &r.op {
            RedoOp::RestoreMailbox {
                account,
                label,
                source_mailbox,
            } if *account == entry.id || Some(r.mailbox.0) == source_mb => {
                Some((r.seq, r.mailbox.0, label.clone(), *source_mailbox))
            }
            _ => None,
        })
        .next_back()
    {
        let s = catalog::list_sessions(ctx.target)?
            .into_iter()
            .find(|s| s.catalog.label == label)
            .ok_or_else(|| {
                BackupError::Invalid(format!(
                    "account {} was restored from {label} (redo {seq}); that session is \
                     needed and is no longer in the backup target",
                    entry.name
                ))
            })?;
        catalog::verify_file(&s, "sys/mailbox.db")?;
        from_session = Some((s, src));
        after = seq;
        follow_mb = Some(mb);
    }
    let records = match follow_mb {
        Some(mb) => all
            .iter()
            .filter(|r| r.mailbox.0 == mb && r.seq > after)
            .filter(|r| !matches!(r.op, RedoOp::RestoreMailbox { .. }))
            .map(|r| (*r).clone())
            .collect(),
        None => Vec::new(),
    };
    Ok(Picked {
        source_mb,
        from_session,
        records,
    })
}

/// The redo records a restore replays: the backup chain's, then the server's own as
/// read so far, cut at the point in time and without aborted ones.
pub(super) struct Records {
    pub(super) all: Vec<RedoRecord>,
    pub(super) server: Option<ServerRedo>,
    pub(super) to_seq: Option<u64>,
    pub(super) to_time_ms: Option<i64>,
}

impl Records {
    /// `self` holding `records` (sorted by sequence), cut as asked.
    pub(super) fn with(mut self, records: Vec<RedoRecord>) -> Records {
        self.add(records);
        self
    }

    fn add(&mut self, records: Vec<RedoRecord>) {
        self.all.extend(records);
        self.all.sort_by_key(|r| r.seq);
        self.all.dedup_by_key(|r| r.seq);
        let aborted: HashSet<u64> = self
            .all
            .iter()
            .filter_map(|r| match r.op {
                RedoOp::Abort { seq } => Some(seq),
                _ => None,
            })
            .collect();
        let (to_seq, to_time) = (self.to_seq, self.to_time_ms);
        self.all.retain(|r| {
            !aborted.contains(&r.seq)
                && to_seq.is_none_or(|s| r.seq <= s)
                && to_time.is_none_or(|t| r.timestamp_ms <= t)
        });
    }

    /// Adds what the server logged since the last read.
    pub(super) fn refresh(&mut self) -> Result<(), BackupError> {
        let fresh = match self.server.as_mut() {
            Some(s) => s.refresh()?,
            None => return Ok(()),
        };
        if !fresh.is_empty() {
            self.add(fresh);
        }
        Ok(())
    }
}

/// Whether a restore with `opts` replays the server's own redo logs: asked for
/// (`scope`), and the point in time is not inside the backup (`-rf`,
/// `-restoreToIncrLabel`, an incremental `-lb`).
pub(super) fn replays_server_redo(opts: &RestoreOptions, scope: &RestoreScope) -> bool {
    scope.server_redo
        && !opts.full_only
        && opts.to_incr_label.is_none()
        && !opts
            .label
            .as_deref()
            .is_some_and(|l| l.starts_with(SessionKind::Incremental.prefix()))
}

/// The accounts of `entries` deleted since the backup: no longer in the directory
/// (by id or name), and known to this server: it still holds the account's mailbox (a
/// directory-only delete), or its records log the mailbox's deletion. A new server,
/// which never had them, restores every account. When the directory itself was lost
/// (none of the accounts nor their domains is in it: a disaster recovery, where the
/// store may have rebuilt mailboxes from the surviving redo log), only logged deletes
/// count; so with `system` (`-sys`, the disaster-recovery restore).
pub(super) async fn deleted_since_backup(
    store: &Store,
    dir: &Arc<dyn Directory>,
    entries: &[&Entry],
    chain: &Chain,
    records: &[RedoRecord],
    system: bool,
) -> Result<HashSet<ZimbraId>, BackupError> {
    let deleted_mbs: HashSet<i64> = records
        .iter()
        .filter(|r| matches!(r.op, RedoOp::DeleteMailbox))
        .map(|r| r.mailbox.0)
        .collect();
    let mut out = HashSet::new();
    let mut missing = Vec::new();
    for e in entries {
        let in_dir = dir
            .get_entry(e.kind, &EntryKey::Id(e.id))
            .await
            .step("look up account")?
            .is_some()
            || dir
                .get_entry(e.kind, &EntryKey::Name(e.name.clone()))
                .await
                .step("look up account")?
                .is_some();
        if !in_dir {
            missing.push(*e);
        }
    }
    let mut domains: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.name.rsplit_once('@').map(|(_, d)| d))
        .collect();
    domains.sort_unstable();
    domains.dedup();
    let mut domain_left = false;
    for d in domains {
        if dir
            .get_entry(EntryKind::Domain, &EntryKey::Name(d.to_string()))
            .await
            .step("look up domain")?
            .is_some()
        {
            domain_left = true;
            break;
        }
    }
    let dir_lost = system || !entries.is_empty() && missing.len() == entries.len() && !domain_left;
    if dir_lost {
        tracing::warn!(
            accounts = entries.len(),
            "the directory is treated as lost (-sys, or none of the backed-up accounts \
             or their domains is in it): only accounts whose deletion is logged are skipped"
        );
    }
    for e in missing {
        let id = e.id.to_string();
        let mailbox = chain
            .full
            .catalog
            .accounts
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.mailbox)
            .or_else(|| {
                records.iter().find_map(|r| match &r.op {
                    RedoOp::CreateMailbox { account, .. } if *account == e.id => Some(r.mailbox.0),
                    _ => None,
                })
            });
        let logged = mailbox.is_some_and(|m| deleted_mbs.contains(&m));
        if logged
            || !dir_lost
                && store
                    .find_mailbox(e.id)
                    .await
                    .step("find mailbox")?
                    .is_some()
        {
            out.insert(e.id);
        }
    }
    Ok(out)
}
