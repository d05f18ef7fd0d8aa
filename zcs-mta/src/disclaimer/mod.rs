//! Domain disclaimers (Zimbra's mandatory signatures, which amavis adds with altermime):
//! mail our users send out gets their domain's plain-text disclaimer appended to its
//! body text and the HTML one to its body HTML (`zimbraDomainMandatoryMailSignatureEnabled`,
//! `zimbraAmavisDomainDisclaimerText`, `zimbraAmavisDomainDisclaimerHTML`; with
//! `zimbraAmavisOutboundDisclaimersOnly` mail between users of one domain gets none).
//!
//! [`add_disclaimer`] is the pure rewrite (see `mime` for what it touches); the listener
//! runs [`DisclaimerPolicy::apply`] after the scanners and before DKIM signing, so the
//! signature covers the rewritten body. Where the texts come from is the
//! [`DisclaimerSource`] the server gives (the directory's domain entries).

mod codec;
mod mime;

use std::sync::Arc;

use async_trait::async_trait;

/// One domain's disclaimer texts. With only one of the two, the other is derived from
/// it (HTML escaped from the text, text extracted from the HTML).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disclaimer {
    /// For text/plain bodies (`zimbraAmavisDomainDisclaimerText`).
    pub text: Option<String>,
    /// For text/html bodies (`zimbraAmavisDomainDisclaimerHTML`).
    pub html: Option<String>,
}

impl Disclaimer {
    /// The disclaimer when at least one text is set and not blank.
    pub fn new(text: Option<String>, html: Option<String>) -> Option<Self> {
        let keep = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
        let (text, html) = (keep(text), keep(html));
        (text.is_some() || html.is_some()).then_some(Disclaimer { text, html })
    }
}

/// `text` as HTML: escaped, line breaks as `<br>`.
fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>\r\n");
        }
        for c in line.chars() {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                _ => out.push(c),
            }
        }
    }
    format!("<div>{out}</div>")
}

/// `html` as plain text: tags dropped (line breaks for `<br>` and the ends of blocks),
/// the common entities decoded, blank lines squeezed.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            out.push('<');
            rest = after;
            continue;
        };
        let tag = after[..gt].trim().to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .find(|n| !n.is_empty());
        let block = matches!(
            name,
            Some("br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "table")
        );
        if block && (tag.starts_with('/') || name == Some("br")) {
            out.push('\n');
        }
        rest = &after[gt + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut lines: Vec<&str> = Vec::new();
    for line in out.lines().map(str::trim) {
        if !(line.is_empty() && lines.last().is_none_or(|l| l.is_empty())) {
            lines.push(line);
        }
    }
    lines.join("\n").trim().to_string()
}

/// `message` (header and body) with `disclaimer` added to its first body text/plain part
/// and its first body text/html part, or `None` when nothing changed: signed or
/// encrypted mail, no body text, parts already ending with the disclaimer, or content
/// that cannot be decoded. The rest of the message is kept byte for byte; a rewritten
/// part keeps its transfer encoding (7bit becomes quoted-printable when the disclaimer
/// is not ASCII) and its charset, unless the disclaimer cannot be written in it (the
/// part is then converted to UTF-8). Never panics; cost: one pass over the message.
pub fn add_disclaimer(message: &[u8], disclaimer: &Disclaimer) -> Option<Vec<u8>> {
    let text = match (&disclaimer.text, &disclaimer.html) {
        (Some(t), _) => t.clone(),
        (None, Some(h)) => html_to_text(h),
        (None, None) => return None,
    };
    let html = match &disclaimer.html {
        Some(h) => h.clone(),
        None => text_to_html(&text),
    };
    mime::rewrite(
        message,
        mime::Additions {
            text: &text,
            html: &html,
        },
    )
}

/// Where the disclaimers come from.
#[async_trait]
pub trait DisclaimerSource: Send + Sync {
    /// The disclaimer of mail sent from `domain` (lower case), or `None` when that
    /// domain has none or disclaimers are off for it.
    async fn disclaimer(&self, domain: &str) -> Option<Disclaimer>;
}

/// A fixed table of disclaimers by domain, for tests and simple setups.
#[derive(Clone, Debug, Default)]
pub struct StaticDisclaimers {
    /// `(domain, disclaimer)` pairs; domains compared case-insensitively.
    pub domains: Vec<(String, Disclaimer)>,
}

#[async_trait]
impl DisclaimerSource for StaticDisclaimers {
    async fn disclaimer(&self, domain: &str) -> Option<Disclaimer> {
        self.domains
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(domain))
            .map(|(_, x)| x.clone())
    }
}

/// The disclaimer settings of a listener.
#[derive(Clone)]
pub struct DisclaimerPolicy {
    /// The texts by sender domain.
    pub source: Arc<dyn DisclaimerSource>,
    /// `zimbraAmavisOutboundDisclaimersOnly`: mail whose recipients are all in the
    /// sender's domain gets no disclaimer.
    pub outbound_only: bool,
}

impl std::fmt::Debug for DisclaimerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisclaimerPolicy")
            .field("outbound_only", &self.outbound_only)
            .finish_non_exhaustive()
    }
}

/// The lower-case domain of an address (`user@domain`, angle brackets allowed).
fn domain_of(address: &str) -> Option<String> {
    let a = address.trim().trim_start_matches('<').trim_end_matches('>');
    a.rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// The sender's domain: the envelope sender's, else the `From` field's first address.
fn sender_domain(mail_from: &str, content: &[u8]) -> Option<String> {
    domain_of(mail_from).or_else(|| {
        let msg = mail_parser::MessageParser::default().parse_headers(content)?;
        let from = msg.from()?.first()?.address()?.to_string();
        domain_of(&from)
    })
}

impl DisclaimerPolicy {
    /// The message from `mail_from` to `recipients` with its sender domain's disclaimer,
    /// or `None` when it gets none (no disclaimer for that domain, all recipients in the
    /// sender's domain under `outbound_only`, or [`add_disclaimer`] changed nothing).
    /// The caller decides which mail is ours (authenticated or trusted clients).
    pub async fn apply(
        &self,
        content: &[u8],
        mail_from: &str,
        recipients: &[&str],
    ) -> Option<Vec<u8>> {
        let domain = sender_domain(mail_from, content)?;
        if self.outbound_only
            && !recipients.is_empty()
            && recipients
                .iter()
                .all(|r| domain_of(r).is_some_and(|d| d == domain))
        {
            return None;
        }
        let disclaimer = self.source.disclaimer(&domain).await?;
        add_disclaimer(content, &disclaimer)
    }
}

#[cfg(test)]
mod tests;
