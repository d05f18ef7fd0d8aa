//! One archive import in progress ([`Job`]): tags, then folders in path order, then each
//! entry by its `.meta` (or, without one, by its extension), each checked against the
//! caller's rights and the resolve mode. Messages, vCards and contacts carried in a
//! `.meta` are handled here; CSV, calendar and document entries in `items`.

use std::collections::{HashMap, HashSet};

use zcs_core::{Flags, ItemId};
use zcs_store::Mailbox;

use super::meta::{self, ItemMeta, kind};
use super::reader;
use super::{Guard, HIDDEN, Refusal, Resolve, Summary, Types, store_refusal};

/// One archive import in progress.
pub(super) struct Job<'a> {
    pub(super) mb: &'a Mailbox,
    pub(super) guard: &'a Guard,
    pub(super) resolve: Resolve,
    pub(super) types: Types,
    /// The target folder's path, which archive paths are read under.
    pub(super) base: String,
    /// Folders by full path (lower case), created or found.
    pub(super) folders: HashMap<String, ItemId>,
    /// Folders already emptied by `resolve=reset`.
    pub(super) reset_done: HashSet<ItemId>,
    /// Who saves the documents (the caller's name).
    pub(super) author: String,
    pub(super) sum: &'a mut Summary,
}

/// The full path of archive path `rel` under `base`.
pub(super) fn join(base: &str, rel: &str) -> String {
    let rel = rel.trim_matches('/');
    let base = base.trim_end_matches('/');
    if rel.is_empty() {
        if base.is_empty() {
            "/".into()
        } else {
            base.into()
        }
    } else {
        format!("{base}/{rel}")
    }
}

pub(super) fn dirname(name: &str) -> &str {
    name.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

impl Job<'_> {
    pub(super) async fn run(&mut self, archive: reader::ReadArchive) -> Result<(), Refusal> {
        let metas: HashMap<&str, ItemMeta> = archive
            .entries
            .iter()
            .filter_map(|e| {
                let m = meta::parse_meta(&e.data)?;
                Some((e.name.strip_suffix(".meta")?, m))
            })
            .collect();
        self.sum.damaged = archive.entries.iter().filter(|e| e.damaged).count();
        // Tags first (their colours), then folders in path order, then items.
        let mut ordered: Vec<&ItemMeta> = metas.values().collect();
        ordered.sort_by(|a, b| a.path.len().cmp(&b.path.len()).then(a.path.cmp(&b.path)));
        for m in &ordered {
            if m.kind == kind::TAG && self.types.wants("tag") {
                self.tag(m).await?;
            }
        }
        for m in &ordered {
            if m.kind == kind::FOLDER && self.types.wants("folder") {
                let view = meta::view_name(m.view);
                // The roots and Zimbra's hidden system folders (Tags, Conversations,
                // Comments) are not folders a user imports into.
                if m.path.trim_matches('/').is_empty() || (m.id < 256 && HIDDEN.contains(&m.id)) {
                    self.sum.skipped += 1;
                    continue;
                }
                let id = self.folder(&m.path, view).await?;
                if let Some(c) = m.color.and_then(|c| u8::try_from(c).ok())
                    && c > 0
                    && c <= zcs_store::FolderColor::MAX_INDEX
                    && self.guard.owner
                {
                    let color = zcs_store::FolderColor {
                        color: c,
                        rgb: None,
                    };
                    let _ = self.mb.set_folder_color(id, color).await;
                }
            }
        }
        for e in &archive.entries {
            if e.name.ends_with(".meta") {
                let Some(m) = e.name.strip_suffix(".meta").and_then(|n| metas.get(n)) else {
                    continue;
                };
                // A contact's meta carries its fields when no .vcf follows it.
                if m.kind == kind::CONTACT
                    && !metas.contains_key(format!("{}.vcf", e.name).as_str())
                {
                    let stem = e.name.strip_suffix(".meta").unwrap_or("");
                    let has_data = archive.entries.iter().any(|x| x.name == stem);
                    if !has_data && self.types.wants("contact") && !m.fields.is_empty() {
                        let folder = self.folder(&folder_of(m, stem), Some("contact")).await?;
                        self.contact(folder, m.fields.clone()).await?;
                    }
                }
                // An appointment's or task's meta without its blob: rebuilt from the
                // invites in its metadata.
                if m.kind == kind::APPOINTMENT || m.kind == kind::TASK {
                    let stem = e.name.strip_suffix(".meta").unwrap_or("");
                    if !archive.entries.iter().any(|x| x.name == stem) {
                        let cals: Vec<String> = super::calendar::calendar_from_meta(&e.data)
                            .into_iter()
                            .collect();
                        let dir = folder_of(m, stem);
                        self.calendar_texts(&cals, &dir, Some(m.kind)).await?;
                    }
                }
                continue;
            }
            let m = metas.get(e.name.as_str());
            let lower = e.name.to_ascii_lowercase();
            let is_msg = m
                .map(|m| m.kind == kind::MESSAGE)
                .unwrap_or(lower.ends_with(".eml"));
            if is_msg {
                if !self.types.wants("message") {
                    self.sum.skipped += 1;
                    continue;
                }
                let path = m
                    .map(|m| folder_of(m, &e.name))
                    .unwrap_or_else(|| dirname(&e.name).into());
                let folder = self.folder(&path, None).await?;
                let date = m
                    .map(|m| m.date)
                    .filter(|d| *d > 0)
                    .unwrap_or(e.mtime)
                    .saturating_mul(1000);
                let date = if date > 0 {
                    date
                } else {
                    chrono::Utc::now().timestamp_millis()
                };
                self.message(folder, &e.data, m, date).await?;
            } else if m
                .map(|m| m.kind == kind::CONTACT)
                .unwrap_or(lower.ends_with(".vcf"))
            {
                if !self.types.wants("contact") {
                    self.sum.skipped += 1;
                    continue;
                }
                let path = m
                    .map(|m| folder_of(m, &e.name))
                    .unwrap_or_else(|| dirname(&e.name).into());
                let folder = self.folder(&path, Some("contact")).await?;
                self.reset(folder).await?;
                // Our exports put the exact fields in the `.meta`: read those (with the
                // duplicate check); a bare vCard is imported as it is.
                if let Some(m) = m.filter(|m| !m.fields.is_empty()) {
                    self.contact(folder, m.fields.clone()).await?;
                    continue;
                }
                let text = String::from_utf8_lossy(&e.data);
                let (made, _) = self
                    .mb
                    .import_vcards(folder, &text)
                    .await
                    .map_err(store_refusal)?;
                self.sum.contacts += made.len();
            } else if let Some(m) = m {
                if m.kind == kind::DOCUMENT {
                    self.document_entry(e, Some(m)).await?;
                } else if m.kind == kind::APPOINTMENT || m.kind == kind::TASK {
                    // Zimbra's `.appt`/`.task`: the invites' iCalendar in the blob, else
                    // the invites of the metadata.
                    let mut cals = super::calendar::calendars_in(&e.data);
                    if cals.is_empty() {
                        let meta_entry = format!("{}.meta", e.name);
                        cals = archive
                            .entries
                            .iter()
                            .find(|x| x.name == meta_entry)
                            .and_then(|x| super::calendar::calendar_from_meta(&x.data))
                            .into_iter()
                            .collect();
                    }
                    let dir = folder_of(m, &e.name);
                    self.calendar_texts(&cals, &dir, Some(m.kind)).await?;
                } else {
                    self.sum.skipped += 1;
                }
            } else if lower.ends_with(".appt") || lower.ends_with(".task") {
                // Zimbra's `meta=0` form of a task (and an appointment's, by the same
                // reading): iCalendar text under the item's name.
                let cals = super::calendar::calendars_in(&e.data);
                self.calendar_texts(&cals, dirname(&e.name), None).await?;
            } else if lower.ends_with(".ics") {
                self.calendar_entry(e).await?;
            } else if lower.ends_with(".csv") {
                self.csv_entry(e).await?;
            } else {
                self.document_entry(e, None).await?;
            }
        }
        Ok(())
    }

    async fn tag(&mut self, m: &ItemMeta) -> Result<(), Refusal> {
        let name = if m.name.is_empty() {
            m.path.rsplit('/').next().unwrap_or("").to_string()
        } else {
            m.name.clone()
        };
        if name.is_empty() || !self.guard.owner {
            return Ok(());
        }
        if self
            .mb
            .tag_by_name(&name)
            .await
            .map_err(store_refusal)?
            .is_some()
        {
            self.sum.existing += 1;
            return Ok(());
        }
        let color = m.color.and_then(|c| i32::try_from(c).ok()).unwrap_or(0);
        self.mb
            .create_tag(&name, color)
            .await
            .map_err(store_refusal)?;
        self.sum.tags += 1;
        Ok(())
    }

    /// The folder at archive path `rel` (under the target), created with `view` (for the
    /// last step) when missing.
    pub(super) async fn folder(
        &mut self,
        rel: &str,
        view: Option<&str>,
    ) -> Result<ItemId, Refusal> {
        let full = join(&self.base, rel);
        if let Some(id) = self.folders.get(&full.to_lowercase()) {
            return Ok(*id);
        }
        let mut at = String::new();
        let mut parent = ItemId(1);
        let steps: Vec<&str> = full.split('/').filter(|s| !s.is_empty()).collect();
        for (i, step) in steps.iter().enumerate() {
            at = format!("{at}/{step}");
            let found = self.mb.folder_by_path(&at).await.map_err(store_refusal)?;
            parent = match found {
                Some(f) => f.id,
                None => {
                    self.guard.check(self.mb, parent, Resolve::Skip).await?;
                    let v = if i + 1 == steps.len() { view } else { None };
                    let made = self
                        .mb
                        .create_folder_with_view(parent, step, v)
                        .await
                        .map_err(store_refusal)?;
                    self.sum.folders += 1;
                    made.id
                }
            };
        }
        self.folders.insert(full.to_lowercase(), parent);
        Ok(parent)
    }

    /// Empties `folder` once for `resolve=reset`; a no-op otherwise.
    pub(super) async fn reset(&mut self, folder: ItemId) -> Result<(), Refusal> {
        if self.resolve != Resolve::Reset || !self.reset_done.insert(folder) {
            return Ok(());
        }
        self.guard.check(self.mb, folder, Resolve::Reset).await?;
        self.mb.empty_folder(folder).await.map_err(store_refusal)?;
        Ok(())
    }

    pub(super) async fn message(
        &mut self,
        folder: ItemId,
        raw: &[u8],
        m: Option<&ItemMeta>,
        date_ms: i64,
    ) -> Result<(), Refusal> {
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let mut flags = m.map(|m| Flags(m.flags)).unwrap_or_default();
        if let Some(m) = m {
            flags = flags.with(Flags::from_soap(&m.flag_str).0, true);
            flags = flags.with(Flags::UNREAD, m.unread);
        }
        let tags: Vec<String> = m.map(|m| m.tags.clone()).unwrap_or_default();
        let digest = zcs_store::blob_digest(raw);
        let existing: Vec<ItemId> = self
            .mb
            .messages(folder)
            .await
            .map_err(store_refusal)?
            .into_iter()
            .filter(|x| x.blob_digest == digest)
            .map(|x| x.id)
            .collect();
        if !existing.is_empty() {
            match self.resolve {
                Resolve::Skip | Resolve::Reset => {
                    self.sum.existing += 1;
                    return Ok(());
                }
                Resolve::Modify => {
                    self.sum.existing += 1;
                    if m.is_none() {
                        return Ok(());
                    }
                    for id in &existing {
                        let cur = self.mb.message(*id).await.map_err(store_refusal)?;
                        let on = flags.0 & !cur.flags.0;
                        let off = cur.flags.0 & !flags.0;
                        for (mask, set) in [(on, true), (off, false)] {
                            if mask != 0 {
                                self.mb
                                    .set_flags(&[*id], mask, set)
                                    .await
                                    .map_err(store_refusal)?;
                            }
                        }
                    }
                    if !tags.is_empty() {
                        self.mb
                            .tag_items_by_name(&existing, &tags, true, true)
                            .await
                            .map_err(store_refusal)?;
                    }
                    return Ok(());
                }
                Resolve::Replace => {
                    self.mb
                        .delete_items(&existing)
                        .await
                        .map_err(store_refusal)?;
                }
            }
        }
        self.mb
            .append_tagged(folder, raw, flags, &tags, date_ms)
            .await
            .map_err(store_refusal)?;
        self.sum.messages += 1;
        Ok(())
    }

    pub(super) async fn contact(
        &mut self,
        folder: ItemId,
        fields: Vec<(String, String)>,
    ) -> Result<(), Refusal> {
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let mut want = fields.clone();
        want.sort();
        let same: Vec<ItemId> = self
            .mb
            .contacts(folder)
            .await
            .map_err(store_refusal)?
            .into_iter()
            .filter(|c| {
                want.iter()
                    .all(|(k, v)| c.fields.iter().any(|(ck, cv)| ck == k && cv == v))
            })
            .map(|c| c.id)
            .collect();
        if !same.is_empty() {
            match self.resolve {
                Resolve::Replace => {
                    self.mb.delete_items(&same).await.map_err(store_refusal)?;
                }
                _ => {
                    self.sum.existing += 1;
                    return Ok(());
                }
            }
        }
        self.mb
            .create_contact(folder, fields, Vec::new())
            .await
            .map_err(store_refusal)?;
        self.sum.contacts += 1;
        Ok(())
    }
}

/// The archive path of the folder an item is in: its meta's `Path`, else its directory.
pub(super) fn folder_of(m: &ItemMeta, entry: &str) -> String {
    let p = m.path.trim_matches('/');
    if p.is_empty() && !entry.contains('/') {
        return String::new();
    }
    if m.path.is_empty() {
        dirname(entry).to_string()
    } else {
        p.to_string()
    }
}
