//! The directory part of a backup, backend-neutral: entries read through the
//! `Directory` seam and kept as JSON (`sys/directory.json`, `account.json`), so a backup
//! of an SQLite directory restores into PostgreSQL, MariaDB or LDAP and back.

use std::sync::Arc;

use zcs_core::{AttrEdit, Entry, EntryKind, ZimbraId};
use zcs_directory::{Directory, EntryKey};

use crate::error::{BackupError, StoreStep};

/// Kinds in restore order: what an entry refers to is created before it ("restore
/// order": COS and domains before accounts, accounts before lists and aliases).
const ORDER: &[EntryKind] = &[
    EntryKind::GlobalConfig,
    EntryKind::Server,
    EntryKind::Cos,
    EntryKind::Domain,
    EntryKind::Account,
    EntryKind::CalendarResource,
    EntryKind::DistributionList,
    EntryKind::DynamicGroup,
    EntryKind::Alias,
    EntryKind::Identity,
    EntryKind::Signature,
    EntryKind::DataSource,
    EntryKind::Zimlet,
];

/// Every entry of the directory, kind by kind in restore order. A kind the backend
/// cannot list is skipped with a warning.
///
/// # Errors
/// Listing accounts failed (nothing useful can be backed up without them).
pub async fn export(dir: &Arc<dyn Directory>) -> Result<Vec<Entry>, BackupError> {
    let mut out = Vec::new();
    for kind in ORDER {
        match dir.list_entries(*kind, None).await {
            Ok(entries) => out.extend(entries),
            Err(e) if *kind != EntryKind::Account => {
                tracing::warn!(kind = %kind, error = %e, "directory kind not backed up")
            }
            Err(e) => {
                return Err(BackupError::Directory {
                    step: "list accounts",
                    source: e,
                });
            }
        }
    }
    Ok(out)
}

/// Puts `entry` back: created with its own id when missing; when an entry of that
/// kind and id exists and `replace` is set, its attributes are set to the backed-up
/// values (attributes added since stay). The global config is only ever modified.
/// Returns whether anything was written.
///
/// # Errors
/// The directory refused (a name taken by another entry, for one).
pub async fn restore_entry(
    dir: &Arc<dyn Directory>,
    entry: &Entry,
    replace: bool,
) -> Result<bool, BackupError> {
    let existing = if entry.kind == EntryKind::GlobalConfig {
        dir.get_entry(entry.kind, &EntryKey::Name(String::new()))
            .await
            .ok()
            .flatten()
    } else {
        dir.get_entry(entry.kind, &EntryKey::Id(entry.id))
            .await
            .step("look up entry")?
    };
    // A server entry under another id but the backed-up name is this server after its
    // directory was rebuilt (disaster recovery: the data directory was lost and a fresh
    // one was bootstrapped, or a new server was set up under the old name). It takes
    // back the backed-up settings it does not have (ports, services of the lost
    // directory); a setting the new server already has is the operator's and stays.
    if existing.is_none() && entry.kind == EntryKind::Server {
        let Some(cur) = dir
            .get_entry(entry.kind, &EntryKey::Name(entry.name.clone()))
            .await
            .step("look up server")?
        else {
            return create_with_id(dir, entry).await;
        };
        let edits: Vec<AttrEdit> = replace_edits(entry)
            .into_iter()
            .filter(|e| match e {
                AttrEdit::Replace(name, _) => cur.attrs.get_all(name).is_empty(),
                _ => false,
            })
            .collect();
        if edits.is_empty() {
            return Ok(false);
        }
        dir.modify_entry(entry.kind, cur.id, &edits)
            .await
            .step("restore server settings")?;
        return Ok(true);
    }
    match existing {
        Some(cur) if replace => {
            let mut entry = entry.clone();
            default_cos_if_gone(dir, &entry.name, &mut entry.attrs).await?;
            let mut edits = replace_edits(&entry);
            if entry.attrs.get("zimbraCOSId").is_none() && cur.attrs.get("zimbraCOSId").is_some() {
                edits.push(AttrEdit::Replace("zimbraCOSId".into(), Vec::new()));
            }
            if edits.is_empty() {
                return Ok(false);
            }
            dir.modify_entry(entry.kind, cur.id, &edits)
                .await
                .step("restore entry attributes")?;
            Ok(true)
        }
        Some(_) => Ok(false),
        None if entry.kind == EntryKind::GlobalConfig => Ok(false),
        None => create_with_id(dir, entry).await,
    }
}

/// Creates `entry` under its backed-up id.
async fn create_with_id(dir: &Arc<dyn Directory>, entry: &Entry) -> Result<bool, BackupError> {
    let mut attrs = entry.attrs.clone();
    attrs.set("zimbraId", Vec::new());
    default_cos_if_gone(dir, &entry.name, &mut attrs).await?;
    dir.create_entry_with_id(entry.kind, entry.id, &entry.name, attrs)
        .await
        .step("create entry")?;
    Ok(true)
}

/// [`restore_entry`] with `replace` set, for `zmrestoreldap`, which also brings back
/// entries deleted since the backup: when the directory refuses the backed-up id
/// (ids of deleted entries are never handed out again) and no entry of that kind and
/// name exists, the entry is created under a new id, which is returned so references
/// to the old one (an alias's `zimbraAliasTargetId`) can follow. `remap` holds the
/// new ids of entries recreated so far and is applied to this entry's references.
///
/// # Errors
/// As [`restore_entry`], when the entry cannot be created under a new id either.
pub async fn restore_entry_or_recreate(
    dir: &Arc<dyn Directory>,
    entry: &Entry,
    remap: &std::collections::HashMap<ZimbraId, ZimbraId>,
) -> Result<(bool, Option<ZimbraId>), BackupError> {
    let mut entry = entry.clone();
    let target: Option<ZimbraId> = entry
        .attrs
        .get("zimbraAliasTargetId")
        .and_then(|v| v.parse().ok());
    if let Some(new) = target.and_then(|t| remap.get(&t)) {
        entry
            .attrs
            .set("zimbraAliasTargetId", vec![new.to_string()]);
    }
    let why = match restore_entry(dir, &entry, true).await {
        Ok(w) => return Ok((w, None)),
        Err(e) => e,
    };
    let taken = dir
        .get_entry(entry.kind, &EntryKey::Name(entry.name.clone()))
        .await
        .step("look up entry")?;
    if taken.is_some() || entry.kind == EntryKind::GlobalConfig {
        return Err(why);
    }
    let mut attrs = entry.attrs.clone();
    attrs.set("zimbraId", Vec::new());
    default_cos_if_gone(dir, &entry.name, &mut attrs).await?;
    match dir
        .create_entry_with_id(entry.kind, ZimbraId::new(), &entry.name, attrs)
        .await
    {
        Ok(created) => {
            tracing::warn!(kind = %entry.kind, name = entry.name, old_id = %entry.id,
                new_id = %created.id, "deleted entry restored under a new id");
            Ok((true, Some(created.id)))
        }
        Err(err) => {
            tracing::warn!(kind = %entry.kind, name = entry.name, error = %err,
                "deleted entry not recreated");
            Err(why)
        }
    }
}

/// An account whose class of service was deleted since the backup gets the default
/// COS (spec 04 §1.9): its `zimbraCOSId` naming no COS any more is dropped, with a
/// warning naming the account and the missing COS. Other entries are left alone.
///
/// # Errors
/// The directory cannot be asked.
pub async fn default_cos_if_gone(
    dir: &Arc<dyn Directory>,
    name: &str,
    attrs: &mut zcs_core::Attrs,
) -> Result<(), BackupError> {
    let Some(cos) = attrs.get("zimbraCOSId").map(str::trim).map(str::to_string) else {
        return Ok(());
    };
    let exists = match cos.parse::<ZimbraId>() {
        Ok(id) => dir
            .get_entry(EntryKind::Cos, &EntryKey::Id(id))
            .await
            .step("look up class of service")?
            .is_some(),
        Err(_) => false,
    };
    if !exists {
        tracing::warn!(account = name, cos = %cos,
            "the account's class of service no longer exists; it gets the default COS");
        attrs.set("zimbraCOSId", Vec::new());
    }
    Ok(())
}

fn replace_edits(entry: &Entry) -> Vec<AttrEdit> {
    entry
        .attrs
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("zimbraId"))
        .map(|(name, values)| AttrEdit::Replace(name.to_string(), values.to_vec()))
        .collect()
}

/// Attributes naming an account's addresses, replaced when restoring into a new
/// account (`zmrestore -ca -pre`).
const ADDRESS_ATTRS: &[&str] = &[
    "zimbraId",
    "mail",
    "zimbraMailAlias",
    "zimbraMailDeliveryAddress",
    "zimbraMailCanonicalAddress",
    "uid",
];

/// Creates a new account named `<prefix><name>` with `entry`'s attributes but its own
/// id and addresses; returns it.
///
/// # Errors
/// The name is taken or the directory refused.
pub async fn create_prefixed(
    dir: &Arc<dyn Directory>,
    entry: &Entry,
    prefix: &str,
) -> Result<Entry, BackupError> {
    let name = format!("{prefix}{}", entry.name);
    let mut attrs = entry.attrs.clone();
    for a in ADDRESS_ATTRS {
        attrs.set(a, Vec::new());
    }
    default_cos_if_gone(dir, &name, &mut attrs).await?;
    attrs.set_one("mail", name.clone());
    attrs.set_one("zimbraMailDeliveryAddress", name.clone());
    if let Some((local, _)) = name.split_once('@') {
        attrs.set_one("uid", local.to_string());
    }
    dir.create_entry_with_id(entry.kind, ZimbraId::new(), &name, attrs)
        .await
        .step("create restored account")
}
