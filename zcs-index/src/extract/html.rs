//! HTML to plain text for indexing: drops tags, comments, scripts and styles, decodes
//! character references, and turns block boundaries into line breaks so words on either
//! side of a tag do not run together. Not a renderer; it only has to keep the words.

/// The readable text of an HTML document or fragment. Never panics, linear in the input.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;

    while let Some(lt) = rest.find(['<', '&']) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];

        if rest.starts_with('&') {
            let (decoded, used) = decode_reference(rest);
            out.push_str(&decoded);
            rest = &rest[used..];
            continue;
        }

        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            out.push(' ');
            continue;
        }

        let Some(gt) = rest.find('>') else {
            // A lone '<' with no closing '>' is text.
            out.push_str(rest);
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let name = tag_name(tag);

        if (name == "script" || name == "style") && !tag.starts_with('/') {
            rest = skip_past_closing(rest, &name);
        }
        out.push(if is_block(&name) { '\n' } else { ' ' });
    }
    out.push_str(rest);
    out
}

/// Lower-cased element name of the text between `<` and `>` (`/p` gives `p`).
fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The text after `</name ...>`, or nothing when the element is never closed.
fn skip_past_closing<'a>(rest: &'a str, name: &str) -> &'a str {
    let lower = rest.to_ascii_lowercase();
    let needle = format!("</{name}");
    match lower.find(&needle) {
        Some(start) => match rest[start..].find('>') {
            Some(gt) => &rest[start + gt + 1..],
            None => "",
        },
        None => "",
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "tr"
            | "td"
            | "th"
            | "li"
            | "ul"
            | "ol"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "hr"
            | "title"
            | "body"
    )
}

/// Decodes the character reference at the start of `s` (which begins with `&`).
/// Returns the text to emit and how many bytes were consumed; an unknown or malformed
/// reference is kept as a literal `&`.
fn decode_reference(s: &str) -> (String, usize) {
    let Some(semi) = s[1..].find(';').map(|i| i + 1).filter(|&i| i <= 10) else {
        return ("&".into(), 1);
    };
    let body = &s[1..semi];
    let code = if let Some(num) = body.strip_prefix('#') {
        if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()
        } else {
            num.parse::<u32>().ok()
        }
    } else {
        named_entity(body)
    };
    match code.and_then(char::from_u32) {
        Some('\u{a0}') => (" ".into(), semi + 1),
        Some(c) => (c.to_string(), semi + 1),
        None => ("&".into(), 1),
    }
}

fn named_entity(name: &str) -> Option<u32> {
    Some(match name {
        "amp" => 0x26,
        "lt" => 0x3c,
        "gt" => 0x3e,
        "quot" => 0x22,
        "apos" => 0x27,
        "nbsp" => 0xa0,
        "copy" => 0xa9,
        "reg" => 0xae,
        "trade" => 0x2122,
        "hellip" => 0x2026,
        "mdash" => 0x2014,
        "ndash" => 0x2013,
        "lsquo" => 0x2018,
        "rsquo" => 0x2019,
        "ldquo" => 0x201c,
        "rdquo" => 0x201d,
        "euro" => 0x20ac,
        "pound" => 0xa3,
        "yen" => 0xa5,
        "eacute" => 0xe9,
        "egrave" => 0xe8,
        "agrave" => 0xe0,
        "aacute" => 0xe1,
        "ouml" => 0xf6,
        "auml" => 0xe4,
        "uuml" => 0xfc,
        "szlig" => 0xdf,
        "ccedil" => 0xe7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn tags_go_words_stay() {
        let t = html_to_text(
            "<html><head><title>Hi</title><style>p{x:y}</style></head>\
            <body><p>Hello <b>big</b>&nbsp;world</p><script>var x=1;</script>bye</body>",
        );
        assert_eq!(words(&t), ["Hi", "Hello", "big", "world", "bye"]);
    }

    #[test]
    fn references_decode() {
        assert_eq!(
            html_to_text("a&amp;b &lt;c&gt; &#233;&#xE9; &bogus; &"),
            "a&b <c> éé &bogus; &"
        );
    }

    #[test]
    fn broken_html_does_not_panic() {
        for s in [
            "<",
            "<<>>",
            "<!-- open",
            "<script>never closed",
            "&#99999999999;",
            "é<é>é&é;",
        ] {
            let _ = html_to_text(s);
        }
        assert_eq!(words(&html_to_text("a<br>b<!--c-->d")), ["a", "b", "d"]);
    }
}
