//! REST import of a `multipart/form-data` upload (RFC 7578), as Zimbra's own
//! `zmmailbox postRestURL` sends it, over a real socket on 127.0.0.1: the file part is
//! imported as a raw body would be, its own Content-Type picks the format, and a
//! multipart body without a boundary is refused with 400.

mod soap_support;

use soap_support::*;

async fn post_form(f: &Fixture, path: &str, token: &str, ct: &str, body: &[u8]) -> (u16, String) {
    let head =
        format!("POST {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}\r\nContent-Type: {ct}");
    let (status, _, body) = raw(f.user, &head, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_form_upload_imports_its_file_part() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let body = b"--zcsB0undary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\
        ignored\r\n--zcsB0undary\r\nContent-Disposition: form-data; name=\"file\"; \
        filename=\"walrus.eml\"\r\nContent-Type: message/rfc822\r\n\r\n\
        From: carol@remote.test\r\nSubject: walrus upload\r\n\r\nhello\r\n\
        --zcsB0undary--\r\n";
    let (status, text) = post_form(
        &f,
        "/home/alice@example.test/Inbox",
        &tok,
        "multipart/form-data; boundary=zcsB0undary",
        body,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("messages=1"), "{text}");
    let a = f.prov.get_account(ALICE).await.expect("alice");
    let mb = f.store.mailbox(a.id).await.expect("mailbox");
    let msgs = mb.messages(zcs_core::ItemId(2)).await.expect("inbox");
    assert_eq!(msgs.len(), 1);
    let raw = mb.read_message(msgs[0].id).await.expect("read");
    assert!(raw.starts_with(b"From: carol@remote.test\r\nSubject: walrus upload"));
    assert!(raw.ends_with(b"hello"), "{}", String::from_utf8_lossy(&raw));

    let (status, text) = post_form(
        &f,
        "/home/alice@example.test/Inbox",
        &tok,
        "multipart/form-data",
        body,
    )
    .await;
    assert_eq!(status, 400, "{text}");
}
