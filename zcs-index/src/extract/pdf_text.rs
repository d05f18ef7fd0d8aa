//! The text of one PDF page, read from its content stream (ISO 32000-1 §9.4, text
//! objects and operators) with lopdf's font encodings. lopdf's own extraction ends a
//! line at every text object, so a word a generator wrote in pieces (Word writes
//! `[(I)] TJ ET BT ... [(n)3(sid)5(e_)] TJ ET BT ... [(pdf)] TJ`) came out as
//! "I nside_ pdf". Here pieces shown on the same baseline are joined, with a space
//! only where the pen jumped ahead (or back), and a line break where the baseline
//! moved. Glyph widths are estimated (half the font size per character), which is
//! enough to tell a continued word from the next column.

use lopdf::content::Content;
use lopdf::{Document, Encoding, Object, ObjectId};

/// A kerning adjustment inside `TJ` larger than this (thousandths of the font size)
/// is a word gap.
const GAP_KERNING: f32 = 200.0;

/// Where the text pen is, in page units (only translation and scale are followed).
struct Pen {
    line_x: f32,
    line_y: f32,
    x: f32,
    y: f32,
    scale: f32,
    size: f32,
    leading: f32,
    /// Baseline, start and estimated end of the last text shown.
    last: Option<(f32, f32, f32)>,
}

impl Pen {
    fn em(&self) -> f32 {
        (self.size * self.scale).abs().max(0.1)
    }

    fn move_line(&mut self, tx: f32, ty: f32) {
        self.line_x += tx * self.scale;
        self.line_y += ty * self.scale;
        self.x = self.line_x;
        self.y = self.line_y;
    }

    /// The separator before text shown at the pen, from where the last text ended.
    fn separator(&self) -> Option<char> {
        let (y, start, end) = self.last?;
        let em = self.em();
        if (self.y - y).abs() > em * 0.5 {
            Some('\n')
        } else if self.x > end + em * 0.25 || self.x < start {
            Some(' ')
        } else {
            None
        }
    }
}

fn number(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// The text of page `page_id`, with at most `limit` bytes inflated for its content and
/// fonts.
///
/// # Errors
/// Why the page could not be read, as text.
pub(crate) fn page_text(doc: &Document, page_id: ObjectId, limit: usize) -> Result<String, String> {
    let fonts = doc.get_page_fonts(page_id).map_err(|e| e.to_string())?;
    let encodings: Vec<(Vec<u8>, Encoding<'_>)> = fonts
        .into_iter()
        .filter_map(|(name, font)| {
            font.get_font_encoding_with_limit(doc, limit)
                .ok()
                .map(|e| (name, e))
        })
        .collect();
    let data = doc
        .get_page_content_with_limit(page_id, limit)
        .map_err(|e| e.to_string())?;
    let content = Content::decode(&data).map_err(|e| e.to_string())?;

    let mut out = String::new();
    let mut encoding: Option<&Encoding<'_>> = None;
    let mut pen = Pen {
        line_x: 0.0,
        line_y: 0.0,
        x: 0.0,
        y: 0.0,
        scale: 1.0,
        size: 12.0,
        leading: 0.0,
        last: None,
    };
    for op in &content.operations {
        let args: Vec<f32> = op.operands.iter().filter_map(number).collect();
        match op.operator.as_str() {
            "BT" => {
                (pen.line_x, pen.line_y, pen.x, pen.y, pen.scale) = (0.0, 0.0, 0.0, 0.0, 1.0);
            }
            "Tf" => {
                encoding = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| encodings.iter().find(|(k, _)| k == n).map(|(_, e)| e));
                if let Some(&size) = args.first() {
                    pen.size = size;
                }
            }
            "Tm" if args.len() == 6 => {
                pen.scale = args[0].hypot(args[1]).max(f32::EPSILON);
                (pen.line_x, pen.line_y) = (args[4], args[5]);
                (pen.x, pen.y) = (args[4], args[5]);
            }
            "Td" | "TD" if args.len() == 2 => {
                if op.operator == "TD" {
                    pen.leading = -args[1];
                }
                pen.move_line(args[0], args[1]);
            }
            "TL" if !args.is_empty() => pen.leading = args[0],
            "T*" => pen.move_line(0.0, -pen.leading),
            "Tj" | "TJ" | "'" | "\"" => {
                if op.operator == "'" || op.operator == "\"" {
                    pen.move_line(0.0, -pen.leading);
                }
                let Some(enc) = encoding else {
                    continue;
                };
                let shown = match op.operator.as_str() {
                    "\"" => op.operands.get(2).into_iter().collect::<Vec<_>>(),
                    _ => op.operands.iter().collect(),
                };
                let mut text = String::new();
                let mut advance = 0.0f32;
                for operand in shown {
                    show(operand, enc, &mut text, &mut advance);
                }
                if text.is_empty() {
                    continue;
                }
                if let Some(sep) = pen.separator()
                    && !out.ends_with(char::is_whitespace)
                {
                    out.push(sep);
                }
                out.push_str(&text);
                let end = pen.x + advance * pen.em();
                pen.last = Some((pen.y, pen.x, end));
                pen.x = end;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Appends the text of one `Tj`/`TJ` operand, adding its advance in ems.
fn show(operand: &Object, enc: &Encoding<'_>, text: &mut String, advance: &mut f32) {
    match operand {
        Object::String(bytes, _) => {
            if let Ok(s) = Document::decode_text(enc, bytes) {
                *advance += s.chars().count() as f32 * 0.5;
                text.push_str(&s);
            }
        }
        Object::Array(items) => {
            for item in items {
                if let Some(k) = number(item) {
                    *advance -= k / 1000.0;
                    if k < -GAP_KERNING && !text.ends_with(' ') {
                        text.push(' ');
                    }
                } else {
                    show(item, enc, text, advance);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::attach::tests::pdf_with_stream;

    fn text_of(content: &str) -> String {
        let pdf = pdf_with_stream(content.as_bytes(), "");
        let doc = Document::load_mem(&pdf).expect("pdf");
        let (_, &page) = doc.get_pages().iter().next().expect("a page");
        page_text(&doc, page, 1 << 20).expect("text")
    }

    #[test]
    fn pieces_on_one_baseline_make_one_word() {
        // As Word writes "Inside_pdf" (reindex/0000000285-java n pdf.eml).
        let t = text_of(
            "BT /F1 11.04 Tf 1 0 0 1 72.024 709.66 Tm [(I)] TJ ET \
             BT 1 0 0 1 74.784 709.66 Tm [(n)3(sid)5(e_)] TJ ET \
             BT 1 0 0 1 104.18 709.66 Tm -0.036 Tc [(pdf)] TJ ET \
             BT 1 0 0 1 119.06 709.66 Tm 0 Tc [( )] TJ ET",
        );
        assert_eq!(t.trim(), "Inside_pdf");
    }

    #[test]
    fn columns_lines_and_kerning_gaps_separate_words() {
        let t = text_of(
            "BT /F1 12 Tf 72 700 Td (Name) Tj 228 0 Td (Value) Tj ET \
             BT /F1 12 Tf 72 680 Td (second) Tj 0 -14 Td (third ) Tj \
             [(wide)-400(gap)] TJ 14 TL T* (fourth) Tj (fifth) ' ET",
        );
        assert_eq!(t, "Name Value\nsecond\nthird wide gap\nfourth\nfifth");
    }
}
