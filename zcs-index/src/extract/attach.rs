//! Text of binary attachments: PDF (through lopdf) and the zip-packaged office formats,
//! Office Open XML (`.docx`, `.xlsx`, `.pptx`) and OpenDocument (`.odt`, `.ods`, `.odp`),
//! whose XML parts are read with quick-xml. Zimbra converts such files with external
//! tools; here the text is read in process, under hard limits so one hostile file
//! cannot stall or swamp the indexer:
//!
//! - files over [`MAX_ATTACHMENT_BYTES`] are not opened;
//! - decompression is capped ([`MAX_INFLATED_BYTES`] per file, lopdf's own limit per
//!   PDF page) and the text kept is capped at [`MAX_TEXT_BYTES`];
//! - each file is read on its own thread and abandoned after [`EXTRACT_TIMEOUT`]; a
//!   panic in a parser is caught; while [`MAX_RUNNING`] readers are still running
//!   (abandoned ones included) further files are skipped rather than queued.
//!
//! Their document metadata (author, title, keywords, company) is read too
//! (`metadata.rs`).
//!
//! A file that fails any of these contributes no text (its name and type are still
//! indexed by the caller), and a `tracing` warning says why, never what it contained.

use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::metadata::{OFFICE_METADATA_PARTS, office_metadata, pdf_metadata};
use crate::backend::DocMetadata;

/// Larger attachments are not read for text.
pub const MAX_ATTACHMENT_BYTES: usize = 32 << 20;
/// Most bytes inflated out of one file (all its zip entries or PDF pages together).
pub const MAX_INFLATED_BYTES: usize = 64 << 20;
/// Most text kept from one attachment.
pub const MAX_TEXT_BYTES: usize = 1 << 20;
/// How long one attachment may take to read.
pub const EXTRACT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most reader threads alive at once (including ones abandoned at their timeout).
pub const MAX_RUNNING: usize = 4;
/// Zip archives with more entries than this are not read.
const MAX_ZIP_ENTRIES: usize = 10_000;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The formats read for text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    /// Portable Document Format.
    Pdf,
    /// A zip package: Office Open XML or OpenDocument (told apart by its entries).
    OfficeZip,
}

/// Which readable format an attachment is, from its MIME type, its file name's
/// extension and its first bytes; `None` for everything else.
pub fn doc_kind(mime: &str, filename: Option<&str>, data: &[u8]) -> Option<DocKind> {
    let mime = mime.to_ascii_lowercase();
    let ext = filename
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if data.starts_with(b"%PDF-") || mime == "application/pdf" || ext == "pdf" {
        return data
            .windows(5)
            .take(1024)
            .any(|w| w == b"%PDF-")
            .then_some(DocKind::Pdf);
    }
    let office_mime = mime.starts_with("application/vnd.openxmlformats-officedocument.")
        || mime.starts_with("application/vnd.oasis.opendocument.")
        || mime.starts_with("application/vnd.ms-word.")
        || mime.starts_with("application/vnd.ms-excel.")
        || mime.starts_with("application/vnd.ms-powerpoint.");
    let office_ext = matches!(
        ext.as_str(),
        "docx"
            | "docm"
            | "dotx"
            | "xlsx"
            | "xlsm"
            | "pptx"
            | "pptm"
            | "ppsx"
            | "odt"
            | "ods"
            | "odp"
            | "odg"
            | "ott"
    );
    ((office_mime || office_ext) && data.starts_with(b"PK\x03\x04")).then_some(DocKind::OfficeZip)
}

/// The MIME type a file name's extension stands for, for the readable formats; lets
/// `type:pdf` find a PDF sent as `application/octet-stream`.
pub fn type_from_extension(filename: &str) -> Option<&'static str> {
    let (_, ext) = filename.rsplit_once('.')?;
    Some(match ext.trim().to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        _ => return None,
    })
}

/// The text of an attachment when it is a PDF, OOXML or OpenDocument file, within the
/// module's limits; `None` when it is not such a file, is too large, is damaged, or
/// took too long. Blocks the calling thread up to [`EXTRACT_TIMEOUT`].
pub fn attachment_text(mime: &str, filename: Option<&str>, data: &[u8]) -> Option<String> {
    attachment_content(mime, filename, data).map(|(text, _)| text)
}

/// As [`attachment_text`], with the document's metadata (author, title, keywords,
/// company; see `metadata.rs`), read under the same limits.
pub fn attachment_content(
    mime: &str,
    filename: Option<&str>,
    data: &[u8],
) -> Option<(String, DocMetadata)> {
    let kind = doc_kind(mime, filename, data)?;
    if data.len() > MAX_ATTACHMENT_BYTES {
        tracing::warn!(bytes = data.len(), "attachment too large to read for text");
        return None;
    }
    let data = data.to_vec();
    run_bounded(
        kind,
        move || match kind {
            DocKind::Pdf => pdf_text(&data),
            DocKind::OfficeZip => office_text(&data),
        },
        EXTRACT_TIMEOUT,
    )
}

/// Runs `read` on its own thread; gives up after `timeout`.
fn run_bounded<T, F>(kind: DocKind, read: F, timeout: Duration) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, String> + Send + 'static,
{
    if RUNNING.fetch_add(1, Ordering::SeqCst) >= MAX_RUNNING {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("attachment readers busy; attachment text skipped");
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("zcs-attach-text".into())
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(out);
        });
    if spawned.is_err() {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(Ok(value))) => Some(value),
        Ok(Ok(Err(why))) => {
            tracing::warn!(kind = ?kind, reason = %why, "attachment text not read");
            None
        }
        Ok(Err(_)) => {
            tracing::warn!(kind = ?kind, "attachment reader panicked; text skipped");
            None
        }
        Err(_) => {
            tracing::warn!(kind = ?kind, "attachment reader timed out; text skipped");
            None
        }
    }
}

/// Appends `s` to `out` while `out` is under [`MAX_TEXT_BYTES`]; false once full.
fn push_capped(out: &mut String, s: &str) -> bool {
    let room = MAX_TEXT_BYTES.saturating_sub(out.len());
    if room == 0 {
        return false;
    }
    let mut cut = s.len().min(room);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str(&s[..cut]);
    out.len() < MAX_TEXT_BYTES
}

/// The text of every page, in order, and the document information. Encrypted files
/// are not read.
fn pdf_text(data: &[u8]) -> Result<(String, DocMetadata), String> {
    let doc = lopdf::Document::load_mem(data).map_err(|e| format!("pdf: {e}"))?;
    if doc.is_encrypted() {
        return Err("pdf: encrypted".into());
    }
    let meta = pdf_metadata(&doc);
    let mut out = String::new();
    let mut inflated = 0usize;
    for page_id in doc.get_pages().values() {
        let limit = MAX_INFLATED_BYTES.saturating_sub(inflated);
        if limit == 0 {
            break;
        }
        // A damaged page is skipped; the others still count.
        let Ok(text) = super::pdf_text::page_text(&doc, *page_id, limit) else {
            continue;
        };
        inflated += text.len();
        if !push_capped(&mut out, &text) || !push_capped(&mut out, "\n") {
            break;
        }
    }
    Ok((out, meta))
}

/// The XML parts of an office package that hold its text, in reading order.
fn text_parts(names: &[String]) -> Vec<String> {
    let numbered = |prefix: &str| {
        let mut v: Vec<(u32, &String)> = names
            .iter()
            .filter_map(|n| {
                let rest = n.strip_prefix(prefix)?.strip_suffix(".xml")?;
                rest.parse::<u32>().ok().map(|k| (k, n))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
    };
    let mut out: Vec<String> = Vec::new();
    let fixed = [
        "word/document.xml",
        "word/footnotes.xml",
        "word/endnotes.xml",
        "word/comments.xml",
        "xl/sharedStrings.xml",
        "content.xml",
        "docProps/core.xml",
        "meta.xml",
    ];
    for f in fixed {
        if names.iter().any(|n| n == f) {
            out.push(f.to_string());
        }
    }
    out.extend(numbered("word/header"));
    out.extend(numbered("word/footer"));
    out.extend(numbered("xl/worksheets/sheet"));
    out.extend(numbered("ppt/slides/slide"));
    out.extend(numbered("ppt/notesSlides/notesSlide"));
    out
}

/// The text and the metadata of a docx/xlsx/pptx or odt/ods/odp file.
fn office_text(data: &[u8]) -> Result<(String, DocMetadata), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| format!("zip: {e}"))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(format!("zip: {} entries", zip.len()));
    }
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        if let Ok(f) = zip.by_index(i) {
            names.push(f.name().to_string());
        }
    }
    let mut out = String::new();
    let mut inflated = 0usize;
    for name in text_parts(&names) {
        let room = MAX_INFLATED_BYTES.saturating_sub(inflated);
        if room == 0 {
            break;
        }
        let Ok(entry) = zip.by_name(&name) else {
            continue;
        };
        let mut xml = Vec::new();
        // Never trust the declared size: read at most `room` bytes.
        if entry.take(room as u64).read_to_end(&mut xml).is_err() {
            continue;
        }
        inflated += xml.len();
        // xlsx sheets hold numbers and shared-string indexes; only inline strings are text.
        let inline_only = name.starts_with("xl/worksheets/");
        if !push_capped(&mut out, &xml_text(&xml, inline_only)) || !push_capped(&mut out, "\n") {
            break;
        }
    }
    let mut meta = DocMetadata::default();
    for name in OFFICE_METADATA_PARTS {
        let room = MAX_INFLATED_BYTES.saturating_sub(inflated);
        let Ok(entry) = zip.by_name(name) else {
            continue;
        };
        let mut xml = Vec::new();
        if entry.take(room as u64).read_to_end(&mut xml).is_ok() {
            inflated += xml.len();
            office_metadata(&xml, &mut meta);
        }
    }
    Ok((out, meta))
}

/// Element local names after which a word ends (paragraphs, cells, breaks, tabs).
fn breaks_word(local: &str) -> bool {
    matches!(
        local,
        "p" | "h"
            | "br"
            | "tab"
            | "s"
            | "cr"
            | "si"
            | "c"
            | "tc"
            | "row"
            | "li"
            | "table-cell"
            | "line-break"
            | "title"
            | "subject"
            | "creator"
            | "keywords"
            | "description"
    )
}

/// The character data of an XML document, with a space wherever a word must end.
/// With `inline_only`, only text inside `<is>` (xlsx inline strings) is kept.
fn xml_text(xml: &[u8], inline_only: bool) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = String::new();
    let mut buf = Vec::new();
    let mut inline_depth = 0usize;
    loop {
        let keep = !inline_only || inline_depth > 0;
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e)) => {
                if e.local_name().as_ref() == "is" {
                    inline_depth += 1;
                }
            }
            Ok(Event::End(e)) => {
                let local = e.local_name();
                if local.as_ref() == "is" {
                    inline_depth = inline_depth.saturating_sub(1);
                }
                if breaks_word(local.as_ref()) && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            Ok(Event::Empty(e)) => {
                if breaks_word(e.local_name().as_ref()) && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            Ok(Event::Text(t)) if keep => out.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) if keep => out.push_str(&t),
            Ok(Event::GeneralRef(r)) if keep => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match r.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    out.push(c);
                }
            }
            Ok(_) => {}
        }
        buf.clear();
        if out.len() >= MAX_TEXT_BYTES {
            break;
        }
    }
    out
}

#[cfg(test)]
#[path = "attach_tests.rs"]
pub(crate) mod tests;
