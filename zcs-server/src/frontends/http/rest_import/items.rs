//! The REST import of items other than messages and vCards: contacts from CSV
//! (`fmt=csv`, or a `.csv` entry of an archive), appointments and tasks from iCalendar
//! (`.ics` entries of an archive, one item per UID) and documents (an entry whose `.meta`
//! says document, or, without a `.meta`, any file that is not mail, contacts or a
//! calendar, as Zimbra's ArchiveFormatter reads a plain archive: it goes to Briefcase
//! when it sits at the top of the archive).
//!
//! Resolve modes: a contact is "already there" when a contact of the folder has exactly
//! its fields, a calendar item when the mailbox has its UID, a document when the folder
//! has its name. `skip` keeps the existing one; `modify` saves a calendar item over it
//! and adds a document's bytes as a new revision; `replace` deletes it and imports anew;
//! `reset` empties the folder first. An entry the store refuses (a file posted to a folder
//! of another view, an unreadable calendar) is counted as skipped, as Zimbra lists it
//! among the import's errors and goes on.

use std::collections::HashMap;

use zcs_core::{ItemId, folder};

use super::super::rest_csv;
use super::meta::ItemMeta;
use super::reader::ReadEntry;
use super::{Job, Refusal, Resolve, dirname, store_refusal};

/// A content type for a document from its name's extension.
fn content_type_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

/// CSV text: UTF-8 (a byte-order mark dropped), UTF-16 with its byte-order mark, and
/// anything else read as Windows-1252's Latin-1 subset (each byte one character), which
/// is what older Outlook exports are.
pub(super) fn decode_text(body: &[u8]) -> String {
    if let Some(rest) = body.strip_prefix(&[0xff, 0xfe]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = body.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    match std::str::from_utf8(body) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_string(),
        Err(_) => body.iter().map(|b| char::from(*b)).collect(),
    }
}

/// Whether a VCALENDAR text holds a task (VTODO) rather than an event.
fn is_task(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_end().eq_ignore_ascii_case("BEGIN:VTODO"))
}

impl Job<'_> {
    /// Contacts read from CSV into `folder`, with the resolve mode; tags named in the
    /// CSV are set when the caller owns the mailbox (a grantee cannot make tags there).
    pub(super) async fn csv_contacts(
        &mut self,
        folder: ItemId,
        cards: Vec<rest_csv::CsvContact>,
    ) -> Result<(), Refusal> {
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let key = |f: &[(String, String)]| {
            let mut k = f.to_vec();
            k.sort();
            k
        };
        let mut existing: HashMap<Vec<(String, String)>, Vec<ItemId>> = HashMap::new();
        for c in self.mb.contacts(folder).await.map_err(store_refusal)? {
            existing.entry(key(&c.fields)).or_default().push(c.id);
        }
        let mut create = Vec::new();
        let mut tags = Vec::new();
        let mut gone = Vec::new();
        for card in cards {
            let same = existing
                .get(&key(&card.fields))
                .cloned()
                .unwrap_or_default();
            if !same.is_empty() {
                if self.resolve == Resolve::Replace {
                    gone.extend(same);
                } else {
                    self.sum.existing += 1;
                    continue;
                }
            }
            tags.push(card.tags);
            create.push((card.fields, Vec::new()));
        }
        if !gone.is_empty() {
            self.mb.delete_items(&gone).await.map_err(store_refusal)?;
        }
        if create.is_empty() {
            return Ok(());
        }
        let made = self
            .mb
            .create_contacts(folder, create)
            .await
            .map_err(store_refusal)?;
        self.sum.contacts += made.len();
        if self.guard.owner {
            for (c, t) in made.iter().zip(tags) {
                if !t.is_empty() {
                    self.mb
                        .tag_items_by_name(&[c.id], &t, true, true)
                        .await
                        .map_err(store_refusal)?;
                }
            }
        }
        Ok(())
    }

    /// A `.csv` entry of an archive: its contacts into the folder of its directory
    /// (Contacts at the top of the archive).
    pub(super) async fn csv_entry(&mut self, e: &ReadEntry) -> Result<(), Refusal> {
        if !self.types.wants("contact") {
            self.sum.skipped += 1;
            return Ok(());
        }
        let Ok(doc) = rest_csv::parse(&decode_text(&e.data)) else {
            self.sum.skipped += 1;
            return Ok(());
        };
        let cards = rest_csv::contacts(&doc, None);
        let folder = self.item_folder(dirname(&e.name), "contact").await?;
        self.csv_contacts(folder, cards).await
    }

    /// The folder an item without a `.meta` goes to: the one at archive directory `dir`
    /// (created with `view`), or, at the top of an archive posted to the root, the
    /// system folder of that view (Zimbra's defaults).
    async fn item_folder(&mut self, dir: &str, view: &str) -> Result<ItemId, Refusal> {
        let at_root = dir.trim_matches('/').is_empty() && self.base.trim_matches('/').is_empty();
        if at_root {
            let id = match view {
                "contact" => folder::CONTACTS,
                "appointment" => folder::CALENDAR,
                "task" => folder::TASKS,
                _ => folder::BRIEFCASE,
            };
            return Ok(ItemId(id));
        }
        self.folder(dir, Some(view)).await
    }

    /// An `.ics` entry: each VEVENT or VTODO (by UID) saved into the folder of its
    /// directory, a task folder when it holds tasks.
    pub(super) async fn calendar_entry(&mut self, e: &ReadEntry) -> Result<(), Refusal> {
        let text = String::from_utf8_lossy(&e.data).into_owned();
        self.calendar_texts(&[text], dirname(&e.name), None).await
    }

    /// The VCALENDARs `cals` of one archive item: each VEVENT or VTODO (by UID) saved
    /// into the folder at archive directory `dir`, created as a task folder when they
    /// hold tasks (or `kind`, Zimbra's item type from a `.meta`, says so).
    pub(super) async fn calendar_texts(
        &mut self,
        cals: &[String],
        dir: &str,
        kind: Option<i64>,
    ) -> Result<(), Refusal> {
        let task = match kind {
            Some(k) => k == super::meta::kind::TASK,
            None => cals.iter().any(|t| is_task(t)),
        };
        let view = if task { "task" } else { "appointment" };
        if !self.types.wants(view) {
            self.sum.skipped += 1;
            return Ok(());
        }
        let cals: Vec<(String, String)> = cals
            .iter()
            .flat_map(|t| super::ics::split_by_uid(t))
            .collect();
        if cals.is_empty() {
            self.sum.skipped += 1;
            return Ok(());
        }
        let folder = self.item_folder(dir, view).await?;
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        for (uid, cal) in cals {
            let there = self.mb.cal_item_by_uid(&uid).await.map_err(store_refusal)?;
            if let Some(old) = &there
                && !self.guard.sees(self.mb, old.folder).await
            {
                // Another folder's item the grantee may not see (Guard::sees).
                self.sum.skipped += 1;
                continue;
            }
            if let Some(old) = there {
                match self.resolve {
                    Resolve::Skip => {
                        self.sum.existing += 1;
                        continue;
                    }
                    Resolve::Replace => {
                        self.mb
                            .delete_items(&[old.id])
                            .await
                            .map_err(store_refusal)?;
                    }
                    Resolve::Modify | Resolve::Reset => self.sum.existing += 1,
                }
            }
            match self.mb.save_cal_item(folder, &cal).await {
                Ok(_) => self.sum.appointments += 1,
                Err(err) => {
                    tracing::debug!(error = %err, "REST import: calendar item not saved");
                    self.sum.skipped += 1;
                }
            }
        }
        Ok(())
    }

    /// A document: named by its `.meta` (else by the entry's file name), into the
    /// folder of its `.meta` path or directory (Briefcase at the top of the archive).
    pub(super) async fn document_entry(
        &mut self,
        e: &ReadEntry,
        m: Option<&ItemMeta>,
    ) -> Result<(), Refusal> {
        if !self.types.wants("document") {
            self.sum.skipped += 1;
            return Ok(());
        }
        let file = e.name.rsplit('/').next().unwrap_or(&e.name);
        let name = m
            .map(|m| m.name.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(file)
            .to_string();
        if name.is_empty() {
            self.sum.skipped += 1;
            return Ok(());
        }
        let dir = m.map_or_else(
            || dirname(&e.name).to_string(),
            |m| super::folder_of(m, &e.name),
        );
        let folder = self.item_folder(&dir, "document").await?;
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let ct = m
            .map(|m| m.content_type.as_str())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| content_type_of(&name))
            .to_string();
        let old = self
            .mb
            .document_by_name(folder, &name)
            .await
            .map_err(store_refusal)?;
        if let Some(old) = old {
            match self.resolve {
                Resolve::Skip => {
                    self.sum.existing += 1;
                    return Ok(());
                }
                Resolve::Replace => {
                    self.mb
                        .delete_items(&[old.id])
                        .await
                        .map_err(store_refusal)?;
                }
                Resolve::Modify | Resolve::Reset => {
                    let cur = self
                        .mb
                        .read_document(old.id, None)
                        .await
                        .map_err(store_refusal)?;
                    self.sum.existing += 1;
                    if cur == e.data {
                        return Ok(());
                    }
                }
            }
        }
        let author = self.author.clone();
        match self
            .mb
            .save_document(folder, &name, &ct, &e.data, &author)
            .await
        {
            Ok(_) => self.sum.documents += 1,
            Err(err) => {
                tracing::debug!(error = %err, "REST import: document not saved");
                self.sum.skipped += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_decoding_and_types() {
        assert_eq!(decode_text(b"\xef\xbb\xbfa,b"), "a,b");
        assert_eq!(decode_text(b"caf\xe9"), "café");
        assert_eq!(decode_text(&[0xff, 0xfe, b'a', 0, b',', 0, b'b', 0]), "a,b");
        assert_eq!(decode_text(&[0xfe, 0xff, 0, b'a', 0]), "a");
        assert_eq!(content_type_of("Notes.TXT"), "text/plain");
        assert_eq!(content_type_of("noext"), "application/octet-stream");
        assert!(is_task("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nEND:VTODO\r\n"));
        assert!(!is_task("BEGIN:VEVENT"));
    }
}
