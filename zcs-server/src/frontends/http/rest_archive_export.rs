//! The archive exports (`fmt=zip|tgz|tar`, Zimbra's ArchiveFormatter) of a folder and
//! every folder below it that the caller may read: for each folder a `.meta` (its path,
//! view and colour), each message as `.eml` after its `.meta` (flags, tags, unread state,
//! date), each contact as `.vcf` (after a `.meta` with its fields), each appointment or
//! task as Zimbra's `.appt`/`.task` after its `.meta` (`rest_import::calendar`: the
//! invite metadata, and a digest holding the iCalendar), and each document (Briefcase
//! file) under its own name after a `.meta` with its name and content type.
//! `rest_import` reads all of these back, so an export posted to an empty account gives
//! the same folders and items.
//!
//! `types=` (Zimbra's names: `message`, `contact`, `appointment`, `task`, `document`,
//! comma separated) narrows what is written; folders are always written. `query=`
//! narrows the messages, contacts and calendar items ([`Keep`]); `start=`/`end=` keeps
//! the appointments and tasks with an instance in that range. `meta=0` leaves every
//! `.meta` out (Zimbra's plain form: files an importer reads by their extension; an
//! appointment is then `.ics` and a task `.task`, both iCalendar text).
// LIMITATION: documents are written at their current revision only; an archive holds at
// most `MAX_EXPORT_ITEMS` entries (the rest is left out, with a warning in the log).

use std::collections::{HashMap, HashSet};

use axum::response::Response;
use zcs_core::ItemKind;
use zcs_store::{Folder, Mailbox};

use super::archive::{self, ArchiveEntry};
use super::rest::{
    Access, MAX_EXPORT_ITEMS, RestError, eml_entry, respond, safe_name, store_err, zip_of,
};
use super::rest_export::Keep;
use super::rest_import::{calendar, meta};

/// The folders an archive export covers: `folder` and everything below it.
async fn subtree(mb: &Mailbox, folder: &Folder) -> Result<Vec<Folder>, RestError> {
    let all = mb.folders().await.map_err(store_err)?;
    let prefix = if folder.path == "/" {
        "/".to_string()
    } else {
        format!("{}/", folder.path)
    };
    Ok(all
        .into_iter()
        .filter(|f| f.id == folder.id || f.path.starts_with(&prefix))
        .collect())
}

/// Which item kinds `types=` asks for (all when absent or empty).
fn wanted(query: &HashMap<String, String>) -> impl Fn(ItemKind) -> bool {
    let set: HashSet<String> = query
        .get("types")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    move |k: ItemKind| {
        if set.is_empty() {
            return true;
        }
        let names: &[&str] = match k {
            ItemKind::Message => &["message", "conversation"],
            ItemKind::Contact => &["contact"],
            ItemKind::Appointment => &["appointment"],
            ItemKind::Task => &["task"],
            ItemKind::Document => &["document", "wiki"],
            _ => &[],
        };
        names.iter().any(|n| set.contains(*n))
    }
}

/// Adds `e` unless the archive is full; false once it is.
fn push(entries: &mut Vec<ArchiveEntry>, e: ArchiveEntry) -> bool {
    if entries.len() >= MAX_EXPORT_ITEMS {
        return false;
    }
    entries.push(e);
    true
}

/// The archive of `folder` in `fmt` (`zip`, `tar`, anything else `tgz`).
///
/// # Errors
/// Store failures; `BadRequest` when the archive cannot be written (too large).
pub(super) async fn archive(
    mb: &Mailbox,
    access: &Access,
    folder: &Folder,
    fmt: &str,
    query: &HashMap<String, String>,
    keep: &Keep,
) -> Result<Response, RestError> {
    let wants = wanted(query);
    let with_meta = query.get("meta").is_none_or(|m| m.trim() != "0");
    // Zimbra's archive keeps only the calendar items with an instance in the range.
    let in_range: Option<HashSet<zcs_core::ItemId>> =
        if query.contains_key("start") || query.contains_key("end") {
            let (start, end) = super::rest_export::range(query, i64::MIN / 2, i64::MAX / 2)?;
            let hits = mb
                .cal_instances(None, start, end)
                .await
                .map_err(store_err)?;
            Some(hits.into_iter().map(|i| i.item).collect())
        } else {
            None
        };
    let mut entries = Vec::new();
    let mut full = false;
    for f in subtree(mb, folder).await? {
        if access.check(mb, f.id).await.is_err() {
            continue;
        }
        let dir = f.path.trim_start_matches('/').to_string();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        // Each item is preceded by its `.meta`, as Zimbra's ArchiveFormatter writes them,
        // so an import restores folders, flags, tags and dates.
        if !dir.is_empty() && with_meta {
            let parent = dir.rsplit_once('/').map(|(p, _)| format!("{p}/"));
            let e = ArchiveEntry {
                name: format!(
                    "{}{:010}-{}.meta",
                    parent.unwrap_or_default(),
                    f.id.0,
                    safe_name(&f.name)
                ),
                data: meta::folder_meta(f.id.0, &f.path, &f.name, &f.view, 0),
                mtime: 0,
            };
            full |= !push(&mut entries, e);
        }
        if wants(ItemKind::Message) {
            for m in mb.messages(f.id).await.map_err(store_err)? {
                if !keep.has(m.id) {
                    continue;
                }
                if entries.len() + 2 > MAX_EXPORT_ITEMS {
                    full = true;
                    break;
                }
                let raw = mb.read_message(m.id).await.map_err(store_err)?;
                let mut e = eml_entry(&m, raw);
                e.name = format!("{prefix}{}", e.name);
                if with_meta {
                    entries.push(ArchiveEntry {
                        name: format!("{}.meta", e.name),
                        data: meta::message_meta(&m, &f.path, &m.tags),
                        mtime: e.mtime,
                    });
                }
                entries.push(e);
            }
        }
        if wants(ItemKind::Contact) {
            for c in mb.contacts(f.id).await.map_err(store_err)? {
                if !keep.has(c.id) {
                    continue;
                }
                if entries.len() + 2 > MAX_EXPORT_ITEMS {
                    full = true;
                    break;
                }
                let card = mb.export_vcard(c.id).await.map_err(store_err)?;
                let name = format!("{prefix}{}.vcf", c.id.0);
                // A plain contact's exact fields travel in its `.meta`; a group is read
                // back from its vCard, which carries its members.
                if !c.is_group && with_meta {
                    entries.push(ArchiveEntry {
                        name: format!("{name}.meta"),
                        data: meta::contact_meta(c.id.0, &f.path, &c.fields),
                        mtime: 0,
                    });
                }
                entries.push(ArchiveEntry {
                    name,
                    data: card.into_bytes(),
                    mtime: 0,
                });
            }
        }
        for c in mb.cal_items(f.id).await.map_err(store_err)? {
            let ranged = in_range.as_ref().is_none_or(|r| r.contains(&c.id));
            if !wants(c.kind) || !keep.has(c.id) || !ranged {
                continue;
            }
            if entries.len() + 2 > MAX_EXPORT_ITEMS {
                full = true;
                break;
            }
            // Zimbra's entry names: `<id, 10 digits>-<subject>` (the type and id when
            // there is no subject); `.appt`/`.task` after a `.meta` by default, and with
            // `meta=0` an appointment as `.ics` and a task as `.task`, both iCalendar.
            let task = c.kind == ItemKind::Task;
            let su = safe_name(&c.summary);
            let stem = if su.is_empty() {
                let t = if task { "task" } else { "appointment" };
                format!("{prefix}{t}-{}", c.id.0)
            } else {
                format!("{prefix}{:010}-{su}", c.id.0)
            };
            let mtime = c.start_ms.unwrap_or(0) / 1000;
            let ext = match (task, with_meta) {
                (true, _) => "task",
                (false, true) => "appt",
                (false, false) => "ics",
            };
            let name = format!("{stem}.{ext}");
            if with_meta {
                entries.push(ArchiveEntry {
                    name: format!("{name}.meta"),
                    data: calendar::cal_meta(&c, &f.path),
                    mtime,
                });
                entries.push(ArchiveEntry {
                    name,
                    data: calendar::cal_blob(&c),
                    mtime,
                });
            } else {
                entries.push(ArchiveEntry {
                    name,
                    data: c.ical.into_bytes(),
                    mtime,
                });
            }
        }
        if wants(ItemKind::Document) {
            for d in mb.documents(f.id).await.map_err(store_err)? {
                if entries.len() + 2 > MAX_EXPORT_ITEMS {
                    full = true;
                    break;
                }
                let bytes = mb.read_document(d.id, None).await.map_err(store_err)?;
                let name = format!("{prefix}{}", d.name);
                if with_meta {
                    entries.push(ArchiveEntry {
                        name: format!("{name}.meta"),
                        data: meta::document_meta(d.id.0, &f.path, &d.name, &d.content_type, 0),
                        mtime: 0,
                    });
                }
                entries.push(ArchiveEntry {
                    name,
                    data: bytes,
                    mtime: 0,
                });
            }
        }
    }
    if full {
        tracing::warn!(folder = %folder.path, limit = MAX_EXPORT_ITEMS,
            "REST archive export cut at its entry limit");
    }
    let name = if folder.path == "/" {
        "mailbox".to_string()
    } else {
        safe_name(&folder.name)
    };
    match fmt {
        "zip" => zip_of(entries),
        "tar" => {
            let t = archive::tar(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
            Ok(respond(
                t,
                "application/x-tar",
                Some(&format!("{name}.tar")),
            ))
        }
        _ => {
            let t = archive::tgz(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
            Ok(respond(
                t,
                "application/x-compressed-tar",
                Some(&format!("{name}.tgz")),
            ))
        }
    }
}
