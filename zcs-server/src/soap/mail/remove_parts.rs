//! RemoveAttachmentsRequest: a message rewritten without the MIME parts it names. The
//! new message keeps the old one's folder, flags, tags and date; the old one is
//! deleted, as Zimbra saves the rewritten message and deletes the original.

use mail_parser::{MessageParser, PartType};
use zcs_core::{FaultCode, Flags, ServiceError, ServiceResult};
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::parse_id;
use super::super::response;

/// The byte ranges of the top message's parts, numbered as Zimbra numbers them
/// (`1`, `2`, `2.1`); parts inside an attached message are not listed.
fn part_spans(raw: &[u8]) -> Vec<(String, usize, usize)> {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(root) = msg.parts.first() else {
        return out;
    };
    // Each entry: a multipart's index and its number prefix.
    let mut stack: Vec<(u32, String)> = Vec::new();
    if let PartType::Multipart(_) = root.body {
        stack.push((0, String::new()));
    }
    let mut guard = 0;
    while let Some((idx, prefix)) = stack.pop() {
        guard += 1;
        if guard > 1000 {
            break;
        }
        let Some(PartType::Multipart(kids)) = msg.parts.get(idx as usize).map(|p| &p.body) else {
            continue;
        };
        for (i, k) in kids.iter().enumerate() {
            let number = format!("{prefix}{}", i + 1);
            if let Some(p) = msg.parts.get(*k as usize) {
                out.push((
                    number.clone(),
                    p.offset_header as usize,
                    p.offset_end as usize,
                ));
                if matches!(p.body, PartType::Multipart(_)) {
                    stack.push((*k, format!("{number}.")));
                }
            }
        }
    }
    out
}

/// `raw` without the parts numbered `numbers`: each is cut from the line break before
/// its boundary line to its end, so the boundary after it closes the part before.
///
/// # Errors
/// `mail.NO_SUCH_PART` when a number names no part of the message (a message that is
/// not multipart has no part to remove).
fn without_parts(raw: &[u8], numbers: &[String]) -> ServiceResult<Vec<u8>> {
    let spans = part_spans(raw);
    let mut cuts = Vec::new();
    for n in numbers {
        let Some((_, start, end)) = spans.iter().find(|(num, _, _)| num == n) else {
            return Err(ServiceError::new(
                FaultCode::NoSuchPart,
                format!("no such part: {n}"),
            ));
        };
        // Back from the part's headers over its boundary line to the line break
        // before it (RFC 2046 §5.1.1: that break belongs to the boundary).
        let head = &raw[..(*start).min(raw.len())];
        let line = head[..head.len().saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let from = if line >= 2 && raw[line - 2] == b'\r' {
            line - 2
        } else {
            line.saturating_sub(1)
        };
        cuts.push((from, (*end).min(raw.len())));
    }
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for (from, to) in cuts {
        if from >= at {
            out.extend_from_slice(&raw[at..from]);
        }
        at = at.max(to);
    }
    out.extend_from_slice(&raw[at..]);
    Ok(out)
}

/// RemoveAttachmentsRequest `m id= part="n[,n...]"`: the message saved again without
/// those parts, answered as GetMsg shows it.
///
/// # Errors
/// `mail.NO_SUCH_MSG`; `service.INVALID_REQUEST` for a missing `part`;
/// `mail.NO_SUCH_PART` for one naming no part of the message.
pub(super) async fn remove_attachments(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let m = req
        .child("m")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: m"))?;
    let id_text = m.req("id")?;
    let id = parse_id(
        id_text.rsplit(':').next().unwrap_or(""),
        FaultCode::NoSuchMsg,
    )?;
    let numbers: Vec<String> = m
        .req("part")?
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if numbers.is_empty() {
        return Err(ServiceError::invalid_request("no part named"));
    }
    let meta = mb.message(id).await.map_err(store_fault)?;
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let rewritten = without_parts(&raw, &numbers)?;
    let mut flags = meta.flags;
    let attached = super::parts::numbered_parts(&rewritten)
        .iter()
        .any(|p| p.disposition.as_deref() == Some("attachment") || p.filename.is_some());
    if !attached {
        flags = Flags(flags.0 & !Flags::ATTACHED);
    }
    let saved = mb
        .append_tagged(
            meta.folder,
            &rewritten,
            flags,
            &meta.tags,
            meta.internal_date_ms,
        )
        .await
        .map_err(store_fault)?;
    mb.delete_items(&[id]).await.map_err(store_fault)?;
    ctx.svc.indexer.notify(mb.account());
    let el = super::message_element(mb, saved.id, false, &[]).await?;
    let mut resp = response("RemoveAttachmentsResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &str = "From: a@b.c\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
        --X\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
        --X\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"a.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n\
        --X\r\nContent-Type: text/csv; name=\"b.csv\"\r\n\
        Content-Disposition: attachment; filename=\"b.csv\"\r\n\r\nx,y\r\n\
        --X--\r\n";

    fn names(raw: &[u8]) -> Vec<String> {
        super::super::parts::numbered_parts(raw)
            .into_iter()
            .map(|p| format!("{} {}", p.number, p.content_type))
            .collect()
    }

    #[test]
    fn named_parts_are_cut_and_the_rest_kept() {
        let out = without_parts(MIXED.as_bytes(), &["2".to_string()]).expect("cut");
        assert_eq!(names(&out), ["1 text/plain", "2 text/csv"]);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("hello\r\n--X\r\nContent-Type: text/csv"),
            "{text}"
        );
        let both =
            without_parts(MIXED.as_bytes(), &["3".to_string(), "2".to_string()]).expect("cut both");
        assert_eq!(names(&both), ["1 text/plain"]);
        assert!(String::from_utf8_lossy(&both).ends_with("hello\r\n--X--\r\n"));
    }

    #[test]
    fn unknown_parts_are_refused() {
        let err = without_parts(MIXED.as_bytes(), &["9".to_string()]).err();
        assert_eq!(err.map(|e| e.code), Some(FaultCode::NoSuchPart));
        assert!(without_parts(b"Subject: x\r\n\r\nbody\r\n", &["1".to_string()]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = without_parts(&raw, &["1".to_string(), "2".to_string()]);
        }
    }
}
