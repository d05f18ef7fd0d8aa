//! Document metadata of attachments, for `author:`, `title:`, `keywords:`, `company:`
//! and `metadata:`: the document information dictionary of a PDF (ISO 32000-1 §14.3.3:
//! `Author`, `Title`, `Keywords`, and the `Company` key Office writes), the package
//! properties of Office Open XML (`docProps/core.xml`: `dc:creator`, `dc:title`,
//! `cp:keywords`; `docProps/app.xml`: `Company`) and the `meta.xml` of OpenDocument
//! (`meta:initial-creator`, `dc:creator`, `dc:title`, `meta:keyword`). Each value is
//! capped at [`MAX_VALUE_BYTES`]; nothing here is logged.

use crate::backend::DocMetadata;

/// Longest value kept for one property of one document.
pub const MAX_VALUE_BYTES: usize = 4096;

/// The zip entries of an office package that hold its metadata.
pub(crate) const OFFICE_METADATA_PARTS: [&str; 3] =
    ["docProps/core.xml", "docProps/app.xml", "meta.xml"];

/// Which property an element (by local name, any case) of a metadata part holds.
fn property(local: &str) -> Option<fn(&mut DocMetadata) -> &mut String> {
    Some(match local.to_ascii_lowercase().as_str() {
        "creator" | "initial-creator" => |m| &mut m.author,
        "title" => |m| &mut m.title,
        "keywords" | "keyword" => |m| &mut m.keywords,
        "company" => |m| &mut m.company,
        _ => return None,
    })
}

/// Adds `value` (trimmed, capped) to the property `slot`, after a line break when it
/// holds one already; the same value twice is kept once (`dc:creator` and
/// `meta:initial-creator` often agree).
fn add(slot: &mut String, value: &str) {
    let value = value.trim();
    if value.is_empty() || slot.lines().any(|l| l == value) {
        return;
    }
    let mut cut = value.len().min(MAX_VALUE_BYTES);
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    if !slot.is_empty() {
        slot.push('\n');
    }
    slot.push_str(&value[..cut]);
}

/// Reads the properties of one metadata part of an office package into `meta`.
/// Malformed XML ends the reading where it breaks.
pub(crate) fn office_metadata(xml: &[u8], meta: &mut DocMetadata) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut current: Option<fn(&mut DocMetadata) -> &mut String> = None;
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e)) => {
                current = property(e.local_name().as_ref());
                text.clear();
            }
            Ok(Event::End(_)) => {
                if let Some(slot) = current.take() {
                    add(slot(meta), &text);
                }
                text.clear();
            }
            Ok(Event::Text(t)) if current.is_some() && text.len() < MAX_VALUE_BYTES => {
                text.push_str(&t.xml10_content());
            }
            Ok(Event::CData(t)) if current.is_some() && text.len() < MAX_VALUE_BYTES => {
                text.push_str(&t);
            }
            Ok(Event::GeneralRef(r)) if current.is_some() => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    match r.as_ref() {
                        "amp" => text.push('&'),
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "quot" => text.push('"'),
                        "apos" => text.push('\''),
                        _ => {}
                    }
                }
            }
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// The properties of a PDF's document information dictionary (the trailer's `Info`).
/// A file without one, or with values that are not text strings, gives what it has.
pub(crate) fn pdf_metadata(doc: &lopdf::Document) -> DocMetadata {
    let mut meta = DocMetadata::default();
    let Ok(info) = doc
        .trailer
        .get_deref(b"Info", doc)
        .and_then(lopdf::Object::as_dict)
    else {
        return meta;
    };
    for (key, slot) in [
        (&b"Author"[..], &mut meta.author),
        (b"Title", &mut meta.title),
        (b"Keywords", &mut meta.keywords),
        (b"Company", &mut meta.company),
    ] {
        if let Ok(value) = info.get_deref(key, doc).and_then(lopdf::decode_text_string) {
            add(slot, &value);
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ooxml_core_and_app_properties_are_read() {
        let mut meta = DocMetadata::default();
        office_metadata(
            br#"<cp:coreProperties xmlns:cp="x" xmlns:dc="y">
                <dc:title>Budget &amp; Plan</dc:title><dc:subject>ignored</dc:subject>
                <dc:creator>Jo Brown</dc:creator><cp:keywords>zebra, okapi</cp:keywords>
                <cp:lastModifiedBy>Someone Else</cp:lastModifiedBy>
            </cp:coreProperties>"#,
            &mut meta,
        );
        office_metadata(
            b"<Properties><Company>Acme Widgets</Company><Pages>3</Pages></Properties>",
            &mut meta,
        );
        assert_eq!(meta.title, "Budget & Plan");
        assert_eq!(meta.author, "Jo Brown");
        assert_eq!(meta.keywords, "zebra, okapi");
        assert_eq!(meta.company, "Acme Widgets");
    }

    #[test]
    fn odf_meta_is_read_and_repeats_kept_once() {
        let mut meta = DocMetadata::default();
        office_metadata(
            br#"<office:document-meta><office:meta>
                <meta:initial-creator>Ana Lima</meta:initial-creator>
                <dc:creator>Ana Lima</dc:creator><dc:title>Relat&#243;rio</dc:title>
                <meta:keyword>tapir</meta:keyword><meta:keyword>quokka</meta:keyword>
            </office:meta></office:document-meta>"#,
            &mut meta,
        );
        assert_eq!(meta.author, "Ana Lima");
        assert_eq!(meta.title, "Relatório");
        assert_eq!(meta.keywords, "tapir\nquokka");
        assert!(meta.company.is_empty());
    }

    #[test]
    fn broken_or_huge_values_are_bounded() {
        let mut meta = DocMetadata::default();
        office_metadata(b"<a><dc:title>half", &mut meta);
        office_metadata(b"\xff\xfe<<<>>>", &mut meta);
        let long = format!("<dc:title>{}</dc:title>", "é".repeat(5000));
        office_metadata(long.as_bytes(), &mut meta);
        assert!(meta.title.len() <= MAX_VALUE_BYTES, "{}", meta.title.len());
        assert!(meta.title.is_char_boundary(meta.title.len()));
    }

    #[test]
    fn pdf_information_dictionary_is_read() {
        use lopdf::{Document, Object, dictionary};
        let mut doc = Document::with_version("1.5");
        let info = doc.add_object(dictionary! {
            "Author" => Object::string_literal("Wietse Venema"),
            "Title" => lopdf::text_string("Über Postfix"),
            "Keywords" => Object::string_literal("mail, smtp"),
            "Company" => Object::string_literal("IBM"),
            "Producer" => Object::string_literal("not kept"),
        });
        doc.trailer.set("Info", info);
        let meta = pdf_metadata(&doc);
        assert_eq!(meta.author, "Wietse Venema");
        assert_eq!(meta.title, "Über Postfix");
        assert_eq!(meta.keywords, "mail, smtp");
        assert_eq!(meta.company, "IBM");
        assert!(pdf_metadata(&Document::with_version("1.5")).is_empty());
    }
}
