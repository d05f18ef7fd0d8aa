//! One account's restore: its directory entry (created, recreated under a new id when
//! deleted, or a new prefixed account), its rows imported from the full session while
//! it is held in maintenance, its records replayed, its index documents put back, and
//! its status restored.

use super::records::{Interrupted, Picked, pick};
use super::*;

/// The account's file in the full session, checked, with that session; for an account
/// the full session does not hold, its copy in an incremental of the chain (made
/// because it had no full backup) when the point in time is past that copy; `None`
/// when neither holds it (created after the full: its records rebuild it).
pub(super) fn account_file(
    ctx: &Ctx<'_>,
    entry: &Entry,
) -> Result<Option<(AccountFile, Session)>, BackupError> {
    let full = &ctx.chain.full;
    let id = entry.id.to_string();
    let listed = full.catalog.accounts.iter().find(|a| a.id == id);
    let rel = format!("accounts/{}/{id}/account.json", &id[..id.len().min(3)]);
    let path = catalog::account_dir(&full.dir, &id).join("account.json");
    match listed {
        Some(_) => {
            if !path.exists() {
                return Err(BackupError::Corrupt(format!(
                    "{} is missing: session {} lists account {} but holds no backup of it",
                    path.display(),
                    full.catalog.label,
                    entry.name
                )));
            }
            catalog::verify_file(full, &rel)?;
            Ok(Some((catalog::read_json(&path)?, full.clone())))
        }
        None if full.catalog.all_accounts && ctx.full_ids.contains(&entry.id) => {
            Err(BackupError::Corrupt(format!(
                "account {} ({id}) is in the directory copy of {} but missing from its \
                 catalog ({}): the catalog is damaged",
                entry.name,
                full.catalog.label,
                full.dir.join(catalog::CATALOG_FILE).display()
            )))
        }
        None => {
            let opts = ctx.opts;
            for s in &ctx.chain.incrs {
                let Some(rec) = s
                    .catalog
                    .accounts
                    .iter()
                    .find(|a| a.id == id && a.mailbox.is_some())
                else {
                    continue;
                };
                if opts.to_seq.is_some_and(|q| q < rec.last_redo_seq)
                    || opts.to_time_ms.is_some_and(|t| t < s.catalog.ended_ms)
                {
                    // The copy is past the point in time: the records rebuild it.
                    return Ok(None);
                }
                catalog::verify_file(s, &rel)?;
                catalog::verify_file(s, "sys/mailbox.db")?;
                let path = catalog::account_dir(&s.dir, &id).join("account.json");
                return Ok(Some((catalog::read_json(&path)?, s.clone())));
            }
            Ok(None)
        }
    }
}

pub(super) fn status_of(e: &Entry) -> String {
    e.attrs
        .get("zimbraAccountStatus")
        .map(str::to_string)
        .unwrap_or_else(|| "active".into())
}

pub(super) async fn set_status(ctx: &Ctx<'_>, e: &Entry, status: &str) -> Result<(), BackupError> {
    ctx.dir
        .modify_entry(
            e.kind,
            e.id,
            &[AttrEdit::Replace(
                "zimbraAccountStatus".into(),
                vec![status.to_string()],
            )],
        )
        .await
        .step("set account status")?;
    Ok(())
}

/// Puts the account's entry and rows in place and leaves it in maintenance.
pub(super) async fn import_one(ctx: &Ctx<'_>, entry: &Entry) -> Result<Imported, BackupError> {
    let opts = ctx.opts;
    let found = account_file(ctx, entry)?;
    let file = found.as_ref().map(|(f, _)| f);
    let file_session = found.as_ref().map(|(_, s)| s);
    let source_entry = file.map(|f| &f.entry).unwrap_or(entry);

    let target: Entry = match &opts.prefix {
        Some(prefix) => {
            let name = format!("{prefix}{}", source_entry.name);
            let existing = ctx
                .dir
                .get_entry(source_entry.kind, &EntryKey::Name(name.clone()))
                .await
                .step("look up account")?;
            match existing {
                // The account an interrupted restore created: finish it.
                Some(e) if ctx.journal.get(&e.id.to_string()).is_some() => e,
                _ => crate::directory::create_prefixed(ctx.dir, source_entry, prefix).await?,
            }
        }
        None => {
            let by_id = ctx
                .dir
                .get_entry(source_entry.kind, &EntryKey::Id(source_entry.id))
                .await
                .step("look up account")?;
            let by_name = ctx
                .dir
                .get_entry(
                    source_entry.kind,
                    &EntryKey::Name(source_entry.name.clone()),
                )
                .await
                .step("look up account")?;
            match (by_id, by_name) {
                // A new server made its own account of that name (the admin account of
                // a fresh install): the mailbox goes there, its entry stays.
                (None, Some(other)) => {
                    tracing::warn!(
                        account = other.name,
                        "account exists with another id; \
                        restoring the mailbox into it"
                    );
                    other
                }
                (by_id, _) => {
                    match crate::directory::restore_entry(
                        ctx.dir,
                        source_entry,
                        opts.restore_directory,
                    )
                    .await
                    {
                        Ok(_) => ctx
                            .dir
                            .get_entry(source_entry.kind, &EntryKey::Id(source_entry.id))
                            .await
                            .step("look up account")?
                            .unwrap_or_else(|| source_entry.clone()),
                        Err(e) if by_id.is_none() => recreate(ctx, source_entry, e).await?,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    };
    let target_id: ZimbraId = target.id;
    let pending = ctx.journal.get(&target_id.to_string());
    let final_status = match &pending {
        Some(p) => p.previous_status.clone(),
        None if status_of(&target) == journal::MAINTENANCE => status_of(source_entry),
        None => status_of(&target),
    };

    ctx.journal.begin(&Pending {
        account_id: target_id.to_string(),
        name: target.name.clone(),
        previous_status: final_status.clone(),
        label: ctx.chain.full.catalog.label.clone(),
        started_ms: chrono::Utc::now().timestamp_millis(),
        source_id: source_entry.id.to_string(),
        request: Some(journal::Request::of(opts, ctx.scope)),
    })?;
    set_status(ctx, &target, journal::MAINTENANCE).await?;
    // What an interrupted restore of this account wrote (its restore record and part
    // of its replay, all logged since it started) is not history to replay.
    let own = match &pending {
        Some(p) => Some(Interrupted {
            started_ms: p.started_ms,
            account: target_id,
            mailbox: ctx
                .store
                .find_mailbox(target_id)
                .await
                .step("find mailbox")?
                .map(|m| m.id().0),
        }),
        None => None,
    };
    // In maintenance nothing more is delivered: the server's records logged until now
    // are all there is to replay.
    let picked = ctx
        .records
        .lock()
        .map_err(|_| BackupError::Invalid("restore state poisoned".into()))
        .and_then(|mut r| {
            r.refresh()?;
            pick(ctx, entry, file, file_session, &r.all, own.as_ref())
        });
    let Picked {
        source_mb,
        from_session,
        records,
    } = match picked {
        Ok(p) => p,
        Err(e) => {
            put_back(ctx, &target, &final_status).await;
            return Err(e);
        }
    };
    let rows = async {
        match &from_session {
            Some((session, mb)) => {
                let blobs: Arc<dyn BlobStore> = if session.dir == ctx.chain.full.dir {
                    ctx.blobs.clone()
                } else {
                    Arc::new(SessionBlobs::open(&[session.dir.as_path()])?)
                };
                // Over a mailbox the account has: same id, new UIDVALIDITY (open IMAP
                // sessions see a renumbered mailbox); else a fresh import.
                ctx.store
                    .replace_mailbox(
                        target_id,
                        &session.dir.join("sys").join("mailbox.db"),
                        *mb,
                        blobs,
                    )
                    .await
                    .step("import mailbox")?;
                ctx.store
                    .log_restore(target_id, &session.catalog.label, *mb)
                    .await
                    .step("log the restore")?;
            }
            None => ctx
                .store
                .delete_mailbox(target_id)
                .await
                .step("wipe mailbox")?,
        }
        if ctx
            .store
            .find_mailbox(target_id)
            .await
            .step("find mailbox")?
            .is_none()
            && (source_mb.is_some() || records.is_empty())
        {
            ctx.store.mailbox(target_id).await.step("create mailbox")?;
        }
        Ok::<(), BackupError>(())
    }
    .await;
    if let Err(e) = rows {
        // Nothing was replaced (the row copy is one transaction, blobs come first):
        // the account goes back to how it was.
        put_back(ctx, &target, &final_status).await;
        return Err(e);
    }
    let index_mb = match &from_session {
        Some((s, mb)) if s.dir == ctx.chain.full.dir => Some(*mb),
        _ => None,
    };
    Ok(Imported {
        name: entry.name.clone(),
        target,
        final_status,
        source_mb,
        index_mb,
        records,
    })
}

/// Brings back a deleted account whose id the directory refuses to hand out again
/// (ids of deleted entries are never reused): the same name and attributes under a
/// new id. `why` is the refusal, returned when this fails too.
pub(super) async fn recreate(
    ctx: &Ctx<'_>,
    e: &Entry,
    why: BackupError,
) -> Result<Entry, BackupError> {
    let mut attrs = e.attrs.clone();
    attrs.set("zimbraId", Vec::new());
    crate::directory::default_cos_if_gone(ctx.dir, &e.name, &mut attrs).await?;
    match ctx
        .dir
        .create_entry_with_id(e.kind, ZimbraId::new(), &e.name, attrs)
        .await
    {
        Ok(created) => {
            tracing::warn!(account = e.name, old_id = %e.id, new_id = %created.id,
                "deleted account restored under a new id");
            Ok(created)
        }
        Err(err) => {
            tracing::warn!(account = e.name, error = %err, "account not recreated");
            Err(why)
        }
    }
}

/// Takes an account whose rows were not touched out of maintenance again.
pub(super) async fn put_back(ctx: &Ctx<'_>, target: &Entry, status: &str) {
    if let Err(e) = set_status(ctx, target, status).await {
        tracing::error!(account = target.name, error = %e, "status not put back");
    } else {
        let _ = ctx.journal.end(&target.id.to_string());
    }
}

/// Replays the account's records, then takes it out of maintenance.
pub(super) async fn replay_one(ctx: &Ctx<'_>, i: &Imported) -> Result<(u64, u64), BackupError> {
    let mut out = (0, 0);
    if i.source_mb.is_some() && !i.records.is_empty() {
        let rep = ctx
            .store
            .replay_into(
                i.target.id,
                &i.records,
                ctx.blobs.clone(),
                ctx.opts.skip_deletes,
                ctx.opts.ignore_redo_errors,
            )
            .await
            .step("replay redo records")?;
        out = (rep.applied, rep.failed);
    }
    if let Some(hook) = ctx.hook {
        hook.before_release(i.target.id)
            .await
            .map_err(|e| BackupError::Invalid(format!("after the restore: {e}")))?;
    }
    set_status(ctx, &i.target, &i.final_status).await?;
    ctx.journal.end(&i.target.id.to_string())?;
    Ok(out)
}

/// Puts the imported mailboxes' index documents back (offline only) and marks those
/// items indexed; returns the accounts done. Any failure leaves the items unindexed
/// for the server's indexer (a reindex), with a warning.
pub(super) async fn restore_index(ctx: &Ctx<'_>, imported: &[Imported]) -> Vec<String> {
    let Some(live) = ctx.opts.index_dir.as_ref() else {
        return Vec::new();
    };
    let full = &ctx.chain.full;
    if ctx.opts.exclude_search_index || !full.catalog.index {
        return Vec::new();
    }
    // Documents carry the mailbox id: usable as they are only where the restored
    // mailbox kept the backed-up id.
    let mut wanted: HashMap<i64, &Imported> = HashMap::new();
    for i in imported {
        let Some(mb) = i.index_mb else { continue };
        if let Ok(Some(live_mb)) = ctx.store.find_mailbox(i.target.id).await
            && live_mb.id().0 == mb
        {
            wanted.insert(mb, i);
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let set: HashSet<i64> = wanted.keys().copied().collect();
    let backup = crate::index_copy::session_index(&full.dir);
    let live = live.clone();
    let res = tokio::task::spawn_blocking(move || {
        crate::index_copy::restore_mailboxes(&backup, &live, &set)
    })
    .await;
    let items = match res {
        Ok(Ok(items)) => items,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "search index not restored; restored mail is reindexed");
            return Vec::new();
        }
        Err(e) => {
            tracing::warn!(error = %e, "search index not restored; restored mail is reindexed");
            return Vec::new();
        }
    };
    let mut done = Vec::new();
    for (mb, i) in wanted {
        let ids: Vec<ItemId> = items
            .get(&mb)
            .map(|v| v.iter().map(|&x| ItemId(x as i32)).collect())
            .unwrap_or_default();
        let marked = match ctx.store.find_mailbox(i.target.id).await {
            Ok(Some(m)) => m.mark_indexed(&ids).await.map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        match marked {
            Ok(()) => done.push(i.target.name.clone()),
            Err(e) => tracing::warn!(account = i.target.name, error = %e,
                "restored items not marked indexed; they are reindexed"),
        }
    }
    done.sort();
    done
}
