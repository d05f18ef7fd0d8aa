//! Zimbra's MIME part numbers: the `part=` of GetMsg's `mp` tree and of the
//! `attach/mp mid= part=` a client sends back to forward a part. A message whose top
//! part is not multipart has its body as part `1`; the children of a multipart are
//! numbered from 1 under their parent's number (`2`, `2.1`, `2.1.3`); the body of an
//! attached message/rfc822 numbered `n` is numbered as a message of its own under `n`
//! (`n.1`, `n.2`, ...), as Zimbra's `Mime.getParts` does (RFC 3501 §6.4.5 numbers
//! parts the same way).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::super::element::Element;

/// One numbered part of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumberedPart {
    /// Its part number (`1`, `2.1`, ...).
    pub number: String,
    /// Its content type in lower case (`text/plain`, `multipart/mixed`).
    pub content_type: String,
    /// The file name it carries (Content-Disposition `filename` or Content-Type
    /// `name`).
    pub filename: Option<String>,
    /// Its Content-Disposition type (`attachment`, `inline`), lower case.
    pub disposition: Option<String>,
    /// Its content, transfer-decoded (empty for a multipart).
    pub data: Vec<u8>,
    /// Whether it is a multipart container.
    pub multipart: bool,
    /// Its decoded size in bytes.
    pub size: usize,
}

fn content_type(p: &mail_parser::MessagePart<'_>) -> String {
    p.content_type()
        .map(|c| match c.subtype() {
            Some(s) => format!("{}/{}", c.ctype(), s),
            None => c.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".into())
        .to_lowercase()
}

fn walk(msg: &Message<'_>, idx: u32, number: String, out: &mut Vec<NumberedPart>, depth: u32) {
    // Deeply nested messages are cut off rather than followed without bound.
    if depth > 40 {
        return;
    }
    let Some(part) = msg.parts.get(idx as usize) else {
        return;
    };
    let data: Vec<u8> = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
        PartType::Message(m) => m.raw_message().to_vec(),
        PartType::Multipart(_) => Vec::new(),
    };
    let multipart = matches!(part.body, PartType::Multipart(_));
    if !number.is_empty() {
        out.push(NumberedPart {
            number: number.clone(),
            content_type: content_type(part),
            filename: part.attachment_name().map(str::to_string),
            disposition: part
                .content_disposition()
                .map(|d| d.ctype().to_ascii_lowercase()),
            size: data.len(),
            data,
            multipart,
        });
    }
    let prefix = if number.is_empty() {
        String::new()
    } else {
        format!("{number}.")
    };
    match &part.body {
        PartType::Multipart(kids) => {
            for (i, k) in kids.iter().enumerate() {
                walk(msg, *k, format!("{prefix}{}", i + 1), out, depth + 1);
            }
        }
        PartType::Message(inner) => walk_message(inner, &prefix, out, depth + 1),
        _ => {}
    }
}

/// Numbers the parts of `msg` under `prefix` (empty for the top message).
fn walk_message(msg: &Message<'_>, prefix: &str, out: &mut Vec<NumberedPart>, depth: u32) {
    let Some(root) = msg.parts.first() else {
        return;
    };
    if matches!(root.body, PartType::Multipart(_)) {
        // The top multipart has no number of its own; its children do.
        let mut kids = Vec::new();
        if let PartType::Multipart(k) = &root.body {
            kids.clone_from(k);
        }
        for (i, k) in kids.iter().enumerate() {
            walk(msg, *k, format!("{prefix}{}", i + 1), out, depth + 1);
        }
    } else {
        walk(msg, 0, format!("{prefix}1"), out, depth + 1);
    }
}

/// Every part of the raw message `raw`, numbered as Zimbra numbers them, in order.
pub(crate) fn numbered_parts(raw: &[u8]) -> Vec<NumberedPart> {
    let mut out = Vec::new();
    if let Some(msg) = MessageParser::default().parse(raw) {
        walk_message(&msg, "", &mut out, 0);
    }
    out
}

/// The part numbered `number` of `raw`, if there is one.
pub(crate) fn find_part(raw: &[u8], number: &str) -> Option<NumberedPart> {
    let number = number.trim();
    numbered_parts(raw).into_iter().find(|p| p.number == number)
}

/// How the body of an expanded message is shown: Zimbra's `html=` and `max=` of
/// GetMsg, GetConv and SearchConv.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BodyOptions {
    /// Prefer a text/html body over text/plain (`html="1"`).
    pub html: bool,
    /// Most bytes of body text returned (`max=`); a longer body is cut at a character
    /// boundary and its `mp` marked `truncated="1"`.
    pub max: Option<usize>,
}

/// `text` cut to at most `max` bytes at a character boundary; whether it was cut.
fn truncate(text: String, max: Option<usize>) -> (String, bool) {
    match max {
        Some(max) if text.len() > max => {
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            (text[..end].to_string(), true)
        }
        _ => (text, false),
    }
}

/// The content type GetMsg shows for `p`: a generic `application/octet-stream` (or
/// `application/ms-tnef`) part with a file name takes the type its extension names, as
/// Zimbra's `ToXML` guesses it with `MimeDetect`; any other type is shown as sent.
fn shown_content_type(p: &NumberedPart) -> String {
    let generic = matches!(
        p.content_type.as_str(),
        "application/octet-stream" | "application/ms-tnef"
    );
    match (&p.filename, generic) {
        (Some(name), true) => super::mimetypes::by_extension(name)
            .unwrap_or(p.content_type.as_str())
            .to_string(),
        _ => p.content_type.clone(),
    }
}

/// One `mp` element for the part `p` (`part`, `ct`, `s`, `filename`/`cd`), with
/// `body="1"` and its text as `content` when it is the body.
fn part_element(p: &NumberedPart, is_body: bool, opts: &BodyOptions) -> Element {
    let mut mp = Element::new("mp");
    mp.set("part", p.number.clone());
    mp.set("ct", shown_content_type(p));
    if !p.multipart {
        mp.set_num("s", p.size);
    }
    if let Some(name) = &p.filename {
        mp.set("filename", name.clone());
    }
    if let Some(cd) = &p.disposition {
        mp.set("cd", cd.clone());
    } else if p.filename.is_some() {
        mp.set("cd", "attachment");
    }
    if is_body {
        // A boolean: `body="1"` in XML, `"body":true` in JSON, as Zimbra writes it.
        mp.set_bool("body", true);
        let (text, cut) = truncate(String::from_utf8_lossy(&p.data).to_string(), opts.max);
        if cut {
            mp.set_bool("truncated", true);
        }
        mp.add_text("content", text);
    }
    mp
}

/// Adds GetMsg's `mp` tree to `out`, shaped as Zimbra shapes it. A message that is
/// not multipart has one top `mp part="1"`; a multipart message has a top
/// `mp part="TEXT" ct="multipart/..."` whose children are its parts (`1`, `2`, ...),
/// each nested multipart or attached message holding its own (`1.1`, `2.1`, ...).
/// Each `mp` carries `part`, `ct`, `s`, `filename`/`cd` for attachments; the first
/// text body is marked `body="1"` with its text as `content`.
pub(crate) fn add_mime_parts(raw: &[u8], out: &mut Element) {
    add_mime_parts_with(raw, out, &BodyOptions::default());
}

/// [`add_mime_parts`] with the body chosen and cut as `opts` asks: with `html` the
/// first inline text/html part is the body when there is one.
pub(crate) fn add_mime_parts_with(raw: &[u8], out: &mut Element, opts: &BodyOptions) {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return;
    };
    let parts = numbered_parts(raw);
    let inline = |p: &NumberedPart| p.disposition.as_deref() != Some("attachment");
    let html = opts
        .html
        .then(|| {
            parts
                .iter()
                .position(|p| p.content_type == "text/html" && inline(p))
        })
        .flatten();
    let body = html
        .or_else(|| {
            parts
                .iter()
                .position(|p| p.content_type == "text/plain" && p.disposition.is_none())
        })
        .or_else(|| {
            parts.iter().position(|p| {
                p.content_type.starts_with("text/")
                    && p.disposition.as_deref() != Some("attachment")
            })
        });
    let mut elements: Vec<Element> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| part_element(p, body == Some(i), opts))
        .collect();
    // Parts come in document order, so a part's parent (the number before its last
    // dot) is an earlier one: fold children into parents from the end.
    let mut roots = Vec::new();
    for i in (0..parts.len()).rev() {
        let el = elements.pop().expect("one element per part");
        let parent = parts[i]
            .number
            .rsplit_once('.')
            .and_then(|(up, _)| parts[..i].iter().rposition(|p| p.number == up));
        match parent {
            Some(at) => elements[at].children.insert(0, el),
            None => roots.insert(0, el),
        }
    }
    let multipart = msg
        .parts
        .first()
        .is_some_and(|r| matches!(r.body, PartType::Multipart(_)));
    if multipart {
        let mut top = Element::new("mp");
        top.set("part", "TEXT");
        if let Some(root) = msg.parts.first() {
            top.set("ct", content_type(root));
        }
        top.children = roots;
        out.add(top);
    } else {
        for el in roots {
            out.add(el);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = "From: a@b.c\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
        --X\r\nContent-Type: multipart/alternative; boundary=\"Y\"\r\n\r\n\
        --Y\r\nContent-Type: text/plain\r\n\r\nplain\r\n\
        --Y\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--Y--\r\n\
        --X\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"a.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n\
        --X\r\nContent-Type: message/rfc822\r\n\r\n\
        From: x@y.z\r\nSubject: inner\r\n\r\ninner body\r\n\
        --X--\r\n";

    #[test]
    fn numbers_like_zimbra() {
        let parts = numbered_parts(NESTED.as_bytes());
        let numbers: Vec<(&str, &str)> = parts
            .iter()
            .map(|p| (p.number.as_str(), p.content_type.as_str()))
            .collect();
        assert_eq!(
            numbers,
            vec![
                ("1", "multipart/alternative"),
                ("1.1", "text/plain"),
                ("1.2", "text/html"),
                ("2", "application/pdf"),
                ("3", "message/rfc822"),
                ("3.1", "text/plain"),
            ]
        );
        let pdf = find_part(NESTED.as_bytes(), "2").expect("part 2");
        assert_eq!(pdf.data, b"%PDF-");
        assert_eq!(pdf.filename.as_deref(), Some("a.pdf"));
        assert!(find_part(NESTED.as_bytes(), "9").is_none());
    }

    #[test]
    fn single_part_body_is_one() {
        let raw = b"Subject: x\r\n\r\nhello\r\n";
        let parts = numbered_parts(raw);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].number, "1");
        assert_eq!(parts[0].content_type, "text/plain");
    }

    #[test]
    fn single_part_is_one_top_mp() {
        let mut m = Element::new("m");
        add_mime_parts(b"Subject: x\r\n\r\nhello\r\n", &mut m);
        assert_eq!(m.children.len(), 1);
        let mp = &m.children[0];
        assert_eq!(mp.attr("part"), Some("1"));
        assert_eq!(mp.attr("ct"), Some("text/plain"));
        assert_eq!(mp.attr("body"), Some("1"));
        assert!(mp.children_named("mp").next().is_none());
        assert!(
            mp.child("content")
                .is_some_and(|c| c.text().contains("hello"))
        );
    }

    #[test]
    fn multipart_tree_nests_under_text() {
        let mut m = Element::new("m");
        add_mime_parts(NESTED.as_bytes(), &mut m);
        assert_eq!(m.children.len(), 1);
        let top = &m.children[0];
        assert_eq!(top.attr("part"), Some("TEXT"));
        assert_eq!(top.attr("ct"), Some("multipart/mixed"));
        let kids: Vec<&str> = top
            .children_named("mp")
            .filter_map(|c| c.attr("part"))
            .collect();
        assert_eq!(kids, ["1", "2", "3"]);
        let alt = &top.children[0];
        assert_eq!(alt.attr("ct"), Some("multipart/alternative"));
        let inner: Vec<&str> = alt
            .children_named("mp")
            .filter_map(|c| c.attr("part"))
            .collect();
        assert_eq!(inner, ["1.1", "1.2"]);
        assert_eq!(alt.children[0].attr("body"), Some("1"));
        assert_eq!(top.children[1].attr("filename"), Some("a.pdf"));
        let fwd: Vec<&str> = top.children[2]
            .children_named("mp")
            .filter_map(|c| c.attr("part"))
            .collect();
        assert_eq!(fwd, ["3.1"]);
    }

    #[test]
    fn html_option_picks_the_html_body_and_max_cuts_it() {
        let mut m = Element::new("m");
        let opts = BodyOptions {
            html: true,
            max: Some(3),
        };
        add_mime_parts_with(NESTED.as_bytes(), &mut m, &opts);
        let alt = &m.children[0].children[0];
        assert_eq!(alt.children[0].attr("body"), None);
        let html = &alt.children[1];
        assert_eq!(html.attr("ct"), Some("text/html"));
        assert_eq!(html.attr("body"), Some("1"));
        assert_eq!(html.attr("truncated"), Some("1"));
        assert_eq!(html.child("content").map(|c| c.text()), Some("<b>"));
        assert_eq!(
            truncate("héllo".to_string(), Some(2)),
            ("h".to_string(), true)
        );
        assert_eq!(
            truncate("hi".to_string(), Some(2)),
            ("hi".to_string(), false)
        );
    }

    #[test]
    fn generic_attachments_show_the_type_their_name_gives() {
        let raw = "Subject: s\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
            --X\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
            --X\r\nContent-Type: application/octet-stream; name=\"A Pump.DWG\"\r\n\
            Content-Disposition: attachment; filename=\"A Pump.DWG\"\r\n\r\nxx\r\n\
            --X\r\nContent-Type: application/octet-stream; name=x.pct\r\n\
            Content-Disposition: attachment; filename=x.pct\r\n\r\nyy\r\n\
            --X\r\nContent-Type: application/octet-stream\r\n\r\nzz\r\n\
            --X--\r\n";
        let mut m = Element::new("m");
        add_mime_parts(raw.as_bytes(), &mut m);
        let top = m.child("mp").expect("top mp");
        let cts: Vec<_> = top.children.iter().filter_map(|c| c.attr("ct")).collect();
        assert_eq!(
            cts,
            vec![
                "text/plain",
                "image/vnd.dwg",
                "application/octet-stream",
                "application/octet-stream"
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = numbered_parts(&raw);
            let mut el = Element::new("m");
            add_mime_parts(&raw, &mut el);
        }
    }
}
