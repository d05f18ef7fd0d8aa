//! Zimbra's delayed indexing over real sockets on 127.0.0.1: ManageIndexRequest
//! `disableIndexing` drops an account's index (text searches then find nothing, state
//! searches still work), a login or DelegateAuth from a named client moves the status
//! on, a text search after DelegateAuth starts the rebuild (`reIndexInProgress="1"`),
//! and the rebuilt index finds the mail again.

mod soap_support;

use soap_support::*;

const ADMIN_NS: &str = "urn:zimbraAdmin";
const MAIL_NS: &str = "urn:zimbraMail";
const WORD: &str = "quokkaword";

/// An envelope whose context carries `token`, an optional user agent and an optional
/// target account.
fn env(token: &str, agent: Option<&str>, account: Option<&str>, body: &str) -> String {
    let agent = agent
        .map(|a| format!("<userAgent name=\"{a}\"/>"))
        .unwrap_or_default();
    let account = account
        .map(|a| format!("<account by=\"name\">{a}</account>"))
        .unwrap_or_default();
    format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{token}</authToken>{agent}{account}\
         </context></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

async fn admin_call(f: &Fixture, admin: &str, body: &str) -> Reply {
    post(
        f.admin,
        "/service/admin/soap",
        &env(admin, None, None, body),
        "",
    )
    .await
}

async fn search(f: &Fixture, token: &str, query: &str) -> Reply {
    let body = format!(
        r#"<SearchRequest xmlns="{MAIL_NS}" types="message"><query>{query}</query></SearchRequest>"#
    );
    post(f.user, "/service/soap", &env(token, None, None, &body), "").await
}

/// The account's `zimbraFeatureDelayedIndexEnabled` and `zimbraDelayedIndexStatus`.
async fn status(f: &Fixture, admin: &str, user: &str) -> (String, String) {
    let body = format!(
        r#"<GetAccountRequest xmlns="{ADMIN_NS}"><account by="name">{user}</account></GetAccountRequest>"#
    );
    let r = admin_call(f, admin, &body).await;
    let value = |name: &str| {
        r.body
            .split(&format!("<a n=\"{name}\">"))
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_default()
            .to_string()
    };
    (
        value("zimbraFeatureDelayedIndexEnabled"),
        value("zimbraDelayedIndexStatus"),
    )
}

async fn manage(f: &Fixture, admin: &str, id: &str, action: &str) -> Reply {
    let body = format!(
        r#"<ManageIndexRequest xmlns="{ADMIN_NS}" action="{action}"><mbox id="{id}"/></ManageIndexRequest>"#
    );
    admin_call(f, admin, &body).await
}

/// A password login on the user port naming `agent` as its client.
async fn login_as(f: &Fixture, user: &str, agent: Option<&str>) -> String {
    let body = format!(
        r#"<AuthRequest xmlns="urn:zimbraAccount"><account by="name">{user}</account><password>{PASSWORD}</password></AuthRequest>"#
    );
    let r = post(f.user, "/service/soap", &env("", agent, None, &body), "").await;
    xml_text(&r.body, "authToken").expect("token")
}

async fn add_mail(f: &Fixture, token: &str) {
    let body = format!(
        "<AddMsgRequest xmlns=\"{MAIL_NS}\"><m l=\"2\"><content>Subject: {WORD}\r\n\r\nbody\r\n\
         </content></m></AddMsgRequest>"
    );
    let r = post(f.user, "/service/soap", &env(token, None, None, &body), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Searches for the word until it is found (the rebuild runs in the background).
async fn found_again(f: &Fixture, token: &str) -> bool {
    for _ in 0..100 {
        if search(f, token, WORD).await.body.contains("<m ") {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn disabled_indexing_comes_back_at_a_named_login() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let alice = f.prov.find_account(ALICE).await.unwrap().unwrap();
    let token = login(&f, ALICE).await;
    add_mail(&f, &token).await;
    assert!(search(&f, &token, WORD).await.body.contains("<m "));

    let r = manage(&f, &admin, &alice.id.to_string(), "disableIndexing").await;
    assert!(r.body.contains(r#"status="started""#), "{}", r.body);
    assert_eq!(
        status(&f, &admin, ALICE).await,
        ("TRUE".into(), "suppressed".into())
    );
    let r = search(&f, &token, WORD).await;
    assert!(!r.body.contains("<m "), "{}", r.body);
    // State terms are answered from the store, not the index.
    assert!(search(&f, &token, "in:inbox").await.body.contains("<m "));

    // A client that names no user agent (a script) changes nothing.
    let token = login_as(&f, ALICE, None).await;
    assert_eq!(status(&f, &admin, ALICE).await.1, "suppressed");
    assert!(!search(&f, &token, WORD).await.body.contains("<m "));

    let token = login_as(&f, ALICE, Some("ZimbraWebClient")).await;
    assert_eq!(status(&f, &admin, ALICE).await.1, "indexing");
    assert!(found_again(&f, &token).await);
}

#[tokio::test]
async fn delegated_auth_waits_for_a_text_search() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let bob = f.prov.find_account(BOB).await.unwrap().unwrap();
    let token = login(&f, BOB).await;
    add_mail(&f, &token).await;
    assert!(search(&f, &token, WORD).await.body.contains("<m "));
    manage(&f, &admin, &bob.id.to_string(), "disableIndexing").await;

    let body = format!(
        r#"<DelegateAuthRequest xmlns="{ADMIN_NS}"><account by="id">{}</account></DelegateAuthRequest>"#,
        bob.id
    );
    let r = post(
        f.admin,
        "/service/admin/soap",
        &env(&admin, Some("ZimbraWebClient"), None, &body),
        "",
    )
    .await;
    let delegated = xml_text(&r.body, "authToken").expect("delegated token");
    assert_eq!(status(&f, &admin, BOB).await.1, "waitingForSearch");

    // A search without text terms does not start the rebuild.
    assert!(
        search(&f, &delegated, "in:inbox")
            .await
            .body
            .contains("<m ")
    );
    assert_eq!(status(&f, &admin, BOB).await.1, "waitingForSearch");

    let body = format!(
        r#"<SearchRequest xmlns="{MAIL_NS}" types="message"><query>{WORD}</query></SearchRequest>"#
    );
    let r = post(
        f.user,
        "/service/soap",
        &env(&delegated, None, Some(BOB), &body),
        "",
    )
    .await;
    assert!(r.body.contains(r#"reIndexInProgress="1""#), "{}", r.body);
    assert!(!r.body.contains("<m "), "{}", r.body);
    assert_eq!(status(&f, &admin, BOB).await.1, "indexing");
    assert!(found_again(&f, &token).await);
}

#[tokio::test]
async fn manage_index_checks_its_action_and_enables_by_api() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let alice = f.prov.find_account(ALICE).await.unwrap().unwrap();
    let id = alice.id.to_string();
    let token = login(&f, ALICE).await;

    // No mailbox yet: nothing to manage.
    let r = manage(&f, &admin, &id, "disableIndexing").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.FAILURE"),
        "{}",
        r.body
    );

    add_mail(&f, &token).await;
    let r = manage(&f, &admin, &id, "rebuild").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    let r = manage(&f, &admin, "", "disableIndexing").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    manage(&f, &admin, &id, "disableIndexing").await;
    assert!(!search(&f, &token, WORD).await.body.contains("<m "));
    let r = manage(&f, &admin, &id, "enableIndexing").await;
    assert!(r.body.contains(r#"status="started""#), "{}", r.body);
    assert_eq!(
        status(&f, &admin, ALICE).await,
        ("TRUE".into(), "indexing".into())
    );
    assert!(found_again(&f, &token).await);

    // A user cannot manage indexes.
    let body = format!(
        r#"<ManageIndexRequest xmlns="{ADMIN_NS}" action="disableIndexing"><mbox id="{id}"/></ManageIndexRequest>"#
    );
    let r = post(
        f.admin,
        "/service/admin/soap",
        &env(&token, None, None, &body),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_imap_login_brings_the_index_back() {
    use zcs_server::imap::backend::ImapBackend as _;
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let alice = f.prov.find_account(ALICE).await.unwrap().unwrap();
    let token = login(&f, ALICE).await;
    add_mail(&f, &token).await;
    manage(&f, &admin, &alice.id.to_string(), "disableIndexing").await;
    assert_eq!(status(&f, &admin, ALICE).await.1, "suppressed");

    // An IMAP server over the same directory and store (its own indexer).
    let dir = tempfile::tempdir().expect("tempdir");
    let index: std::sync::Arc<dyn zcs_index::IndexBackend> = std::sync::Arc::new(
        zcs_index::TantivyIndex::open(&dir.path().join("index")).expect("index"),
    );
    let (indexer, _task) = zcs_server::indexer::Indexer::start(f.store.clone(), index.clone());
    let imap = zcs_server::imap_backend::StoreImapBackend::new(
        f.prov.clone(),
        f.store.clone(),
        index,
        indexer,
    );
    let localhost = std::net::IpAddr::from([127, 0, 0, 1]);
    assert!(imap.authenticate(ALICE, PASSWORD, localhost).await.is_ok());
    assert_eq!(status(&f, &admin, ALICE).await.1, "indexing");
}
