//! Tests of attachment text: files made here (a one-page PDF, a docx, an xlsx, a pptx
//! and an odt), the corpus PDFs when present, and hostile inputs that must neither hang
//! nor panic nor grow without bound.

use std::io::Write;
use std::time::{Duration, Instant};

use super::*;

/// The readers share one process-wide slot count; tests take turns so one test's
/// abandoned reader never makes another's skip.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A one-page PDF whose content stream shows `text` (compressed when `deflate`).
pub(crate) fn make_pdf(text: &str, deflate: bool) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let (stream, filter) = if deflate {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(content.as_bytes()).expect("deflate");
        (z.finish().expect("deflate"), "/Filter /FlateDecode ")
    } else {
        (content.into_bytes(), "")
    };
    pdf_with_stream(&stream, filter)
}

/// A one-page PDF (Helvetica as `/F1`) whose content stream is `stream`.
pub(crate) fn pdf_with_stream(stream: &[u8], filter: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        {
            let mut s = format!("<< {filter}/Length {} >>\nstream\n", stream.len()).into_bytes();
            s.extend_from_slice(stream);
            s.extend_from_slice(b"\nendstream");
            s
        },
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica \
           /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A zip package holding `entries` (name, XML text), deflated.
pub(crate) fn make_zip(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(body.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// A docx whose body is `text` split across two runs mid-word, as Word does.
pub(crate) fn make_docx(text: &str) -> Vec<u8> {
    let (a, b) = text.split_at(text.len() / 2);
    let doc = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"urn:w\"><w:body>\
         <w:p><w:r><w:t>{a}</w:t></w:r><w:r><w:t>{b}</w:t></w:r></w:p>\
         <w:p><w:r><w:t>second&amp;para</w:t></w:r></w:p></w:body></w:document>"
    );
    make_zip(&[
        ("[Content_Types].xml", "<Types/>"),
        ("word/document.xml", &doc),
    ])
}

#[test]
fn pdf_text_is_read_plain_and_deflated() {
    let _turn = serial();
    for deflate in [false, true] {
        let pdf = make_pdf("Quarterly zebrafish census", deflate);
        let text = attachment_text("application/pdf", Some("r.pdf"), &pdf).expect("text");
        assert!(text.contains("zebrafish"), "{deflate}: {text:?}");
    }
    // Found by magic even when mislabelled.
    let pdf = make_pdf("labelled wrong", false);
    assert_eq!(
        doc_kind("application/octet-stream", None, &pdf),
        Some(DocKind::Pdf)
    );
}

#[test]
fn office_text_is_read() {
    let _turn = serial();
    let text = attachment_text(
        "application/octet-stream",
        Some("a.docx"),
        &make_docx("okapi"),
    )
    .expect("docx");
    assert!(text.contains("okapi"), "{text:?}");
    assert!(text.contains("second&para"), "{text:?}");

    let xlsx = make_zip(&[
        (
            "xl/sharedStrings.xml",
            "<sst><si><t>narwhal</t></si><si><t>budget</t></si></sst>",
        ),
        (
            "xl/worksheets/sheet1.xml",
            "<worksheet><sheetData><row><c><v>12345</v></c>\
             <c t=\"inlineStr\"><is><t>axolotl</t></is></c></row></sheetData></worksheet>",
        ),
    ]);
    let text = attachment_text(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        None,
        &xlsx,
    )
    .expect("xlsx");
    assert!(
        text.contains("narwhal") && text.contains("axolotl"),
        "{text:?}"
    );
    assert!(!text.contains("12345"), "{text:?}");

    let pptx = make_zip(&[
        (
            "ppt/slides/slide2.xml",
            "<p:sld><a:p><a:t>second</a:t></a:p></p:sld>",
        ),
        (
            "ppt/slides/slide1.xml",
            "<p:sld><a:p><a:t>pangolin</a:t></a:p></p:sld>",
        ),
    ]);
    let text = attachment_text("application/zip", Some("deck.pptx"), &pptx).expect("pptx");
    assert!(text.find("pangolin") < text.find("second"), "{text:?}");

    let odt = make_zip(&[
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            "<office:document-content><office:body><office:text>\
             <text:p>quokka<text:s/>tapir</text:p></office:text></office:body>\
             </office:document-content>",
        ),
    ]);
    let text = attachment_text("application/vnd.oasis.opendocument.text", None, &odt).expect("odt");
    assert!(text.contains("quokka tapir"), "{text:?}");

    // Other zips and other types are not opened.
    assert_eq!(doc_kind("application/zip", Some("a.zip"), &odt), None);
    assert_eq!(doc_kind("image/png", Some("a.png"), b"\x89PNG"), None);
}

#[test]
fn corpus_pdfs_are_read() {
    let _turn = serial();
    let Ok(root) = std::env::var("ZCS_CORPUS") else {
        eprintln!("ZCS_CORPUS unset: corpus PDFs not read");
        return;
    };
    let path = std::path::Path::new(&root).join("zimbra-qa/attachments1/pdfaccess.pdf");
    let Ok(data) = std::fs::read(&path) else {
        eprintln!("{} missing: skipped", path.display());
        return;
    };
    let text = attachment_text("application/pdf", Some("pdfaccess.pdf"), &data);
    assert!(text.is_some_and(|t| !t.trim().is_empty()));
}

#[test]
fn hostile_files_do_not_hang_panic_or_balloon() {
    let _turn = serial();
    // A deflate bomb: 80 MB of zeros in a few dozen kilobytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..80 {
        z.write_all(&zeros).expect("deflate");
    }
    let bomb = pdf_with_stream(&z.finish().expect("deflate"), "/Filter /FlateDecode ");
    let t = Instant::now();
    let text = attachment_text("application/pdf", None, &bomb);
    assert!(text.is_none_or(|t| t.len() <= MAX_TEXT_BYTES));
    assert!(t.elapsed() < EXTRACT_TIMEOUT + Duration::from_secs(1));

    // A zip bomb entry in a docx.
    let big = "<w:t>a</w:t>".repeat(2_000_000);
    let docx = make_zip(&[("word/document.xml", &format!("<w:p>{big}</w:p>"))]);
    // Cut at the size cap, or given up at the time limit on a loaded machine (debug
    // builds parse 24 MB of XML slowly): either way bounded.
    let t = Instant::now();
    let text = attachment_text("application/octet-stream", Some("b.docx"), &docx);
    assert!(text.is_none_or(|t| t.len() <= MAX_TEXT_BYTES));
    assert!(t.elapsed() < EXTRACT_TIMEOUT + Duration::from_secs(1));

    // Damaged files: truncated, garbage after the magic, a page tree that loops.
    let good = make_pdf("fine", false);
    for bad in [
        good[..good.len() / 2].to_vec(),
        b"%PDF-1.7\n\x00\xff garbage (((( << /Type".to_vec(),
        String::from_utf8_lossy(&good)
            .replace("/Kids [3 0 R]", "/Kids [2 0 R]")
            .into_bytes(),
        b"PK\x03\x04 not really a zip".to_vec(),
    ] {
        let t = Instant::now();
        let _ = attachment_text("application/pdf", Some("x.docx"), &bad);
        assert!(t.elapsed() < EXTRACT_TIMEOUT + Duration::from_secs(1));
    }

    // Too large: not opened at all.
    let mut huge = b"%PDF-1.4\n".to_vec();
    huge.resize(MAX_ATTACHMENT_BYTES + 1, b' ');
    assert_eq!(attachment_text("application/pdf", None, &huge), None);
}

#[test]
fn a_reader_that_hangs_is_abandoned() {
    let _turn = serial();
    let t = Instant::now();
    let out = run_bounded(
        DocKind::Pdf,
        || {
            std::thread::sleep(Duration::from_millis(800));
            Ok::<String, String>("late".into())
        },
        Duration::from_millis(100),
    );
    assert_eq!(out, None);
    assert!(t.elapsed() < Duration::from_millis(700));
    // Wait for the abandoned reader, so the next test finds its slot free.
    std::thread::sleep(Duration::from_millis(800));
    let out = run_bounded(
        DocKind::Pdf,
        || -> Result<String, String> { panic!("parser bug") },
        Duration::from_secs(1),
    );
    assert_eq!(out, None);
}
