//! RSS 2.0 and Atom (RFC 4287) feeds read for a folder sync: the feed's title and,
//! per item, its title, link, id, date and text, turned into one RFC 5322 message
//! each (From the feed, Subject the item title, an HTML body with the text and link).

use base64::Engine as _;

/// A feed's title and items.
#[derive(Debug, Default)]
pub(crate) struct Feed {
    /// The channel or feed title.
    pub title: String,
    /// Its items (RSS `item`, Atom `entry`), in document order.
    pub items: Vec<FeedItem>,
}

/// One feed item.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FeedItem {
    /// `title`.
    pub title: String,
    /// RSS `link` text or Atom `link href=`.
    pub link: String,
    /// RSS `guid` or Atom `id`.
    pub id: String,
    /// RSS `pubDate` (RFC 822 date) or Atom `updated`/`published` (RFC 3339).
    pub date: String,
    /// RSS `description` or Atom `content`/`summary` (HTML or text).
    pub text: String,
}

impl FeedItem {
    /// What identifies the item across syncs: its id, else link, else title.
    pub(crate) fn key(&self) -> String {
        [&self.id, &self.link, &self.title]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_default()
    }

    /// The item's date in ms since the epoch, when it has a readable one.
    pub(crate) fn date_ms(&self) -> Option<i64> {
        let d = self.date.trim();
        chrono::DateTime::parse_from_rfc2822(d)
            .or_else(|_| chrono::DateTime::parse_from_rfc3339(d))
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// The item as an RFC 5322 message from `feed_title`, dated `date_ms`; header
    /// texts are RFC 2047 encoded words, the body base64 UTF-8 HTML.
    pub(crate) fn to_message(&self, feed_title: &str, date_ms: i64) -> Vec<u8> {
        let date = chrono::DateTime::from_timestamp_millis(date_ms)
            .unwrap_or_default()
            .to_rfc2822();
        let from = if feed_title.is_empty() {
            "feed"
        } else {
            feed_title
        };
        let mut html = String::from("<html><body>");
        html.push_str(&self.text);
        if !self.link.is_empty() {
            html.push_str(&format!(
                "<p><a href=\"{0}\">{0}</a></p>",
                escape_html(&self.link)
            ));
        }
        html.push_str("</body></html>");
        let body = base64::engine::general_purpose::STANDARD.encode(html.as_bytes());
        let mut out = format!(
            "From: {} <feed@localhost>\r\nSubject: {}\r\nDate: {date}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n",
            encoded_word(from),
            encoded_word(&self.title)
        );
        if !self.link.is_empty() && !self.link.contains(['\r', '\n']) {
            out.push_str(&format!("X-Zimbra-Feed-Link: {}\r\n", self.link));
        }
        out.push_str("\r\n");
        for line in body.as_bytes().chunks(76) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

/// RFC 2047 §4.1 B encoding of a header text (kept plain when printable ASCII).
fn encoded_word(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s;
    }
    format!(
        "=?utf-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads an RSS or Atom document; `None` when it is neither.
pub(crate) fn parse(xml: &str) -> Option<Feed> {
    let lower = xml.to_ascii_lowercase();
    let (item_tag, atom) = if lower.contains("<rss") || lower.contains("<rdf:rdf") {
        ("item", false)
    } else if lower.contains("<feed") {
        ("entry", true)
    } else {
        return None;
    };
    let mut feed = Feed::default();
    let first_item = find_open(&lower, item_tag, 0).unwrap_or(xml.len());
    feed.title =
        element_text(&xml[..first_item], &lower[..first_item], "title").unwrap_or_default();
    let mut pos = 0;
    while let Some(start) = find_open(&lower, item_tag, pos) {
        let close = format!("</{item_tag}>");
        let end = lower[start..].find(&close).map(|i| start + i)?;
        let (block, lblock) = (&xml[start..end], &lower[start..end]);
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| element_text(block, lblock, n))
                .unwrap_or_default()
        };
        let link = if atom {
            atom_link(block, lblock).unwrap_or_default()
        } else {
            text(&["link"])
        };
        feed.items.push(FeedItem {
            title: text(&["title"]),
            link,
            id: text(if atom { &["id"] } else { &["guid"] }),
            date: text(&["pubdate", "updated", "published", "dc:date"]),
            text: text(&["description", "content:encoded", "content", "summary"]),
        });
        pos = end + close.len();
    }
    Some(feed)
}

/// Where `<tag` (followed by `>`, `/` or white space) opens at or after `from`.
fn find_open(lower: &str, tag: &str, from: usize) -> Option<usize> {
    let pat = format!("<{tag}");
    let mut at = from;
    while let Some(i) = lower.get(at..)?.find(&pat) {
        let i = at + i;
        match lower.as_bytes().get(i + pat.len()) {
            Some(b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n') => return Some(i),
            _ => at = i + pat.len(),
        }
    }
    None
}

/// The text of the first `<tag ...>text</tag>` in `block` (CDATA kept as is, entities
/// decoded); `None` when absent or empty.
fn element_text(block: &str, lower: &str, tag: &str) -> Option<String> {
    let open = find_open(lower, tag, 0)?;
    let gt = open + lower[open..].find('>')?;
    if lower[..gt].ends_with('/') {
        return None;
    }
    let close = format!("</{tag}>");
    let end = gt + 1 + lower[gt + 1..].find(&close)?;
    let raw = block[gt + 1..end].trim();
    let text = match raw.strip_prefix("<![CDATA[") {
        Some(rest) => rest.strip_suffix("]]>").unwrap_or(rest).to_string(),
        None => unescape(raw),
    };
    (!text.is_empty()).then_some(text)
}

/// The `href` of an Atom entry's `link` (`rel="alternate"` or no `rel`).
fn atom_link(block: &str, lower: &str) -> Option<String> {
    let mut pos = 0;
    while let Some(open) = find_open(lower, "link", pos) {
        let gt = open + lower[open..].find('>')?;
        let tag = &block[open..gt];
        let ltag = &lower[open..gt];
        pos = gt;
        let rel = attr(tag, ltag, "rel");
        if rel.as_deref().is_none_or(|r| r == "alternate") {
            return attr(tag, ltag, "href");
        }
    }
    None
}

fn attr(tag: &str, lower: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=");
    let i = lower.find(&key)? + key.len();
    let quote = tag[i..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &tag[i + 1..];
    let end = rest.find(quote)?;
    Some(unescape(&rest[..end]))
}

/// XML's predefined and numeric character references decoded.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|i| *i <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let c = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rss_items() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>News &amp; more</title>
            <item><title>First</title><link>http://x/1</link><guid>g1</guid>
            <pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>
            <description><![CDATA[<b>bold</b>]]></description></item>
            <item><title>Second</title><link>http://x/2</link></item></channel></rss>"#;
        let f = parse(rss).expect("rss");
        assert_eq!(f.title, "News & more");
        assert_eq!(f.items.len(), 2);
        assert_eq!(f.items[0].text, "<b>bold</b>");
        assert_eq!(f.items[0].key(), "g1");
        assert_eq!(f.items[1].key(), "http://x/2");
        assert_eq!(f.items[0].date_ms(), Some(1_055_217_600_000));
        let msg = String::from_utf8(f.items[0].to_message(&f.title, 0)).expect("utf8");
        assert!(msg.contains("Subject: First\r\n") && msg.contains("From: News & more"));
    }

    #[test]
    fn atom_entries() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
            <entry><title>E1</title><link rel="alternate" href="http://a/1"/>
            <id>urn:1</id><updated>2003-12-13T18:30:02Z</updated><summary>s</summary></entry>
            </feed>"#;
        let f = parse(atom).expect("atom");
        assert_eq!(f.items[0].link, "http://a/1");
        assert_eq!(f.items[0].id, "urn:1");
        assert!(f.items[0].date_ms().is_some());
        assert!(parse("<html></html>").is_none());
    }

    #[test]
    fn non_ascii_subjects_are_encoded() {
        assert_eq!(encoded_word("caf\u{e9}"), "=?utf-8?B?Y2Fmw6k=?=");
        assert_eq!(unescape("&#233;&#xE9;&bogus;&"), "\u{e9}\u{e9}&bogus;&");
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,400}") {
            let _ = parse(&s);
            let _ = parse(&format!("<rss><item>{s}</item></rss>"));
            let _ = unescape(&s);
        }
    }
}
