//! Attachment blocking by file name extension (`zimbraMtaBlockedExtension`, amavis's
//! banned files): finds the first attachment, at any depth of attached messages, whose
//! name ends in a blocked extension.
//!
//! A pure function over the message octets; the verdict is applied in `scan`.

use mail_parser::{MessageParser, MimeHeaders};

/// Attached messages looked into, at most, below the top level.
const MAX_DEPTH: usize = 5;

/// The name of the first attachment whose extension (after the last dot, compared
/// case-insensitively, without the dot) is in `blocked`, or `None`. An unparsable
/// message has no attachments. Cost: one MIME parse.
pub fn blocked_attachment(content: &[u8], blocked: &[String]) -> Option<String> {
    if blocked.is_empty() {
        return None;
    }
    let message = MessageParser::default().parse(content)?;
    find(&message, blocked, 0)
}

fn find(message: &mail_parser::Message<'_>, blocked: &[String], depth: usize) -> Option<String> {
    for part in message.attachments() {
        if let Some(name) = part.attachment_name() {
            let ext = name.rsplit_once('.').map(|(_, e)| e.trim()).unwrap_or("");
            if blocked
                .iter()
                .any(|b| b.trim_start_matches('.').eq_ignore_ascii_case(ext))
            {
                return Some(name.to_string());
            }
        }
        if depth < MAX_DEPTH
            && let Some(inner) = part.message()
            && let Some(found) = find(inner, blocked, depth + 1)
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn with_attachment(name: &str) -> Vec<u8> {
        format!(
            "From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
             --B\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--B--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn finds_blocked_names() {
        let blocked = vec!["exe".to_string(), ".bat".to_string()];
        assert_eq!(
            blocked_attachment(&with_attachment("setup.EXE"), &blocked),
            Some("setup.EXE".into())
        );
        assert_eq!(
            blocked_attachment(&with_attachment("run.bat"), &blocked),
            Some("run.bat".into())
        );
        assert_eq!(
            blocked_attachment(&with_attachment("report.pdf"), &blocked),
            None
        );
        assert_eq!(blocked_attachment(&with_attachment("setup.exe"), &[]), None);

        // Inside an attached message.
        let inner = with_attachment("deep.exe");
        let mut outer = b"From: c@d.test\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"O\"\r\n\r\n--O\r\n\
            Content-Type: message/rfc822\r\n\r\n"
            .to_vec();
        outer.extend_from_slice(&inner);
        outer.extend_from_slice(b"\r\n--O--\r\n");
        assert_eq!(
            blocked_attachment(&outer, &blocked),
            Some("deep.exe".into())
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = blocked_attachment(&bytes, &["exe".to_string()]);
        }
    }
}
