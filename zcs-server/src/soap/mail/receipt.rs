//! Read receipts: SendDeliveryReportRequest `mid=` answers a message's
//! `Disposition-Notification-To` request with a message disposition notification
//! (RFC 8098) sent to that address, as Zimbra's client does when the user agrees to
//! send one, and marks the message notified. A message that asks for no receipt gets
//! none; the request still succeeds, as in Zimbra.

use mail_parser::MessageParser;
use zcs_core::{FaultCode, Flags, ServiceResult};
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;
use super::compose::encode_word;
use super::send::deliver;

/// What a receipt needs from the message it answers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ReceiptRequest {
    /// The addresses of `Disposition-Notification-To` (RFC 8098 §2.1); empty when the
    /// message asks for no receipt.
    pub notify: Vec<String>,
    /// The message's subject, for the receipt's subject.
    pub subject: String,
    /// Its `Message-ID` with brackets, for `Original-Message-ID`.
    pub message_id: Option<String>,
}

/// Reads the receipt request of the raw message `raw`.
pub(crate) fn receipt_request(raw: &[u8]) -> ReceiptRequest {
    let Some(msg) = MessageParser::default().parse_headers(raw) else {
        return ReceiptRequest::default();
    };
    let notify = msg
        .header_raw("Disposition-Notification-To")
        .map(addresses)
        .unwrap_or_default();
    ReceiptRequest {
        notify,
        subject: msg.subject().unwrap_or("").to_string(),
        message_id: msg.message_id().map(|m| format!("<{m}>")),
    }
}

/// The addresses of an address-list header value (`A <a@x>, b@y`): the part in angle
/// brackets when there is one, else the bare word with an `@`.
fn addresses(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|one| {
            let one = one.trim();
            let addr = match (one.rfind('<'), one.rfind('>')) {
                (Some(a), Some(b)) if a < b => &one[a + 1..b],
                _ => one.split_whitespace().find(|w| w.contains('@'))?,
            };
            let addr = addr.trim().trim_matches('"');
            (addr.contains('@') && !addr.contains(['\r', '\n', ' '])).then(|| addr.to_string())
        })
        .collect()
}

/// The MDN (RFC 8098 §3) that `reader` sends for `req`: a `multipart/report;
/// report-type=disposition-notification` with a human-readable part and the
/// `message/disposition-notification` part saying the message was displayed
/// (`manual-action/MDN-sent-manually; displayed`, §3.2.6).
pub(crate) fn build_mdn(
    reader: &str,
    req: &ReceiptRequest,
    now: chrono::DateTime<chrono::Utc>,
    boundary: &str,
) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let reader = clean(reader);
    let domain = reader.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let subject = encode_word(&format!("Read-Receipt: {}", req.subject));
    let mut out = format!(
        "From: {reader}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=disposition-notification;\r\n\
         \tboundary=\"{boundary}\"\r\n\r\n",
        req.notify.join(", "),
        now.to_rfc2822(),
        uuid::Uuid::new_v4(),
    );
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Your message was read by {reader} on {}.\r\n\r\n",
        now.to_rfc2822()
    ));
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: message/disposition-notification\r\n\r\n\
         Reporting-UA: {domain}; zcs\r\nFinal-Recipient: rfc822;{reader}\r\n"
    ));
    if let Some(mid) = &req.message_id {
        out.push_str(&format!("Original-Message-ID: {}\r\n", clean(mid)));
    }
    out.push_str("Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n");
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

/// SendDeliveryReportRequest `mid=`: sends the read receipt message `mid` asks for
/// (none when it asks for none) and flags it notified.
///
/// # Errors
/// `mail.NO_SUCH_MSG`; the send faults of [`deliver`].
pub(crate) async fn send_delivery_report(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let id = super::super::folders::parse_id(req.req("mid")?, FaultCode::NoSuchMsg)?;
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let want = receipt_request(&raw);
    if !want.notify.is_empty() {
        let boundary = format!("=_{}", uuid::Uuid::new_v4().simple());
        let mdn = build_mdn(&account.name, &want, chrono::Utc::now(), &boundary);
        deliver(ctx, &account, &want.notify, &mdn).await?;
        tracing::info!(account = %account.name, item = id.0, "read receipt sent");
    }
    mb.set_flags(&[id], Flags::NOTIFIED, true)
        .await
        .map_err(store_fault)?;
    Ok(response("SendDeliveryReportResponse", NS_MAIL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_request_and_builds_an_mdn() {
        let raw = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: hello\r\n\
            Message-ID: <m1@x.test>\r\nDisposition-Notification-To: A <a@x.test>\r\n\r\nbody\r\n";
        let req = receipt_request(raw);
        assert_eq!(req.notify, vec!["a@x.test".to_string()]);
        assert_eq!(
            addresses(" \"B, C\" <b@y>, c@z , junk"),
            vec!["b@y".to_string(), "c@z".to_string()]
        );
        assert_eq!(req.subject, "hello");
        assert_eq!(req.message_id.as_deref(), Some("<m1@x.test>"));
        let now = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
        let mdn = build_mdn("b@y.test", &req, now, "BB");
        let parsed = MessageParser::default().parse(&mdn).expect("parses");
        assert_eq!(parsed.subject(), Some("Read-Receipt: hello"));
        let text = String::from_utf8_lossy(&mdn);
        assert!(text.contains("report-type=disposition-notification"));
        assert!(text.contains("Original-Message-ID: <m1@x.test>\r\n"));
        assert!(text.contains("Disposition: manual-action/MDN-sent-manually; displayed"));
        assert!(text.contains("Final-Recipient: rfc822;b@y.test"));
    }

    #[test]
    fn no_header_no_receipt() {
        let req = receipt_request(b"From: a@x.test\r\nSubject: s\r\n\r\nbody\r\n");
        assert!(req.notify.is_empty());
        assert!(receipt_request(b"").notify.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let req = receipt_request(&raw);
            let now = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
            let _ = build_mdn("r@x", &req, now, "B");
        }
    }
}
