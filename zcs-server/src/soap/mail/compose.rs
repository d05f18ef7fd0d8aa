//! Builds the MIME message of SendMsg and SaveDraft from their `m` element, as Zimbra's
//! `ParseMimeMessage` does: addresses (`e t="f|t|c|b|r"`), subject (`su`), in-reply-to
//! (`irt`), the body (`mp ct=` with `content`, or a `multipart/*` `mp` of such parts),
//! and attachments (`attach`): uploads by id (`aid=`), parts of a message already in
//! the mailbox (`mp mid= part=`), whole messages (`m id=`, as message/rfc822) and
//! contacts (`cn id=`, as a vCard). With attachments the message is multipart/mixed,
//! the body first (RFC 2046 §5.1.3). Text is 7bit when it can be, else
//! quoted-printable (RFC 2045 §6.7); attachments are base64 (RFC 2045 §6.8) except
//! message/rfc822, which must not be encoded (RFC 2046 §5.2.1). Non-ASCII header text
//! is written as RFC 2047 encoded words, non-ASCII file names as RFC 2231 parameters.
//!
//! Every item an attachment names is read from the caller's own mailbox: another
//! account's id answers exactly as a missing one.

use base64::Engine;
use zcs_core::{Entry, FaultCode, ItemId, ServiceError, ServiceResult};
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::folders::parse_id;
use super::parts::find_part;

/// Most attachment bytes one message may carry (Zimbra's default
/// `zimbraMtaMaxMessageSize` is 10 MB; uploads are capped at the same size).
const MAX_ATTACHED: usize = 50 * 1024 * 1024;

/// A message built from a request.
#[derive(Debug)]
pub(crate) struct Composed {
    /// The whole message, CRLF line ends.
    pub mime: Vec<u8>,
    /// Every recipient address (to, cc and bcc), as given.
    pub rcpts: Vec<String>,
    /// Whether it carries attachments.
    pub attached: bool,
    /// The upload ids it used (forgotten once the request has succeeded).
    pub uploads: Vec<String>,
}

/// One attachment to add.
#[derive(Debug)]
struct Attachment {
    content_type: String,
    filename: Option<String>,
    data: Vec<u8>,
}

/// Writes `s` as RFC 2047 encoded words when it is not plain ASCII.
pub(crate) fn encode_word(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    if s.is_ascii() {
        return s;
    }
    // Encoded words are at most 75 characters (RFC 2047 §2): at most 45 input bytes
    // each, cut on character boundaries.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in s.chars() {
        if chunk.len() + ch.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An address with its display name for a header (`"Name" <a@b>` or `a@b`).
fn mailbox_header(addr: &str, name: Option<&str>) -> String {
    let addr = addr.replace(['\r', '\n', '<', '>', ',', ' '], "");
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.is_ascii() => {
            let n = n.replace(['\r', '\n'], " ").replace(['"', '\\'], "");
            format!("\"{n}\" <{addr}>")
        }
        Some(n) => format!("{} <{addr}>", encode_word(n)),
        None => addr,
    }
}

/// A `name=value` MIME parameter: quoted ASCII, or RFC 2231 `name*=UTF-8''...`.
fn param(name: &str, value: &str) -> String {
    let value = value.replace(['\r', '\n'], " ");
    if value.is_ascii() {
        return format!("{name}=\"{}\"", value.replace(['"', '\\'], "_"));
    }
    let mut enc = String::new();
    for b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(b) {
            enc.push(*b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{name}*=UTF-8''{enc}")
}

/// Base64 in lines of 76 characters (RFC 2045 §6.8).
fn base64_lines(data: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(text.len() + text.len() / 38 + 2);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text, CRLF line ends, soft breaks before
/// 76 characters.
pub(crate) fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    let normalized = text.replace("\r\n", "\n");
    for (n, line) in normalized.split('\n').enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        let mut col = 0;
        let bytes = line.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            // Blanks are literal except at the end of a line; so is printable ASCII
            // other than `=`.
            let literal =
                ((*b == b' ' || *b == b'\t') && !last) || ((33..=126).contains(b) && *b != b'=');
            let token = if literal {
                (*b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if col + token.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            col += token.len();
            out.push_str(&token);
        }
    }
    out.push_str("\r\n");
    out
}

/// Whether more bytes of `text` are outside ASCII than in it.
fn mostly_non_ascii(text: &str) -> bool {
    let non = text.bytes().filter(|b| !b.is_ascii()).count();
    non > text.len() - non
}

/// A text leaf: 7bit when ASCII with short lines, else base64 when mostly not ASCII,
/// else quoted-printable (RFC 2045 §6.7, §6.8).
fn text_leaf(ct: &str, content: &str) -> String {
    let ct = ct.replace(['\r', '\n', ';'], "");
    let plain = content.is_ascii() && content.lines().all(|l| l.len() <= 900);
    if plain {
        let body = content.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "Content-Type: {ct}; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
             {body}\r\n"
        )
    } else if mostly_non_ascii(content) {
        // JavaMail's choice, which Zimbra's messages show: base64 when most bytes are
        // not ASCII (CJK text), quoted-printable otherwise.
        let body = content.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "Content-Type: {ct}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(body.as_bytes())
        )
    } else {
        format!(
            "Content-Type: {ct}; charset=utf-8\r\nContent-Transfer-Encoding: \
             quoted-printable\r\n\r\n{}",
            quoted_printable(content)
        )
    }
}

fn boundary() -> String {
    format!("=_{}", uuid::Uuid::new_v4().simple())
}

/// The body of `mp` (headers and content of one MIME entity).
fn body_entity(mp: &Element, depth: u32) -> ServiceResult<String> {
    if depth > 10 {
        return Err(ServiceError::invalid_request("mp nested too deeply"));
    }
    let ct = mp
        .attr("ct")
        .unwrap_or("text/plain")
        .trim()
        .to_ascii_lowercase();
    if ct.starts_with("multipart/") {
        let kids: Vec<&Element> = mp.children_named("mp").collect();
        if kids.is_empty() {
            return Ok(text_leaf("text/plain", mp.attr("content").unwrap_or("")));
        }
        let b = boundary();
        let mut out = format!("Content-Type: {ct}; boundary=\"{b}\"\r\n\r\n");
        for k in kids {
            out.push_str(&format!("--{b}\r\n"));
            out.push_str(&body_entity(k, depth + 1)?);
        }
        out.push_str(&format!("--{b}--\r\n"));
        return Ok(out);
    }
    Ok(text_leaf(&ct, mp.attr("content").unwrap_or("")))
}

/// The MIME entity of one attachment.
fn attachment_entity(a: &Attachment) -> String {
    let ct = a.content_type.replace(['\r', '\n'], "");
    let mut ctype = ct.split(';').next().unwrap_or("").trim().to_string();
    if ctype.is_empty() || !ctype.contains('/') {
        ctype = "application/octet-stream".into();
    }
    let mut head = format!("Content-Type: {ctype}");
    if ctype.starts_with("text/") {
        head.push_str("; charset=utf-8");
    }
    if let Some(f) = &a.filename {
        head.push_str("; ");
        head.push_str(&param("name", f));
    }
    head.push_str("\r\n");
    if ctype == "message/rfc822" {
        let eightbit = !a.data.is_ascii();
        head.push_str(&format!(
            "Content-Transfer-Encoding: {}\r\nContent-Disposition: attachment\r\n\r\n",
            if eightbit { "8bit" } else { "7bit" }
        ));
        let mut body = String::from_utf8_lossy(&a.data).replace("\r\n", "\n");
        if !body.ends_with('\n') {
            body.push('\n');
        }
        return head + &body.replace('\n', "\r\n");
    }
    head.push_str("Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
    if let Some(f) = &a.filename {
        head.push_str("; ");
        head.push_str(&param("filename", f));
    }
    head.push_str("\r\n\r\n");
    head + &base64_lines(&a.data)
}

/// An item id of an attachment: a plain number, or the caller's own `accountId:id`.
fn own_item(text: &str, me: &Entry, code: FaultCode) -> ServiceResult<ItemId> {
    let t = text.trim();
    match t.split_once(':') {
        Some((acct, id)) if acct.eq_ignore_ascii_case(&me.id.to_string()) => parse_id(id, code),
        _ => parse_id(t, code),
    }
}

fn no_such(code: FaultCode, what: &str, id: &str) -> ServiceError {
    ServiceError::new(code, format!("no such {what}: {id}"))
}

/// Reads the attachments `attach` names, in order.
async fn attachments(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    me: &Entry,
    attach: &Element,
    uploads: &mut Vec<String>,
) -> ServiceResult<Vec<Attachment>> {
    let mut out = Vec::new();
    if let Some(aids) = attach.attr("aid") {
        for aid in aids.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let u = ctx
                .svc
                .uploads
                .get(me.id, aid)
                .ok_or_else(|| no_such(FaultCode::NoSuchUpload, "upload", aid))?;
            uploads.push(aid.to_string());
            out.push(Attachment {
                content_type: super::mimetypes::for_upload(&u.content_type, u.filename.as_deref()),
                filename: u.filename.clone(),
                data: u.data.clone(),
            });
        }
    }
    for el in &attach.children {
        match el.name.as_str() {
            "mp" => {
                let mid = el.req("mid")?;
                let part = el.req("part")?;
                let id = own_item(mid, me, FaultCode::NoSuchMsg)?;
                let raw = mb.read_message(id).await.map_err(store_fault)?;
                let p = find_part(&raw, part).ok_or_else(|| {
                    no_such(FaultCode::NoSuchPart, "part", &format!("{mid}/{part}"))
                })?;
                out.push(Attachment {
                    content_type: p.content_type,
                    filename: p.filename,
                    data: p.data,
                });
            }
            "m" => {
                let mid = el.req("id")?;
                let id = own_item(mid, me, FaultCode::NoSuchMsg)?;
                let meta = mb.message(id).await.map_err(store_fault)?;
                let raw = mb.read_message(id).await.map_err(store_fault)?;
                let name = if meta.subject.trim().is_empty() {
                    "message.eml".to_string()
                } else {
                    format!("{}.eml", meta.subject.trim())
                };
                out.push(Attachment {
                    content_type: "message/rfc822".into(),
                    filename: Some(name),
                    data: raw,
                });
            }
            "cn" => {
                let cid = el.req("id")?;
                let id = own_item(cid, me, FaultCode::NoSuchContact)?;
                let c = mb
                    .contact(id)
                    .await
                    .map_err(|_| no_such(FaultCode::NoSuchContact, "contact", cid))?;
                let vcard = mb.export_vcard(id).await.map_err(store_fault)?;
                let name = contact_file_name(&c);
                out.push(Attachment {
                    content_type: "text/x-vcard".into(),
                    filename: Some(format!("{name}.vcf")),
                    data: vcard.into_bytes(),
                });
            }
            "doc" => {
                if let Some(d) = super::documents::attached_document(mb, el).await? {
                    let data = mb.read_document(d.id, None).await.map_err(store_fault)?;
                    out.push(Attachment {
                        content_type: d.content_type.clone(),
                        filename: Some(d.name.clone()),
                        data,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The file name a contact's vCard gets: its full name, else its e-mail, else
/// `contact`.
fn contact_file_name(c: &zcs_store::Contact) -> String {
    let full = [c.field("firstName"), c.field("lastName")]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = if !full.is_empty() {
        full
    } else if let Some(n) = c.field("fullName").or(c.field("nickname")) {
        n.to_string()
    } else if let Some(e) = c.field("email") {
        e.to_string()
    } else {
        "contact".into()
    };
    name.replace(['/', '\\', '\r', '\n', '"'], "_")
}

/// Builds the message `m` describes, sent (or saved) by `me`. `draft` keeps the Bcc
/// header (a draft remembers its blind copies; a sent message never shows them).
///
/// # Errors
/// `service.INVALID_REQUEST` for a malformed `m`; `mail.NO_SUCH_UPLOAD`,
/// `mail.NO_SUCH_MSG`, `mail.NO_SUCH_PART`, `mail.NO_SUCH_CONTACT` for attachments
/// that name nothing the caller owns; `mail.MESSAGE_TOO_BIG` past [`MAX_ATTACHED`].
pub(crate) async fn compose(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    me: &Entry,
    m: &Element,
    draft: bool,
) -> ServiceResult<Composed> {
    let mut lists: [(&str, Vec<String>); 5] = [
        ("To", Vec::new()),
        ("Cc", Vec::new()),
        ("Bcc", Vec::new()),
        ("Reply-To", Vec::new()),
        // `e t="n"`: where the read receipt goes (RFC 8098 §2.1).
        ("Disposition-Notification-To", Vec::new()),
    ];
    let mut rcpts = Vec::new();
    let mut from = None;
    for e in m.children_named("e") {
        let Some(addr) = e.attr("a").map(str::trim).filter(|a| !a.is_empty()) else {
            continue;
        };
        let slot = match e.attr("t").unwrap_or("t") {
            "t" => 0,
            "c" => 1,
            "b" => 2,
            "r" => 3,
            "n" => 4,
            "f" => {
                from = Some((addr.to_string(), e.attr("p").map(str::to_string)));
                continue;
            }
            _ => continue,
        };
        let shown = mailbox_header(addr, e.attr("p"));
        if slot < 3 {
            rcpts.push(addr.replace(['\r', '\n'], ""));
        }
        lists[slot].1.push(shown);
    }
    // From and Sender as the caller may use them (`from`: own addresses, grants).
    let senders = super::from::resolve(ctx, me, from).await?;
    let from = mailbox_header(&senders.from.0, senders.from.1.as_deref());
    let sender = senders
        .sender
        .map(|(a, n)| mailbox_header(&a, n.as_deref()));

    let mut uploads = Vec::new();
    let mut attached = Vec::new();
    for attach in m.children_named("attach") {
        attached.extend(attachments(ctx, mb, me, attach, &mut uploads).await?);
    }
    let total: usize = attached.iter().map(|a| a.data.len()).sum();
    if total > MAX_ATTACHED {
        return Err(ServiceError::new(
            FaultCode::MessageTooBig,
            format!("message of {total} bytes is too big"),
        ));
    }

    let now = chrono::Utc::now();
    let mut head = format!("From: {from}\r\n");
    if let Some(sender) = &sender {
        head.push_str(&format!("Sender: {sender}\r\n"));
    }
    for (name, list) in &lists {
        if list.is_empty() || (*name == "Bcc" && !draft) {
            continue;
        }
        head.push_str(&format!("{name}: {}\r\n", list.join(", ")));
    }
    head.push_str(&format!(
        "Subject: {}\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\n",
        encode_word(m.attr("su").unwrap_or("")),
        now.to_rfc2822(),
        uuid::Uuid::new_v4(),
        ctx.svc.hostname,
    ));
    if let Some(irt) = m.attr("irt").map(str::trim).filter(|s| !s.is_empty()) {
        let irt = irt.replace(['\r', '\n'], "");
        let irt = if irt.starts_with('<') {
            irt
        } else {
            format!("<{irt}>")
        };
        head.push_str(&format!("In-Reply-To: {irt}\r\nReferences: {irt}\r\n"));
    }
    head.push_str("MIME-Version: 1.0\r\n");

    let body = match m.child("mp") {
        Some(mp) => body_entity(mp, 0)?,
        None => text_leaf("text/plain", ""),
    };
    // A message that is one 7bit text part ends where its text ends, as JavaMail
    // writes it: the line break a leaf ends with belongs to the boundary that follows
    // it inside a multipart (RFC 2046 §5.1.1), and is no part of a lone body.
    let body = match body.strip_suffix("\r\n") {
        Some(cut)
            if attached.is_empty()
                && !body.starts_with("Content-Type: multipart/")
                && body.contains("Content-Transfer-Encoding: 7bit\r\n") =>
        {
            cut.to_string()
        }
        _ => body,
    };
    let mime = if attached.is_empty() {
        head + &body
    } else {
        let b = boundary();
        let mut out = head;
        out.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n{body}"
        ));
        for a in &attached {
            out.push_str(&format!("--{b}\r\n"));
            out.push_str(&attachment_entity(a));
        }
        out.push_str(&format!("--{b}--\r\n"));
        out
    };
    Ok(Composed {
        mime: mime.into_bytes(),
        rcpts,
        attached: !attached.is_empty(),
        uploads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};

    #[test]
    fn encoded_words_and_params() {
        assert_eq!(encode_word("plain"), "plain");
        let w = encode_word("héllo wörld");
        assert!(w.starts_with("=?utf-8?B?") && w.ends_with("?="));
        assert_eq!(param("filename", "a b.pdf"), "filename=\"a b.pdf\"");
        assert_eq!(param("filename", "é.txt"), "filename*=UTF-8''%C3%A9.txt");
    }

    #[test]
    fn qp_round_trips() {
        let text = format!("héllo =\n{}\ntrailing \n", "x".repeat(200));
        let enc = quoted_printable(&text);
        assert!(enc.lines().all(|l| l.len() <= 76));
        let raw = format!(
            "Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{enc}"
        );
        let msg = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parse");
        let body = msg.body_text(0).expect("body");
        assert_eq!(body.replace("\r\n", "\n").trim_end(), text.trim_end());
    }

    #[test]
    fn attachment_entities_parse_back() {
        let a = Attachment {
            content_type: "application/pdf".into(),
            filename: Some("résumé.pdf".into()),
            data: vec![0, 1, 2, 255],
        };
        let b = "B";
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n{}--{b}\r\n{}--{b}--\r\n",
            text_leaf("text/plain", "body"),
            attachment_entity(&a)
        );
        let msg = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parse");
        let att = msg.attachment(0).expect("attachment");
        assert_eq!(att.attachment_name(), Some("résumé.pdf"));
        assert_eq!(att.contents(), &[0, 1, 2, 255]);
    }

    proptest::proptest! {
        #[test]
        fn qp_lines_bounded(s in "\\PC{0,300}") {
            for l in quoted_printable(&s).lines() {
                proptest::prop_assert!(l.len() <= 76);
            }
        }

        #[test]
        fn encode_word_is_ascii(s in "\\PC{0,100}") {
            let w = encode_word(&s);
            proptest::prop_assert!(w.is_ascii());
            proptest::prop_assert!(!w.contains('\n'));
        }
    }
}
