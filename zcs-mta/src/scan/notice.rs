//! Notices to the recipients of a message the filters kept from them: a virus sent it to
//! the quarantine account (`zimbraVirusWarnRecipient`), or a blocked attachment type
//! refused it (`zimbraMtaBlockedExtensionWarnRecipient`), as amavis warns recipients for
//! Zimbra. The notice is a short plain-text message from the postmaster with a null
//! envelope sender (RFC 3834 §3.1.4: `Auto-Submitted: auto-generated`), naming the
//! sender, the subject and the reason, never the content.

use std::fmt::Write as _;

/// Why a message was kept from its recipients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeReason<'a> {
    /// clamd found this virus; the message is in the quarantine account.
    Virus(&'a str),
    /// An attachment of this name has a blocked extension; the message was refused.
    BlockedAttachment(&'a str),
}

/// One header field's unfolded value from a message's header block (first occurrence).
fn header(content: &[u8], name: &str) -> Option<String> {
    let end = content
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(content.len(), |p| p + 2);
    let text = String::from_utf8_lossy(&content[..end]);
    let mut value: Option<String> = None;
    for line in text.split("\r\n") {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((n, v)) = line.split_once(':')
                    && n.trim().eq_ignore_ascii_case(name)
                {
                    value = Some(v.to_string());
                }
            }
        }
    }
    value
}

/// Printable text for a header line: control characters dropped, at most 200 characters.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The notice to `recipient` about `content` (the message as sent, header first) from
/// `sender` (`""` for `<>`), made by `hostname` at `date` (RFC 5322 form) with message
/// id `id`.
pub fn notice(
    hostname: &str,
    recipient: &str,
    sender: &str,
    content: &[u8],
    reason: NoticeReason<'_>,
    date: &str,
    id: &str,
) -> Vec<u8> {
    let subject = header(content, "Subject").map_or_else(String::new, |s| clean(&s));
    let from = header(content, "From").map_or_else(String::new, |s| clean(&s));
    let sender = if sender.is_empty() { "<>" } else { sender };
    let (title, why) = match reason {
        NoticeReason::Virus(name) => (
            "a message to you was quarantined",
            format!(
                "A virus was found in it ({}). It is kept in quarantine and was not\r\n\
                 delivered to your mailbox.",
                clean(name)
            ),
        ),
        NoticeReason::BlockedAttachment(name) => (
            "a message to you was refused",
            format!(
                "It carried an attachment of a type this server does not accept ({}).\r\n\
                 It was returned to its sender and not delivered to your mailbox.",
                clean(name)
            ),
        ),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "From: Postmaster <postmaster@{host}>\r\nTo: <{to}>\r\nSubject: Notice: {title}\r\n\
         Date: {date}\r\nMessage-ID: <{id}.notice@{host}>\r\nAuto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{why}\r\n\r\n\
         Envelope sender: {sender}\r\nFrom: {from}\r\nSubject: {subject}\r\n",
        host = clean(hostname),
        to = clean(recipient),
        sender = clean(sender),
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_the_reason_not_the_content() {
        let msg = b"From: Eve <eve@y.test>\r\nSubject: invoice\r\n \r\n\tfolded\r\n\r\nSECRET\r\n";
        let n = notice(
            "mx.x.test",
            "ann@x.test",
            "eve@y.test",
            msg,
            NoticeReason::Virus("Test.EICAR"),
            "Sun, 6 Dec 2026 10:00:00 +0000",
            "Q1",
        );
        let text = String::from_utf8(n).unwrap();
        assert!(
            text.starts_with("From: Postmaster <postmaster@mx.x.test>\r\nTo: <ann@x.test>\r\n")
        );
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
        assert!(text.contains("(Test.EICAR)"));
        assert!(text.contains("Subject: invoice folded\r\n"), "{text}");
        assert!(text.contains("Envelope sender: eve@y.test\r\n"));
        assert!(!text.contains("SECRET"));
        let n = notice(
            "mx",
            "a@x",
            "",
            b"no header at all",
            NoticeReason::BlockedAttachment("a.exe\r\nBcc: x"),
            "d",
            "Q2",
        );
        let text = String::from_utf8(n).unwrap();
        assert!(text.contains("(a.exeBcc: x)") && text.contains("Envelope sender: <>"));
    }

    proptest::proptest! {
        #[test]
        fn any_content_makes_a_notice(
            content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)
        ) {
            let n = notice("h", "r@x", "s@y", &content, NoticeReason::Virus("v"), "d", "i");
            let text = String::from_utf8(n).unwrap();
            let head = text.split("\r\n\r\n").next().unwrap_or("");
            proptest::prop_assert_eq!(head.lines().count(), 9);
        }
    }
}
