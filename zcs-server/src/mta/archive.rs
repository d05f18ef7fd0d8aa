//! Archiving and legal intercept at the MTA (spec 05 §1.1 and §1.3).
//!
//! Archiving: when the envelope sender or a recipient has `zimbraArchiveEnabled` TRUE,
//! one more copy goes to its archive mailbox (`amavisArchiveQuarantineTo`, the current
//! target, else every `zimbraArchiveAccount`), with `X-Envelope-From` and one
//! `X-Envelope-To` per envelope recipient in front; the live mailbox's copy has neither.
//! The decision uses the envelope, so Bcc and list members are archived too.
//!
//! Legal intercept: an account with `zimbraInterceptAddress` values gets, for each
//! message it receives (`add message`) or sends (`send message`), a cover message to
//! those addresses from the null sender with `Auto-Submitted: auto-replied (zimbra;
//! intercept)`, a text part from the `zimbraInterceptFrom` / `zimbraInterceptSubject` /
//! `zimbraInterceptBody` templates, and the original attached as `message/rfc822` (its
//! header lines only with `zimbraInterceptSendHeadersOnly`).
//!
//! LIMITATION: drafts saved through SOAP (`save draft`) are not intercepted here (the
//! MTA never sees them), and `zimbraArchiveMailFrom` is not used: archive and intercept
//! copies go out from the null sender.

use std::fmt::Write as _;

use zcs_core::{Attrs, ItemId};
use zcs_mta::InboundMessage;
use zcs_mta::queue::Queue;

use super::outbound::{header_block, header_values, prepend_headers, send_on};

const DEFAULT_FROM: &str = "Postmaster <postmaster@${ACCOUNT_DOMAIN}>";
const DEFAULT_SUBJECT: &str = "Intercepted message for ${ACCOUNT_ADDRESS}: ${MESSAGE_SUBJECT}";
const DEFAULT_BODY: &str = "Intercepted message for ${ACCOUNT_ADDRESS}.${NEWLINE}\
Operation=${OPERATION}, folder=${FOLDER_NAME}, folder ID=${FOLDER_ID}.";

fn is_true(attrs: &Attrs, name: &str) -> bool {
    attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Where an account's mail is archived: empty unless `zimbraArchiveEnabled` is TRUE.
pub fn archive_addresses(effective: &Attrs) -> Vec<String> {
    if !is_true(effective, "zimbraArchiveEnabled") {
        return Vec::new();
    }
    let current: Vec<String> = effective
        .get_all("amavisArchiveQuarantineTo")
        .iter()
        .filter(|a| a.contains('@'))
        .cloned()
        .collect();
    if !current.is_empty() {
        return current;
    }
    effective
        .get_all("zimbraArchiveAccount")
        .iter()
        .filter(|a| a.contains('@'))
        .cloned()
        .collect()
}

/// The archive copy of `data`: `X-Envelope-From` and `X-Envelope-To` fields in front.
pub fn archive_copy(envelope_from: &str, recipients: &[String], data: &[u8]) -> Vec<u8> {
    let from = format!("<{}>", clean(envelope_from));
    let tos: Vec<String> = recipients
        .iter()
        .map(|r| format!("<{}>", clean(r)))
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![("X-Envelope-From", &from)];
    fields.extend(tos.iter().map(|t| ("X-Envelope-To", t.as_str())));
    prepend_headers(&fields, data)
}

/// Drops line breaks and other control characters from a header value.
fn clean(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// The intercept addresses of an account (`zimbraInterceptAddress`).
pub fn intercept_addresses(effective: &Attrs) -> Vec<String> {
    effective
        .get_all("zimbraInterceptAddress")
        .iter()
        .flat_map(|v| v.split([',', ' ']))
        .map(str::trim)
        .filter(|a| a.contains('@'))
        .map(str::to_string)
        .collect()
}

/// What happened to the intercepted message.
#[derive(Clone, Copy, Debug)]
pub struct Operation<'a> {
    /// `add message` or `send message`.
    pub name: &'a str,
    /// The folder it was filed in (`none` for sent mail).
    pub folder_name: &'a str,
    /// That folder's id (`none` for sent mail).
    pub folder_id: &'a str,
}

/// Expands `${NAME}` placeholders of `template` with `vars`; unknown names and a `${`
/// without its `}` are left as they are.
pub fn expand(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An RFC 2047 encoded word when `value` is not plain ASCII.
fn header_text(value: &str) -> String {
    let value = clean(value);
    if value.is_ascii() {
        return value;
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    format!("=?utf-8?b?{b64}?=")
}

/// The cover message for intercepting `data` of `account` under `op`, addressed to `to`.
pub fn intercept_message(
    effective: &Attrs,
    account: &str,
    op: Operation<'_>,
    to: &[String],
    data: &[u8],
) -> Vec<u8> {
    let domain = account.rsplit_once('@').map_or("", |(_, d)| d);
    let subject = header_values(data, "Subject")
        .into_iter()
        .next()
        .unwrap_or_default();
    let vars = [
        ("ACCOUNT_DOMAIN", domain),
        ("ACCOUNT_ADDRESS", account),
        ("MESSAGE_SUBJECT", subject.trim()),
        ("OPERATION", op.name),
        ("FOLDER_NAME", op.folder_name),
        ("FOLDER_ID", op.folder_id),
        ("NEWLINE", "\r\n"),
    ];
    let template = |name: &str, default: &str| {
        let t = effective.get(name).unwrap_or(default).to_string();
        expand(&t, &vars)
    };
    let from = template("zimbraInterceptFrom", DEFAULT_FROM);
    let subject = template("zimbraInterceptSubject", DEFAULT_SUBJECT);
    let body = template("zimbraInterceptBody", DEFAULT_BODY);
    let headers_only = is_true(effective, "zimbraInterceptSendHeadersOnly");
    let boundary = format!("=_intercept_{}", uuid::Uuid::new_v4().simple());
    let mut out = String::new();
    let _ = write!(out, "From: {}\r\n", header_text(&from));
    let _ = write!(out, "To: {}\r\n", clean(&to.join(", ")));
    let _ = write!(out, "Subject: {}\r\n", header_text(&subject));
    let _ = write!(out, "Date: {}\r\n", chrono::Utc::now().to_rfc2822());
    let _ = write!(
        out,
        "Message-ID: <{}@{domain}>\r\n",
        uuid::Uuid::new_v4().simple()
    );
    out.push_str("Auto-Submitted: auto-replied (zimbra; intercept)\r\nMIME-Version: 1.0\r\n");
    let _ = write!(
        out,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    );
    let _ = write!(
        out,
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
    );
    out.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    out.push_str(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
    let _ = write!(out, "\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n");
    out.push_str("Content-Disposition: attachment\r\n\r\n");
    let mut bytes = out.into_bytes();
    if headers_only {
        bytes.extend_from_slice(header_block(data));
        bytes.extend_from_slice(b"\r\n");
    } else {
        bytes.extend_from_slice(data);
        if !data.ends_with(b"\r\n") {
            bytes.extend_from_slice(b"\r\n");
        }
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    bytes
}

/// The name of a well-known folder, for intercept notices.
fn folder_name(id: ItemId) -> String {
    let name = match id.0 {
        zcs_core::folder::INBOX => "Inbox",
        zcs_core::folder::TRASH => "Trash",
        zcs_core::folder::JUNK => "Junk",
        zcs_core::folder::SENT => "Sent",
        zcs_core::folder::DRAFTS => "Drafts",
        // LIMITATION: other folders are named by id only.
        _ => return format!("folder {}", id.0),
    };
    name.to_string()
}

/// Sends the archive copy and the intercept notice for `account` (effective attributes
/// `effective`) about `message`: received into `folder`, or sent when `folder` is
/// `None`. Failures are logged; delivery never fails for them.
pub async fn archive_and_intercept(
    queue: Option<&Queue>,
    effective: &Attrs,
    account: &str,
    message: &InboundMessage,
    folder: Option<ItemId>,
) {
    let archive_to = archive_addresses(effective);
    if !archive_to.is_empty() {
        let rcpts: Vec<String> = match folder {
            Some(_) => vec![account.to_string()],
            None => message
                .recipients
                .iter()
                .map(|r| r.address.clone())
                .collect(),
        };
        let copy = archive_copy(&message.mail_from, &rcpts, message.content());
        tracing::info!(account, "archive copy");
        send_on(queue, "", &archive_to, &copy).await;
    }
    let intercept_to = intercept_addresses(effective);
    if !intercept_to.is_empty() {
        let (name, id) = match folder {
            Some(f) => (folder_name(f), f.0.to_string()),
            None => ("none".to_string(), "none".to_string()),
        };
        let op = Operation {
            name: if folder.is_some() {
                "add message"
            } else {
                "send message"
            },
            folder_name: &name,
            folder_id: &id,
        };
        let cover = intercept_message(effective, account, op, &intercept_to, message.content());
        tracing::info!(account, operation = op.name, "legal intercept");
        send_on(queue, "", &intercept_to, &cover).await;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn templates() {
        let vars = [("A", "1"), ("NEWLINE", "\r\n")];
        assert_eq!(expand("x${A}y${NEWLINE}", &vars), "x1y\r\n");
        assert_eq!(expand("${B} ${A", &vars), "${B} ${A");
        assert_eq!(expand("", &vars), "");
    }

    #[test]
    fn cover_message() {
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraInterceptSendHeadersOnly", "TRUE");
        let data = b"Subject: secret plans\r\nFrom: a@b.test\r\n\r\nthe body\r\n";
        let op = Operation {
            name: "add message",
            folder_name: "Inbox",
            folder_id: "2",
        };
        let to = vec!["cop@law.test".to_string()];
        let msg = String::from_utf8(intercept_message(&attrs, "u@d.test", op, &to, data)).unwrap();
        assert!(
            msg.contains("From: Postmaster <postmaster@d.test>\r\n"),
            "{msg}"
        );
        assert!(msg.contains("Subject: Intercepted message for u@d.test: secret plans\r\n"));
        assert!(msg.contains("Operation=add message, folder=Inbox, folder ID=2."));
        assert!(msg.contains("Auto-Submitted: auto-replied (zimbra; intercept)"));
        assert!(msg.contains("Subject: secret plans\r\nFrom: a@b.test\r\n"));
        assert!(!msg.contains("the body"), "headers only");

        let mut archived = Attrs::new();
        assert!(archive_addresses(&archived).is_empty());
        archived.set_one("zimbraArchiveEnabled", "TRUE");
        archived.set_one("zimbraArchiveAccount", "u-2026@d.test.archive");
        assert_eq!(archive_addresses(&archived), vec!["u-2026@d.test.archive"]);
        let copy = archive_copy("s@x.test", &["u@d.test".into()], b"Subject: s\r\n\r\nb");
        assert!(copy.starts_with(b"X-Envelope-From: <s@x.test>\r\nX-Envelope-To: <u@d.test>\r\n"));
    }

    proptest! {
        #[test]
        fn expand_never_panics(t in "[${}A-Z_ x]{0,40}") {
            let _ = expand(&t, &[("A", "v"), ("NEWLINE", "\r\n")]);
        }

        #[test]
        fn expand_without_placeholders_is_identity(t in "[a-z {}$]{0,40}") {
            prop_assume!(!t.contains("${"));
            prop_assert_eq!(expand(&t, &[("A", "v")]), t);
        }
    }
}
