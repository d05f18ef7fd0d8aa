//! Tests of the disclaimer rewrite: shapes of real mail, encodings, charsets, signed
//! mail, idempotence, and property tests over generated and arbitrary input.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use proptest::prelude::*;

use super::*;

fn d(text: &str, html: &str) -> Disclaimer {
    Disclaimer::new(Some(text.into()), Some(html.into())).expect("non-empty")
}

fn legal() -> Disclaimer {
    d(
        "Confidential: for the addressee only.",
        "<p>Confidential</p>",
    )
}

/// The decoded texts of the message's text and HTML parts, in order.
fn texts(message: &[u8]) -> Vec<String> {
    let m = MessageParser::default().parse(message).expect("parses");
    m.parts
        .iter()
        .filter_map(|p| match &p.body {
            PartType::Text(t) | PartType::Html(t) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn plain_message_gets_the_text_once() {
    let msg = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: hi\r\n\r\nHello\r\n";
    let out = add_disclaimer(msg, &legal()).expect("changed");
    assert_eq!(
        out,
        b"From: a@x.test\r\nTo: b@y.test\r\nSubject: hi\r\n\r\nHello\r\n\r\n\
          Confidential: for the addressee only.\r\n"
    );
    assert_eq!(
        add_disclaimer(&out, &legal()),
        None,
        "second pass adds nothing"
    );
}

#[test]
fn alternative_parts_keep_their_encodings() {
    let html_b64 = "PGh0bWw+PGJvZHk+PHA+SGk8L3A+PC9ib2R5PjwvaHRtbD4=";
    let msg = format!(
        "From: a@x.test\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\npreamble\r\n\
         --M\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n\
         --A\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 ok\r\n\
         --A\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{html_b64}\r\n--A--\r\n\
         --M\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n\
         Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nATTACHED\r\n\
         --M--\r\nepilogue\r\n"
    );
    let out = add_disclaimer(msg.as_bytes(), &legal()).expect("changed");
    let t = texts(&out);
    assert!(
        t[0].starts_with("café ok") && t[0].contains("Confidential: for the"),
        "{t:?}"
    );
    assert!(
        t[1].contains("<p>Hi</p>\r\n<p>Confidential</p>\r\n</body>"),
        "{t:?}"
    );
    let s = String::from_utf8(out.clone()).unwrap();
    assert!(s.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 ok\r\n"));
    assert!(s.contains("Content-Transfer-Encoding: base64\r\n\r\nPGh0"));
    assert!(s.contains("filename=\"notes.txt\"\r\n\r\nATTACHED\r\n--M--\r\nepilogue\r\n"));
    assert!(s.starts_with("From: a@x.test\r\nMIME-Version: 1.0\r\n"));
    assert_eq!(add_disclaimer(&out, &legal()), None);
}

#[test]
fn signed_and_encrypted_mail_is_left_alone() {
    let signed = b"Content-Type: multipart/signed; boundary=S; protocol=\"x\"\r\n\r\n\
        --S\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--S\r\n\
        Content-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--S--\r\n";
    assert_eq!(add_disclaimer(signed, &legal()), None);
    let smime = b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n";
    assert_eq!(add_disclaimer(smime, &legal()), None);
    let pgp = b"Content-Type: multipart/encrypted; boundary=E\r\n\r\n--E\r\n\r\nx\r\n--E--\r\n";
    assert_eq!(add_disclaimer(pgp, &legal()), None);
    let inline = b"Subject: s\r\n\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: x\r\n";
    assert_eq!(add_disclaimer(inline, &legal()), None);
    // A signed part inside a mixed message stays as it is; the text outside gets it.
    let mixed = b"Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n\
        Content-Type: multipart/signed; boundary=S\r\n\r\n--S\r\n\r\ninner\r\n--S--\r\n\
        --O--\r\n";
    assert_eq!(add_disclaimer(mixed, &legal()), None);
}

#[test]
fn non_ascii_disclaimer_changes_charset_and_encoding_when_needed() {
    let de = d(
        "Vertraulich: nur für den Empfänger.",
        "<p>Vertraulich – für Sie</p>",
    );
    let msg =
        b"Subject: s\r\nContent-Type: text/plain; charset=us-ascii; format=flowed\r\n\r\nHi\r\n";
    let out = add_disclaimer(msg, &de).expect("changed");
    let s = String::from_utf8(out.clone()).unwrap();
    assert!(
        s.contains("Content-Type: text/plain; format=flowed; charset=utf-8\r\n"),
        "{s}"
    );
    assert!(
        s.contains("Content-Transfer-Encoding: quoted-printable\r\n"),
        "{s}"
    );
    assert!(out.is_ascii());
    assert!(texts(&out)[0].contains("nur für den Empfänger"));

    let latin = b"Content-Type: text/plain; charset=iso-8859-1\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n";
    let out = add_disclaimer(latin, &de).expect("changed");
    let t = texts(&out);
    assert!(
        t[0].starts_with("Grüße") && t[0].contains("Empfänger"),
        "{t:?}"
    );
    let s = String::from_utf8_lossy(&out);
    assert!(s.contains("charset=utf-8"), "{s}");
    assert!(s.contains("Content-Transfer-Encoding: 8bit"), "{s}");
    assert_eq!(add_disclaimer(&out, &de), None);

    // An ASCII disclaimer keeps the part's own charset.
    let out = add_disclaimer(latin, &legal()).expect("changed");
    assert!(String::from_utf8_lossy(&out).contains("charset=iso-8859-1"));
    assert!(out.ends_with(b"Gr\xfc\xdfe\r\n\r\nConfidential: for the addressee only.\r\n"));
}

#[test]
fn html_only_messages_and_derived_texts() {
    let msg = b"Content-Type: text/html\r\n\r\n<html><BODY><p>x</p></BODY></html>\r\n";
    let only_text = Disclaimer::new(Some("A & B <legal>\nline 2".into()), None).unwrap();
    let out = add_disclaimer(msg, &only_text).expect("changed");
    let s = String::from_utf8(out).unwrap();
    assert!(
        s.contains("<p>x</p>\r\n<div>A &amp; B &lt;legal&gt;<br>\r\nline 2</div>\r\n</BODY>"),
        "{s}"
    );
    let only_html = Disclaimer::new(None, Some("<b>Legal</b> text".into())).unwrap();
    let plain = b"Subject: s\r\n\r\nbody";
    let out = add_disclaimer(plain, &only_html).expect("changed");
    let s = String::from_utf8(out).unwrap();
    assert!(s.ends_with("body\r\n\r\nLegal text"), "{s:?}");
    assert_eq!(Disclaimer::new(Some(" ".into()), None), None);
    assert_eq!(
        html_to_text("<div><b>A</b> &amp; B<br>two</div><p>three</p>\n\n<p>x < y"),
        "A & B\ntwo\nthree\n\nx < y"
    );
}

#[test]
fn bare_lf_messages_and_missing_separators() {
    let msg = b"Subject: s\n\nline one\nline two";
    let out = add_disclaimer(msg, &legal()).expect("changed");
    assert_eq!(
        out,
        b"Subject: s\n\nline one\nline two\n\nConfidential: for the addressee only."
    );
    let out = add_disclaimer(b"Subject: only a header", &legal()).expect("changed");
    assert!(out.starts_with(b"Subject: only a header\r\n\r\n\r\nConfidential"));
    assert!(MessageParser::default().parse(&out).is_some());
}

#[tokio::test]
async fn policy_picks_the_sender_domain_and_skips_internal_mail() {
    let source = StaticDisclaimers {
        domains: vec![("x.test".into(), legal())],
    };
    let mut policy = DisclaimerPolicy {
        source: Arc::new(source),
        outbound_only: false,
    };
    let msg = b"From: A <a@x.test>\r\n\r\nHi\r\n";
    assert!(policy.apply(msg, "a@X.test", &["b@x.test"]).await.is_some());
    assert!(
        policy.apply(msg, "", &["b@x.test"]).await.is_some(),
        "From field"
    );
    assert!(policy.apply(msg, "a@z.test", &["b@x.test"]).await.is_none());
    policy.outbound_only = true;
    assert!(
        policy
            .apply(msg, "a@x.test", &["b@x.test", "c@X.TEST"])
            .await
            .is_none()
    );
    assert!(
        policy
            .apply(msg, "a@x.test", &["b@x.test", "c@y.test"])
            .await
            .is_some()
    );
}

/// A generated MIME tree: (kind, transfer encoding, text) leaves under multiparts.
#[derive(Clone, Debug)]
enum Node {
    Leaf {
        html: bool,
        cte: usize,
        charset: usize,
        text: String,
    },
    Attachment(Vec<u8>),
    Multi(String, Vec<Node>),
}

const CTES: [&str; 4] = ["7bit", "8bit", "quoted-printable", "base64"];
const CHARSETS: [&str; 3] = ["utf-8", "us-ascii", "iso-8859-1"];

fn render(node: &Node, depth: usize, out: &mut Vec<u8>) {
    match node {
        Node::Leaf {
            html,
            cte,
            charset,
            text,
        } => {
            let charset = CHARSETS[*charset];
            let body: Vec<u8> = if charset == "utf-8" {
                text.as_bytes().to_vec()
            } else {
                text.chars()
                    .map(|c| if (c as u32) < 0x80 { c as u8 } else { b'?' })
                    .collect()
            };
            let kind = if *html { "text/html" } else { "text/plain" };
            let cte_name = if body.is_ascii() || CTES[*cte] != "7bit" {
                CTES[*cte]
            } else {
                "8bit"
            };
            let enc = codec::Cte::parse(Some(cte_name)).expect("known");
            let (encoded, _) = codec::encode(&body, enc, b"\r\n");
            out.extend_from_slice(
                format!(
                    "Content-Type: {kind}; charset={charset}\r\n\
                     Content-Transfer-Encoding: {cte_name}\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(&encoded);
        }
        Node::Attachment(data) => {
            out.extend_from_slice(
                b"Content-Type: application/octet-stream\r\n\
                  Content-Disposition: attachment; filename=\"a.bin\"\r\n\
                  Content-Transfer-Encoding: base64\r\n\r\n",
            );
            out.extend_from_slice(&codec::encode(data, codec::Cte::Base64, b"\r\n").0);
        }
        Node::Multi(sub, parts) => {
            let b = format!("b{depth}x");
            out.extend_from_slice(
                format!("Content-Type: multipart/{sub}; boundary=\"{b}\"\r\n\r\n").as_bytes(),
            );
            for p in parts {
                out.extend_from_slice(format!("--{b}\r\n").as_bytes());
                render(p, depth + 1, out);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        }
    }
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (
            any::<bool>(),
            0..4usize,
            0..3usize,
            "[a-zA-Zé€ <>=\r\n.]{0,120}"
        )
            .prop_map(|(html, cte, charset, text)| Node::Leaf {
                html,
                cte,
                charset,
                text: text.replace('\r', "").replace('\n', "\r\n"),
            }),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(Node::Attachment),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        (
            prop_oneof![Just("mixed"), Just("alternative"), Just("related")],
            proptest::collection::vec(inner, 1..4),
        )
            .prop_map(|(s, parts)| Node::Multi(s.to_string(), parts))
    })
}

proptest! {
    /// Generated MIME messages: the output parses, the attachments are unchanged, the
    /// first body text carries the disclaimer, and a second pass changes nothing.
    #[test]
    fn generated_messages(tree in node(), utf8 in any::<bool>()) {
        let mut msg = b"From: a@x.test\r\nSubject: t\r\nMIME-Version: 1.0\r\n".to_vec();
        render(&tree, 0, &mut msg);
        let dis = if utf8 {
            d("Vertraulich – nur für Sie.", "<p>Vertraulich – für Sie</p>")
        } else {
            legal()
        };
        let before = MessageParser::default().parse(&msg).expect("input parses");
        let before_att: Vec<Vec<u8>> = before
            .attachments()
            .filter(|a| a.attachment_name().is_some())
            .map(|a| a.contents().to_vec())
            .collect();
        let Some(out) = add_disclaimer(&msg, &dis) else {
            return Ok(());
        };
        let after = MessageParser::default().parse(&out).expect("output parses");
        let after_att: Vec<Vec<u8>> = after
            .attachments()
            .filter(|a| a.attachment_name().is_some())
            .map(|a| a.contents().to_vec())
            .collect();
        prop_assert_eq!(before_att, after_att);
        let all: String = texts(&out).concat();
        let want_text = dis.text.clone().unwrap_or_default();
        let want_html = dis.html.clone().unwrap_or_default();
        prop_assert!(all.contains(&want_text) || all.contains(&want_html), "{all}");
        prop_assert_eq!(add_disclaimer(&out, &dis), None);
        // Every line stays within RFC 5322's limit.
        prop_assert!(out.split(|b| *b == b'\n').all(|l| l.len() <= 1000));
    }

    /// Arbitrary bytes never panic, and what comes out still parses as a message.
    #[test]
    fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(out) = add_disclaimer(&data, &legal()) {
            prop_assert!(MessageParser::default().parse(&out).is_some());
        }
    }

    /// MIME-looking noise: headers and boundaries in random order.
    #[test]
    fn mime_noise_never_panics(
        pieces in proptest::collection::vec(prop_oneof![
            Just("Content-Type: multipart/mixed; boundary=B\r\n"),
            Just("Content-Type: text/plain; charset=utf-16\r\n"),
            Just("Content-Type: text/html\r\n"),
            Just("Content-Transfer-Encoding: base64\r\n"),
            Just("Content-Transfer-Encoding: quoted-printable\r\n"),
            Just("--B\r\n"), Just("--B--\r\n"), Just("\r\n"), Just("\n"),
            Just("=C3=\r\n"), Just("</body>"), Just("aGVsbG8=\r\n"), Just("x\r"),
        ], 0..40)
    ) {
        let data: Vec<u8> = pieces.concat().into_bytes();
        if let Some(out) = add_disclaimer(&data, &legal()) {
            prop_assert!(MessageParser::default().parse(&out).is_some());
            prop_assert_eq!(add_disclaimer(&out, &legal()), None);
        }
    }
}
