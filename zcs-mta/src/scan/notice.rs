//! Notices about a message the filters kept from its recipients: a virus sent it to
//! the quarantine account, or a blocked attachment type refused it. The recipients get
//! [`notice`] (`zimbraVirusWarnRecipient`, `zimbraMtaBlockedExtensionWarnRecipient`) and
//! the administrator [`admin_notice`] (`zimbraVirusWarnAdmin`,
//! `zimbraMtaBlockedExtensionWarnAdmin`), as amavis warns them for Zimbra. A notice is a
//! short plain-text message from the postmaster with a null envelope sender (RFC 3834
//! §3.1.4: `Auto-Submitted: auto-generated`), naming the sender, the subject and the
//! reason, never the content.

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

/// The notice to the administrator `admin` about `content` from `sender` (`""` for
/// `<>`, sent by client `client`) to `recipients`, made by `hostname` at `date` with
/// message id `id`. Names the virus or the attachment, the envelope, the client and
/// the message's `From`, `Subject` and `Message-ID`, never its content.
#[allow(clippy::too_many_arguments)]
pub fn admin_notice(
    hostname: &str,
    admin: &str,
    sender: &str,
    recipients: &[&str],
    client: &str,
    content: &[u8],
    reason: NoticeReason<'_>,
    date: &str,
    id: &str,
) -> Vec<u8> {
    let field = |name: &str| header(content, name).map_or_else(String::new, |s| clean(&s));
    let sender = if sender.is_empty() { "<>" } else { sender };
    let (title, why) = match reason {
        NoticeReason::Virus(name) => (
            format!("virus found ({})", clean(name)),
            format!(
                "A virus was found in a message ({}). It was delivered to the quarantine\r\n\
                 account only.",
                clean(name)
            ),
        ),
        NoticeReason::BlockedAttachment(name) => (
            "blocked attachment".to_string(),
            format!(
                "A message was refused for an attachment of a blocked type ({}).",
                clean(name)
            ),
        ),
    };
    let mut rcpts = String::new();
    for r in recipients.iter().take(50) {
        let _ = write!(rcpts, "Recipient: {}\r\n", clean(r));
    }
    if recipients.len() > 50 {
        let _ = write!(rcpts, "(and {} more recipients)\r\n", recipients.len() - 50);
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "From: Postmaster <postmaster@{host}>\r\nTo: <{to}>\r\nSubject: Notice: {title}\r\n\
         Date: {date}\r\nMessage-ID: <{id}.admin-notice@{host}>\r\n\
         Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {why}\r\n\r\nQueue id: {qid}\r\nClient: {client}\r\nEnvelope sender: {sender}\r\n\
         {rcpts}From: {from}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n",
        host = clean(hostname),
        to = clean(admin),
        title = clean(&title),
        qid = clean(id),
        client = clean(client),
        sender = clean(sender),
        from = field("From"),
        subject = field("Subject"),
        msgid = field("Message-ID"),
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

    #[test]
    fn admin_notices_name_the_envelope() {
        let msg = b"From: Eve <eve@y.test>\r\nSubject: invoice\r\nMessage-ID: <m1@y>\r\n\r\nX\r\n";
        let n = admin_notice(
            "mx.x.test",
            "admin@x.test",
            "eve@y.test",
            &["ann@x.test", "bob@x.test"],
            "192.0.2.7",
            msg,
            NoticeReason::Virus("Eicar-Signature\r\nBcc: z"),
            "Sun, 6 Dec 2026 10:00:00 +0000",
            "Q9",
        );
        let text = String::from_utf8(n).unwrap();
        assert!(
            text.starts_with("From: Postmaster <postmaster@mx.x.test>\r\nTo: <admin@x.test>\r\n")
        );
        assert!(text.contains("Subject: Notice: virus found (Eicar-SignatureBcc: z)\r\n"));
        assert!(text.contains("Recipient: ann@x.test\r\nRecipient: bob@x.test\r\n"));
        assert!(text.contains("Client: 192.0.2.7\r\n") && text.contains("Queue id: Q9\r\n"));
        assert!(text.contains("Message-ID: <m1@y>\r\n") && !text.contains("\r\nX\r\n"));
        let head = text.split("\r\n\r\n").next().unwrap();
        assert_eq!(head.lines().count(), 9);
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
