//! The HTTP side of the SOAP API over real sockets on 127.0.0.1: failed-login
//! throttling, CSRF-secured tokens, notification sessions and NoOp wait, uploads,
//! preauth URLs, REST exports with their access checks, DelegateAuth and the admin
//! distribution-list requests.

mod soap_support;

use base64::Engine as _;
use soap_support::*;
use zcs_core::{AttrEdit, Flags, ItemId};

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn basic(user: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}"));
    format!("Authorization: Basic {b}")
}

fn auth_body(user: &str, password: &str, extra: &str) -> String {
    format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\" {extra}><account by=\"name\">{user}</account>\
         <password>{password}</password></AuthRequest>"
    )
}

async fn put_message(f: &Fixture, user: &str, subject: &str) -> ItemId {
    let acct = f.prov.get_account(user).await.expect("account");
    let mb = f.store.mailbox(acct.id).await.expect("mailbox");
    let raw = format!(
        "From: carol@example.test\r\nTo: {user}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\n\r\nHello.\r\n"
    );
    let m = mb
        .append(
            ItemId(2),
            raw.as_bytes(),
            Flags::default(),
            1_700_000_000_000,
        )
        .await
        .expect("append");
    zcs_server::notify::publish(acct.id);
    m.id
}

#[tokio::test]
async fn failed_logins_from_one_address_are_throttled() {
    let f = fixture().await;
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraInvalidLoginFilterMaxFailedLogin".into(),
            vec!["3".into()],
        )])
        .await
        .expect("config");
    for _ in 0..3 {
        let r = post(
            f.user,
            "/service/soap",
            &soap12(None, &auth_body(ALICE, "wrong", "")),
            "",
        )
        .await;
        assert_eq!(r.fault_code().as_deref(), Some("account.AUTH_FAILED"));
    }
    // Now even the right password is refused from this address, for every account.
    for user in [ALICE, BOB] {
        let r = post(
            f.user,
            "/service/soap",
            &soap12(None, &auth_body(user, PASSWORD, "")),
            "",
        )
        .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(r.fault_code().as_deref(), Some("account.AUTH_FAILED"));
        assert!(r.body.contains("too many failed logins"), "{}", r.body);
    }
    // Basic auth on REST goes through the same throttle.
    let (status, _, _) = raw(
        f.user,
        &format!("GET /home/~/inbox HTTP/1.1\r\n{}", basic(ALICE)),
        b"",
    )
    .await;
    assert_eq!(status, 401);
    // An exempt address list turns it off.
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraHttpThrottleSafeIPs".into(),
            vec!["127.0.0.1".into()],
        )])
        .await
        .expect("config");
    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &auth_body(ALICE, PASSWORD, "")),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn csrf_secured_token_needs_its_csrf_token_with_the_cookie() {
    let f = fixture().await;
    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &auth_body(ALICE, PASSWORD, "csrfTokenSecured=\"1\"")),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = xml_text(&r.body, "authToken").expect("token");
    let csrf = xml_text(&r.body, "csrfToken").expect("csrf token");
    let get_info = "<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>";
    let cookie = format!("Cookie: ZM_AUTH_TOKEN={token}\r\n");
    // Cookie alone: refused.
    let r = post(f.user, "/service/soap", &soap12(None, get_info), &cookie).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_REQUIRED"),
        "{}",
        r.body
    );
    // Cookie with a wrong CSRF token: refused.
    let bad = format!("{cookie}X-Zimbra-Csrf-Token: 0_00\r\n");
    let r = post(f.user, "/service/soap", &soap12(None, get_info), &bad).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.AUTH_REQUIRED"));
    // Cookie with the right one: served.
    let good = format!("{cookie}X-Zimbra-Csrf-Token: {csrf}\r\n");
    let r = post(f.user, "/service/soap", &soap12(None, get_info), &good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The token in the header context needs no CSRF token (a forged page cannot set it).
    let r = post(f.user, "/service/soap", &soap12(Some(&token), get_info), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The check can be turned off.
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraCsrfTokenCheckEnabled".into(),
            vec!["FALSE".into()],
        )])
        .await
        .expect("config");
    let r = post(f.user, "/service/soap", &soap12(None, get_info), &cookie).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn with_session(token: &str, session: Option<&str>, body: &str) -> String {
    let s = match session {
        Some(id) => format!("<session id=\"{id}\"/>"),
        None => "<session/>".into(),
    };
    format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{token}</authToken>{s}</context>\
         </soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

fn session_id(body: &str) -> String {
    let start = body.find("<session id=\"").expect("session") + 13;
    body[start..start + body[start..].find('"').expect("quote")].to_string()
}

#[tokio::test]
async fn sessions_carry_notifications_and_noop_waits_for_a_change() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let noop = "<NoOpRequest xmlns=\"urn:zimbraMail\"/>";
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&token, None, noop),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = session_id(&r.body);
    assert!(!r.body.contains("<notify"), "{}", r.body);

    let m = put_message(&f, ALICE, "first").await;
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&token, Some(&id), noop),
        "",
    )
    .await;
    assert_eq!(session_id(&r.body), id);
    assert!(r.body.contains("<notify seq=\"1\">"), "{}", r.body);
    assert!(r.body.contains(&format!("<m id=\"{}\"", m.0)), "{}", r.body);
    assert!(r.body.contains("<created>"), "{}", r.body);
    // Reported once.
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&token, Some(&id), noop),
        "",
    )
    .await;
    assert!(!r.body.contains("<notify"), "{}", r.body);

    // A waiting NoOp returns when the change lands.
    let wait = "<NoOpRequest xmlns=\"urn:zimbraMail\" wait=\"1\" timeout=\"20000\"/>";
    let (addr, env) = (f.user, with_session(&token, Some(&id), wait));
    let started = std::time::Instant::now();
    let waiter = tokio::spawn(async move { post(addr, "/service/soap", &env, "").await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiter.is_finished());
    let second = put_message(&f, ALICE, "second").await;
    let r = waiter.await.expect("join");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(r.body.contains("<notify seq=\"2\">"), "{}", r.body);
    assert!(
        r.body.contains(&format!("<m id=\"{}\"", second.0)),
        "{}",
        r.body
    );

    // A waiting NoOp with nothing happening times out empty.
    let short = "<NoOpRequest xmlns=\"urn:zimbraMail\" wait=\"1\" timeout=\"200\"/>";
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&token, Some(&id), short),
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<notify"), "{}", r.body);

    // Deletions are reported.
    let acct = f.prov.get_account(ALICE).await.expect("account");
    let mb = f.store.mailbox(acct.id).await.expect("mailbox");
    mb.delete_items(&[m]).await.expect("delete");
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&token, Some(&id), noop),
        "",
    )
    .await;
    assert!(
        r.body.contains(&format!("<deleted id=\"{}\"", m.0)),
        "{}",
        r.body
    );

    // Bob naming Alice's session id gets a session of his own, never her news.
    let bob = login(&f, BOB).await;
    let r = post(
        f.user,
        "/service/soap",
        &with_session(&bob, Some(&id), noop),
        "",
    )
    .await;
    assert_ne!(session_id(&r.body), id);
}

#[tokio::test]
async fn uploads_belong_to_their_account() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let cookie = format!("Cookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(
        f.user,
        &format!(
            "POST /service/upload?fmt=raw HTTP/1.1\r\n{cookie}\r\nContent-Type: text/plain\r\n\
             Content-Disposition: attachment; filename=\"note.txt\""
        ),
        b"hello upload",
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).expect("utf8");
    assert!(text.starts_with("200,'null','"), "{text}");
    let aid = text
        .trim()
        .trim_start_matches("200,'null','")
        .trim_end_matches('\'');
    let alice = f.prov.get_account(ALICE).await.expect("alice");
    let bob = f.prov.get_account(BOB).await.expect("bob");
    let up = f.svc.uploads.get(alice.id, aid).expect("kept");
    assert_eq!(up.data, b"hello upload");
    assert_eq!(up.filename.as_deref(), Some("note.txt"));
    assert!(f.svc.uploads.get(bob.id, aid).is_none());

    // Multipart, extended answer.
    let form = b"--b1\r\nContent-Disposition: form-data; name=\"requestId\"\r\n\r\nreq7\r\n\
        --b1\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\
        Content-Type: application/x-test\r\n\r\nABC\r\n--b1--\r\n";
    let (status, _, body) = raw(
        f.user,
        &format!(
            "POST /service/upload?fmt=extended HTTP/1.1\r\n{cookie}\r\n\
             Content-Type: multipart/form-data; boundary=b1"
        ),
        form,
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).expect("utf8");
    assert!(text.starts_with("200,'req7',[{"), "{text}");
    assert!(text.contains("\"ct\":\"application/x-test\"") && text.contains("\"s\":3"));

    // No cookie: refused.
    let (status, _, body) = raw(f.user, "POST /service/upload?fmt=raw HTTP/1.1", b"x").await;
    assert_eq!(status, 401);
    assert_eq!(String::from_utf8_lossy(&body), "401,'null'");
}

#[tokio::test]
async fn preauth_url_logs_in_and_refuses_stale_or_wrong_signatures() {
    let f = fixture().await;
    let domain = zcs_directory::EntryKey::Name("example.test".into());
    f.prov
        .generate_domain_preauth_key(&domain)
        .await
        .expect("key");
    let now = chrono::Utc::now().timestamp_millis();
    let old = now - 3_600_000;
    let signed_now = f
        .prov
        .compute_domain_preauth(&domain, ALICE, "name", 0, now)
        .await
        .expect("sign");
    let signed_old = f
        .prov
        .compute_domain_preauth(&domain, ALICE, "name", 0, old)
        .await
        .expect("sign");
    let sign = |ts: i64| {
        if ts == now {
            signed_now.clone()
        } else {
            signed_old.clone()
        }
    };
    let url = |ts: i64, sig: &str| {
        format!(
            "GET /service/preauth?account={ALICE}&by=name&timestamp={ts}&expires=0&preauth={sig}\
             &redirectURL=/zimbra/ HTTP/1.1"
        )
    };
    let (status, head, _) = raw(f.user, &url(now, &sign(now)), b"").await;
    assert_eq!(status, 302, "{head}");
    assert_eq!(header_value(&head, "location").as_deref(), Some("/zimbra/"));
    let cookie = header_value(&head, "set-cookie").expect("cookie");
    let token = cookie
        .trim_start_matches("ZM_AUTH_TOKEN=")
        .split(';')
        .next()
        .expect("value")
        .to_string();
    let get_info = "<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>";
    let r = post(f.user, "/service/soap", &soap12(Some(&token), get_info), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(ALICE));

    let (status, head, _) = raw(f.user, &url(old, &sign(old)), b"").await;
    assert_eq!(status, 400);
    assert!(header_value(&head, "set-cookie").is_none());
    let (status, _, _) = raw(f.user, &url(now, &"0".repeat(40)), b"").await;
    assert_eq!(status, 400);
    // An off-site redirect is not followed.
    let evil = url(now, &sign(now)).replace("redirectURL=/zimbra/", "redirectURL=//evil.test/");
    let (status, head, _) = raw(f.user, &evil, b"").await;
    assert_eq!(status, 302);
    assert_eq!(header_value(&head, "location").as_deref(), Some("/"));
}

#[tokio::test]
async fn rest_exports_for_the_owner_and_grantees_only() {
    let f = fixture().await;
    let id = put_message(&f, ALICE, "Quarterly").await;
    let get = |path: &str, auth: &str| format!("GET {path} HTTP/1.1\r\n{auth}");

    let (status, head, body) = raw(f.user, &get("/home/alice/inbox.rss", &basic(ALICE)), b"").await;
    assert_eq!(status, 200, "{head}");
    let rss = String::from_utf8(body).expect("utf8");
    assert!(
        rss.contains("<rss version=\"2.0\">") && rss.contains("Quarterly"),
        "{rss}"
    );

    let path = format!("/service/home/~/?id={}", id.0);
    let (status, _, body) = raw(f.user, &get(&path, &basic(ALICE)), b"").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Subject: Quarterly"));

    let (status, _, body) = raw(
        f.user,
        &get("/home/alice@example.test/Inbox?fmt=zip", &basic(ALICE)),
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"PK\x03\x04"));
    let (status, _, body) = raw(f.user, &get("/home/~/?fmt=tgz", &basic(ALICE)), b"").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(&[0x1f, 0x8b]));
    let (status, _, body) = raw(f.user, &get("/home/~/inbox?fmt=json", &basic(ALICE)), b"").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["m"][0]["su"], "Quarterly");

    // The cookie works as well as basic auth.
    let token = login(&f, ALICE).await;
    let (status, _, _) = raw(
        f.user,
        &get(
            "/home/~/inbox.rss",
            &format!("Cookie: ZM_AUTH_TOKEN={token}"),
        ),
        b"",
    )
    .await;
    assert_eq!(status, 200);

    // No credentials: 401 with a basic challenge.
    let (status, head, _) = raw(f.user, "GET /home/alice/inbox HTTP/1.1", b"").await;
    assert_eq!(status, 401);
    assert!(header_value(&head, "www-authenticate").is_some());

    // Bob sees nothing of Alice's: not the folder, not the item, not a missing one.
    for p in [
        "/home/alice/inbox.rss".to_string(),
        path.replace("~", "alice"),
        "/home/alice/?id=99999".into(),
        "/home/alice/nosuch".into(),
    ] {
        let (status, _, _) = raw(f.user, &get(&p, &basic(BOB)), b"").await;
        assert_eq!(status, 404, "{p}");
    }
    // Until Alice shares her inbox with him.
    let alice = f.prov.get_account(ALICE).await.expect("alice");
    let bob = f.prov.get_account(BOB).await.expect("bob");
    let mb = f.store.mailbox(alice.id).await.expect("mailbox");
    mb.grant(
        ItemId(2),
        zcs_store::GranteeType::User,
        &bob.id.to_string(),
        zcs_store::Rights(zcs_store::Rights::READ),
        "",
    )
    .await
    .expect("grant");
    let (status, _, body) = raw(f.user, &get("/home/alice/inbox.rss", &basic(BOB)), b"").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Quarterly"));
    let (status, _, _) = raw(f.user, &get(&path.replace("~", "alice"), &basic(BOB)), b"").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delegate_auth_gives_an_admin_a_user_token() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let body = format!(
        "<DelegateAuthRequest xmlns=\"urn:zimbraAdmin\" duration=\"600\">\
         <account by=\"name\">{ALICE}</account></DelegateAuthRequest>"
    );
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), &body),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.headers.to_ascii_lowercase().contains("set-cookie"));
    let tok = xml_text(&r.body, "authToken").expect("token");
    let lifetime: i64 = xml_text(&r.body, "lifetime")
        .expect("lifetime")
        .parse()
        .expect("num");
    assert!(lifetime <= 600_000 && lifetime > 590_000, "{lifetime}");
    let get_info = "<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>";
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), get_info), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(ALICE));
    // A user cannot delegate.
    let user = login(&f, BOB).await;
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&user), &body),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
}

#[tokio::test]
async fn admin_distribution_lists() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let call = |body: String| {
        let env = soap12(Some(&admin), &body);
        let addr = f.admin;
        async move { post(addr, "/service/admin/soap", &env, "").await }
    };
    let r = call(
        "<CreateDistributionListRequest xmlns=\"urn:zimbraAdmin\" name=\"team@example.test\">\
         <a n=\"description\">The team</a></CreateDistributionListRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find(" id=\"").expect("id") + 5;
    let id = r.body[start..start + 36].to_string();
    let r = call(format!(
        "<AddDistributionListMemberRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\">\
         <dlm>{ALICE}</dlm><dlm>{BOB}</dlm><dlm>ext@other.test</dlm>\
         </AddDistributionListMemberRequest>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(format!(
        "<RemoveDistributionListMemberRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\">\
         <dlm>{BOB}</dlm></RemoveDistributionListMemberRequest>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        "<GetDistributionListRequest xmlns=\"urn:zimbraAdmin\">\
         <dl by=\"name\">team@example.test</dl></GetDistributionListRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("<dlm>{ALICE}</dlm>")),
        "{}",
        r.body
    );
    assert!(!r.body.contains(&format!("<dlm>{BOB}</dlm>")), "{}", r.body);
    assert!(r.body.contains("The team"));
    let r = call(format!(
        "<ModifyDistributionListRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\">\
         <a n=\"description\">Renamed team</a></ModifyDistributionListRequest>"
    ))
    .await;
    assert!(r.body.contains("Renamed team"), "{}", r.body);
    let r = call(format!(
        "<AddDistributionListAliasRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\" \
         alias=\"crew@example.test\"/>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(format!(
        "<RenameDistributionListRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\" \
         newName=\"squad@example.test\"/>"
    ))
    .await;
    assert!(r.body.contains("squad@example.test"), "{}", r.body);
    let r = call("<GetAllDistributionListsRequest xmlns=\"urn:zimbraAdmin\"/>".into()).await;
    assert!(r.body.contains("squad@example.test"), "{}", r.body);
    let r = call(format!(
        "<DeleteDistributionListRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\"/>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        "<GetDistributionListRequest xmlns=\"urn:zimbraAdmin\">\
         <dl by=\"name\">squad@example.test</dl></GetDistributionListRequest>"
            .into(),
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.NO_SUCH_DISTRIBUTION_LIST")
    );
    // Users get PERM_DENIED.
    let user = login(&f, ALICE).await;
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(
            Some(&user),
            "<GetAllDistributionListsRequest xmlns=\"urn:zimbraAdmin\"/>",
        ),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
}
