//! XML reading and writing of [`Element`] trees for the SOAP 1.1 and 1.2 envelopes.
//!
//! Reading is namespace-aware and refuses what a SOAP server must not process: a
//! document type declaration (so no entity can be defined, expanded or fetched from a
//! file), undefined entity references and nesting deeper than [`MAX_DEPTH`]. Writing
//! puts elements of the envelope namespace under the `soap:` prefix and declares every
//! other namespace as the default where it changes.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::element::{Attr, AttrKind, Element};

/// Deepest element nesting accepted in a request.
pub const MAX_DEPTH: usize = 100;

/// Why an XML document was refused. Shown to the client as `service.PARSE_ERROR`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("document type declarations are not allowed")]
    DocType,
    #[error("undefined entity: &{0};")]
    Entity(String),
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("no root element")]
    Empty,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// The predefined entities of XML 1.0 §4.6.
fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn open(ns: ResolveResult<'_>, start: &BytesStart<'_>) -> Element {
    let mut el = Element::new(start.local_name().as_ref());
    if let ResolveResult::Bound(n) = ns {
        el.ns = Some(n.0.to_string());
    }
    el
}

fn read_attrs(start: &BytesStart<'_>, el: &mut Element) -> Result<(), XmlError> {
    for attr in start.attributes() {
        let attr = attr.map_err(malformed)?;
        let key = attr.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(malformed)?;
        el.attrs.push(Attr {
            name: attr.key.local_name().as_ref().to_string(),
            value: value.into_owned(),
            kind: AttrKind::Str,
            content: false,
        });
    }
    Ok(())
}

fn append_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.get_or_insert_with(String::new).push_str(text);
    }
}

/// Parses a whole document into its root element. Whitespace-only text between child
/// elements is dropped; text of leaf elements is kept as sent.
///
/// # Errors
/// [`XmlError`] for anything not well-formed or refused (see the module doc).
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let version = XmlVersion::Implicit1_0;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(malformed)?;
        match event {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let mut el = open(ns, &s);
                read_attrs(&s, &mut el)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                let mut el = open(ns, &s);
                read_attrs(&s, &mut el)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(malformed("unbalanced end tag"));
                };
                if !el.children.is_empty() && el.text().trim().is_empty() {
                    el.text = None;
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let content = t.xml_content(version);
                if stack.is_empty() {
                    if !content.trim().is_empty() {
                        return Err(malformed("text outside the root element"));
                    }
                } else {
                    append_text(&mut stack, &content);
                }
            }
            Event::CData(c) => {
                let content = c.xml_content(version);
                append_text(&mut stack, &content);
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c,
                    None => {
                        let name = r.xml_content(version);
                        predefined(&name).ok_or_else(|| XmlError::Entity(name.into_owned()))?
                    }
                };
                if stack.is_empty() {
                    return Err(malformed("reference outside the root element"));
                }
                append_text(&mut stack, ch.encode_utf8(&mut [0; 4]));
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unclosed element"));
    }
    root.ok_or(XmlError::Empty)
}

/// Escapes text for element content or a double-quoted attribute, dropping characters
/// XML 1.0 cannot carry (C0 controls other than tab, CR and LF).
pub fn escape(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// Writes `el` as XML. `default_ns` is the default namespace in scope and `parent_ns`
/// the namespace an element without its own inherits; elements in `soap_ns` are written
/// with the `soap:` prefix (declared by the caller). An element in the empty namespace
/// (`Some("")`) is written unprefixed.
pub fn write(el: &Element, default_ns: Option<&str>, soap_ns: &str, out: &mut String) {
    write_in(el, default_ns, None, soap_ns, out)
}

fn write_in(
    el: &Element,
    default_ns: Option<&str>,
    parent_ns: Option<&str>,
    soap_ns: &str,
    out: &mut String,
) {
    let effective = el.ns.as_deref().or(parent_ns);
    let in_soap = effective == Some(soap_ns);
    let tag = if in_soap {
        format!("soap:{}", el.name)
    } else {
        el.name.clone()
    };
    out.push('<');
    out.push_str(&tag);
    let mut scope = default_ns;
    if !in_soap && let Some(ns) = el.ns.as_deref() {
        if Some(ns) != default_ns && !(ns.is_empty() && default_ns.is_none()) {
            out.push_str(" xmlns=\"");
            escape(ns, out);
            out.push('"');
        }
        scope = Some(ns);
    }
    for a in el.attrs.iter().filter(|a| !a.content) {
        out.push(' ');
        out.push_str(&a.name);
        out.push_str("=\"");
        escape(&a.value, out);
        out.push('"');
    }
    let has_content = el.attrs.iter().any(|a| a.content);
    if el.children.is_empty() && el.text.is_none() && !has_content {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for a in el.attrs.iter().filter(|a| a.content) {
        let name = if in_soap {
            format!("soap:{}", a.name)
        } else {
            a.name.clone()
        };
        out.push('<');
        out.push_str(&name);
        out.push('>');
        escape(&a.value, out);
        out.push_str("</");
        out.push_str(&name);
        out.push('>');
    }
    if let Some(t) = &el.text {
        escape(t, out);
    }
    for c in &el.children {
        write_in(c, scope, effective, soap_ns, out);
    }
    out.push_str("</");
    out.push_str(&tag);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaces_text_and_refs() {
        let doc = r#"<?xml version="1.0"?><soap:Envelope
            xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
            <AuthRequest xmlns="urn:zimbraAccount"><account by="name">a&amp;b&#x41;</account>
            <password><![CDATA[p<w]]></password></AuthRequest></soap:Body></soap:Envelope>"#;
        let root = parse(doc).expect("parses");
        assert_eq!(root.name, "Envelope");
        let body = root.child("Body").expect("body");
        let req = &body.children[0];
        assert_eq!(req.ns.as_deref(), Some("urn:zimbraAccount"));
        assert_eq!(req.attr("account"), Some("a&bA"));
        assert_eq!(
            req.child("account").and_then(|a| a.attr("by")),
            Some("name")
        );
        assert_eq!(req.attr("password"), Some("p<w"));
        assert!(body.text.is_none());
    }

    #[test]
    fn refuses_doctype_entities_and_depth() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
            <x>&e;</x>"#;
        assert_eq!(parse(xxe), Err(XmlError::DocType));
        assert!(matches!(parse("<x>&e;</x>"), Err(XmlError::Entity(_))));
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
    }

    #[test]
    fn writes_prefix_default_ns_and_content() {
        let mut body = Element::with_ns("Body", "urn:soap");
        let mut resp = Element::with_ns("AuthResponse", "urn:zimbraAccount");
        resp.add_text("authToken", "t<1>");
        resp.set_content("lifetime", "5", AttrKind::Num);
        resp.set("x", "\"q\"\u{1}");
        body.add(resp);
        let mut out = String::new();
        write(&body, None, "urn:soap", &mut out);
        assert_eq!(
            out,
            "<soap:Body><AuthResponse xmlns=\"urn:zimbraAccount\" x=\"&quot;q&quot;\">\
             <lifetime>5</lifetime><authToken>t&lt;1&gt;</authToken></AuthResponse></soap:Body>"
        );
        let back = parse(&out.replace("soap:", "")).expect("round trip");
        assert_eq!(back.children[0].attr("authToken"), Some("t<1>"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn text_round_trips(s in "[^\u{0}-\u{1f}\u{fffe}\u{ffff}]{0,80}") {
            let mut e = Element::new("t");
            e.set_text(s.clone());
            e.set("v", s.clone());
            let mut out = String::new();
            write(&e, None, "urn:soap", &mut out);
            let back = parse(&out).expect("own output parses");
            proptest::prop_assert_eq!(back.text(), s.as_str());
            proptest::prop_assert_eq!(back.attr("v"), Some(s.as_str()));
        }
    }
}
