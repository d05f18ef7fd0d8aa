//! A task created with an uploaded file keeps it (inline in its VCALENDAR): the task
//! is found by `has:attachment`, its hits and GetTask flag it `a`, the upload is
//! used up, and another account's upload id is "no such upload". Over real sockets on
//! 127.0.0.1.

mod soap_support;

use soap_support::*;

const MAIL_NS: &str = "urn:zimbraMail";

async fn call(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
}

fn create_task(name: &str, aid: Option<&str>) -> String {
    let attach = aid
        .map(|a| format!(r#"<attach aid="{a}"/>"#))
        .unwrap_or_default();
    format!(
        r#"<CreateTaskRequest xmlns="{MAIL_NS}"><m l="15"><inv method="REQUEST"><comp priority="1" status="INPR" name="{name}"/></inv><mp ct="text/plain"><content>about {name}</content></mp><su>{name}</su>{attach}</m></CreateTaskRequest>"#
    )
}

fn attr(body: &str, name: &str) -> String {
    body.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_task_keeps_its_uploaded_file() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let alice = f.prov.get_account(ALICE).await.expect("alice");
    let bob = f.prov.get_account(BOB).await.expect("bob");
    let aid = f
        .svc
        .uploads
        .put(
            alice.id,
            Some("plan.txt".into()),
            Some("text/plain".into()),
            b"the plan".to_vec(),
        )
        .expect("upload");

    let r = call(&f, &token, &create_task("withfile", Some(&aid))).await;
    let with = attr(&r.body, "calItemId");
    assert!(!with.is_empty(), "{}", r.body);
    assert!(
        f.svc.uploads.get(alice.id, &aid).is_none(),
        "upload used up"
    );
    let r = call(&f, &token, &create_task("nofile", None)).await;
    let without = attr(&r.body, "calItemId");
    assert!(!without.is_empty(), "{}", r.body);

    let search = format!(
        r#"<SearchRequest xmlns="{MAIL_NS}" types="task"><query>has:attachment</query></SearchRequest>"#
    );
    let r = call(&f, &token, &search).await;
    assert!(r.body.contains(&format!(r#"id="{with}""#)), "{}", r.body);
    assert!(
        !r.body.contains(&format!(r#"id="{without}""#)),
        "{}",
        r.body
    );
    assert_eq!(attr(&r.body, "f"), "a!", "{}", r.body);

    let r = call(
        &f,
        &token,
        &format!(r#"<GetTaskRequest xmlns="{MAIL_NS}" id="{with}"/>"#),
    )
    .await;
    assert!(attr(&r.body, "f").contains('a'), "{}", r.body);

    // Another account's upload is not found, as an unknown id.
    let theirs = f
        .svc
        .uploads
        .put(bob.id, None, None, b"x".to_vec())
        .expect("upload");
    let r = call(&f, &token, &create_task("stolen", Some(&theirs))).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_UPLOAD"),
        "{}",
        r.body
    );
    assert!(f.svc.uploads.get(bob.id, &theirs).is_some());
}
