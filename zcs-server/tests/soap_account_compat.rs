//! Zimbra compatibility of account and admin requests over real sockets on 127.0.0.1:
//! the spam white/black lists, admin preauth, JWT logins, the domain MX check (with a
//! static DNS zone: no real DNS is asked) and data sources.

mod soap_support;

use std::net::SocketAddr;
use std::sync::Arc;

use soap_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zcs_core::AttrEdit;
use zcs_directory::EntryKey;

/// Sends `GET path`; returns status and head.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    get_with(addr, path, "").await
}

/// Sends `GET path` with `extra` header lines; returns status and head.
async fn get_with(addr: SocketAddr, path: &str, extra: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.expect("read");
    let text = String::from_utf8_lossy(&all).to_string();
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    (head[9..12].parse().expect("status"), head)
}

/// The value of cookie `name` set by a response head.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Posts `body` in a SOAP envelope (with `token`, if any) to the admin port's service.
async fn admin_soap(f: &Fixture, token: Option<&str>, body: &str) -> Reply {
    post(f.admin, "/service/admin/soap", &soap12(token, body), "").await
}

fn soap_account(token: &str, body: &str) -> String {
    soap12(Some(token), body)
}

#[tokio::test]
async fn white_and_black_lists() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let modify = |list: &str, op: &str, addr: &str| {
        format!(
            "<ModifyWhiteBlackListRequest xmlns=\"urn:zimbraAccount\"><{list}>\
             <addr op=\"{op}\">{addr}</addr></{list}></ModifyWhiteBlackListRequest>"
        )
    };
    let get_req = "<GetWhiteBlackListRequest xmlns=\"urn:zimbraAccount\"/>";
    let r = post(
        f.user,
        "/service/soap",
        &soap_account(&tok, &modify("blackList", "+", "spam@far.test")),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(f.user, "/service/soap", &soap_account(&tok, get_req), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<blackList><addr>spam@far.test</addr></blackList>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<whiteList/>"), "{}", r.body);
    let stored = f.prov.get_account(ALICE).await.expect("alice");
    assert_eq!(
        stored.attrs.get_all("amavisBlacklistSender"),
        ["spam@far.test"]
    );

    let r = post(
        f.user,
        "/service/soap",
        &soap_account(&tok, &modify("blackList", "-", "spam@far.test")),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(f.user, "/service/soap", &soap_account(&tok, get_req), "").await;
    assert!(r.body.contains("<blackList/>"), "{}", r.body);

    // JSON, as the web client sends it; then the limit of the white list.
    f.prov
        .modify_account(
            ALICE,
            &[AttrEdit::Replace(
                "zimbraMailWhitelistMaxNumEntries".into(),
                vec!["2".into()],
            )],
        )
        .await
        .expect("limit");
    let json = |addrs: &str| {
        format!(
            "{{\"ModifyWhiteBlackListRequest\":{{\"_jsns\":\"urn:zimbraAccount\",\
             \"whiteList\":[{{\"addr\":[{addrs}]}}]}}}}"
        )
    };
    let two = "{\"op\":\"+\",\"_content\":\"a@x.test\"},{\"op\":\"+\",\"_content\":\"b@x.test\"}";
    let r = post(
        f.user,
        "/service/soap",
        &json_env(Some(&tok), &json(two)),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let third = "{\"op\":\"+\",\"_content\":\"c@x.test\"}";
    let r = post(
        f.user,
        "/service/soap",
        &json_env(Some(&tok), &json(third)),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.INVALID_REQUEST"),
        "{}",
        r.body
    );
    assert!(r.body.contains("exceed limit"), "{}", r.body);
    // An empty list clears it.
    let clear = "{\"ModifyWhiteBlackListRequest\":{\"_jsns\":\"urn:zimbraAccount\",\
                 \"whiteList\":[{}]}}";
    let r = post(f.user, "/service/soap", &json_env(Some(&tok), clear), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = f.prov.get_account(ALICE).await.expect("alice");
    assert!(stored.attrs.get_all("amavisWhitelistSender").is_empty());
}

#[tokio::test]
async fn admin_preauth_issues_an_admin_cookie_on_the_admin_port_only() {
    let f = fixture().await;
    let domain = EntryKey::Name("example.test".into());
    let key = f
        .prov
        .generate_domain_preauth_key(&domain)
        .await
        .expect("key");
    let now = chrono::Utc::now().timestamp_millis();
    // Zimbra's admin form signs account|1|by|expires|timestamp.
    let sign = |account: &str, admin: bool| {
        let signed = if admin {
            format!("{account}|1")
        } else {
            account.to_string()
        };
        zcs_directory::provisioning::preauth::compute_preauth(&key, &signed, "name", 0, now)
    };
    let url = |account: &str, admin: u8, sig: &str| {
        format!(
            "/service/preauth?account={account}&by=name&timestamp={now}&expires=0\
             &admin={admin}&preauth={sig}"
        )
    };
    let (status, head) = get(f.admin, &url(ADMIN, 1, &sign(ADMIN, true))).await;
    assert_eq!(status, 302, "{head}");
    let token = set_cookie(&head, "ZM_ADMIN_AUTH_TOKEN").expect("admin cookie");
    let body = format!(
        "<GetAccountRequest xmlns=\"urn:zimbraAdmin\"><account by=\"name\">{ALICE}</account>\
         </GetAccountRequest>"
    );
    let r = admin_soap(&f, Some(&token), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The user form signature does not pass for admin=1, nor the admin one for a user.
    let (status, head) = get(f.admin, &url(ADMIN, 1, &sign(ADMIN, false))).await;
    assert_eq!(status, 400, "{head}");
    assert!(set_cookie(&head, "ZM_ADMIN_AUTH_TOKEN").is_none());
    // A non-admin gets no admin token even correctly signed.
    let (status, _) = get(f.admin, &url(ALICE, 1, &sign(ALICE, true))).await;
    assert_eq!(status, 400);
    // admin=1 on the user port is the user form (so this admin signature fails).
    let (status, _) = get(f.user, &url(ADMIN, 1, &sign(ADMIN, true))).await;
    assert_eq!(status, 400);
    // A user preauth (admin=0) on the admin port sets the user cookie, as zimsoap uses.
    let (status, head) = get(f.admin, &url(ALICE, 0, &sign(ALICE, false))).await;
    assert_eq!(status, 302, "{head}");
    assert!(set_cookie(&head, "ZM_AUTH_TOKEN").is_some(), "{head}");

    // The SOAP admin AuthRequest takes the same admin signature.
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAdmin\"><account by=\"name\">{ADMIN}</account>\
         <preauth timestamp=\"{now}\" expires=\"0\">{}</preauth></AuthRequest>",
        sign(ADMIN, true)
    );
    let r = admin_soap(&f, None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin_tok = xml_text(&r.body, "authToken").expect("token");
    let r = admin_soap(
        &f,
        Some(&admin_tok),
        "<GetVersionInfoRequest xmlns=\"urn:zimbraAdmin\"/>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn jwt_login_needs_its_salt_and_ends_with_the_session() {
    let f = fixture().await;
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\" tokenType=\"JWT\"><account by=\"name\">\
         {ALICE}</account><password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(None, &body), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jwt = xml_text(&r.body, "authToken").expect("jwt");
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    let salt = set_cookie(&r.headers, "ZM_JWT").expect("salt cookie");
    assert!(set_cookie(&r.headers, "ZM_AUTH_TOKEN").is_none());

    let get_info = "<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>";
    let env = |ctx: &str| {
        format!(
            "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
             <soap:Header><context xmlns=\"urn:zimbra\">{ctx}</context></soap:Header>\
             <soap:Body>{get_info}</soap:Body></soap:Envelope>"
        )
    };
    // In the context with its salt.
    let with_salt = env(&format!(
        "<jwtToken>{jwt}</jwtToken><jwtSalt>{salt}</jwtSalt>"
    ));
    let r = post(f.user, "/service/soap", &with_salt, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(ALICE), "{}", r.body);
    // As a bearer token with the salt cookie.
    let bare = env("");
    let headers = format!("Authorization: Bearer {jwt}\r\nCookie: ZM_JWT={salt}\r\n");
    let r = post(f.user, "/service/soap", &bare, &headers).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Without the salt, or with another one, it is no credential.
    let r = post(
        f.user,
        "/service/soap",
        &env(&format!("<jwtToken>{jwt}</jwtToken>")),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_REQUIRED"),
        "{}",
        r.body
    );
    let wrong = format!("Authorization: Bearer {jwt}\r\nCookie: ZM_JWT=abcdefghijabcdefghij\r\n");
    let r = post(f.user, "/service/soap", &bare, &wrong).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_REQUIRED"),
        "{}",
        r.body
    );
    // REST (and uploads) take it as a bearer token too, with its salt only.
    let (status, head) = get_with(f.user, "/home/~/inbox.rss", &headers).await;
    assert_eq!(status, 200, "{head}");
    let (status, _) = get_with(f.user, "/home/~/inbox.rss", &wrong).await;
    assert_ne!(status, 200);
    // A JWT is no admin token.
    let admin_req = "<GetVersionInfoRequest xmlns=\"urn:zimbraAdmin\"/>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(None, admin_req),
        &headers,
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // EndSession ends it.
    let end = "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
               <soap:Body><EndSessionRequest xmlns=\"urn:zimbraAccount\"/></soap:Body>\
               </soap:Envelope>";
    let r = post(f.user, "/service/soap", end, &headers).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(f.user, "/service/soap", &with_salt, "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_EXPIRED"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn check_domain_mx_record_asks_the_injected_resolver() {
    let f = fixture().await;
    let zone = zcs_mta::outbound::StaticResolver::new();
    zone.add_mx("example.test", 10, "mail.example.test");
    f.prov
        .create_domain("nomx.test", zcs_core::Attrs::new())
        .await
        .expect("domain");
    f.prov
        .create_domain("other.test", zcs_core::Attrs::new())
        .await
        .expect("domain");
    zone.add_mx("other.test", 5, "mx.elsewhere.test");
    zone.fail("broken.test", "SERVFAIL");
    f.prov
        .create_domain("broken.test", zcs_core::Attrs::new())
        .await
        .expect("domain");
    assert!(f.svc.set_dns_resolver(Arc::new(zone)));
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Replace(
                "zimbraDNSCheckHostname".into(),
                vec!["mail.example.test".into()],
            )],
        )
        .await
        .expect("check host");
    let tok = admin_login(&f).await;
    let check = |d: &str| {
        format!(
            "<CheckDomainMXRecordRequest xmlns=\"urn:zimbraAdmin\">\
             <domain by=\"name\">{d}</domain></CheckDomainMXRecordRequest>"
        )
    };
    let r = admin_soap(&f, Some(&tok), &check("example.test")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        xml_text(&r.body, "code").as_deref(),
        Some("Ok"),
        "{}",
        r.body
    );
    let r = admin_soap(&f, Some(&tok), &check("other.test")).await;
    assert_eq!(
        xml_text(&r.body, "code").as_deref(),
        Some("Failed"),
        "{}",
        r.body
    );
    assert_eq!(
        xml_text(&r.body, "entry").as_deref(),
        Some("5 mx.elsewhere.test.")
    );
    let r = admin_soap(&f, Some(&tok), &check("nomx.test")).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.FAILURE"));
    assert!(r.body.contains("NameNotFoundException"), "{}", r.body);
    let r = admin_soap(&f, Some(&tok), &check("broken.test")).await;
    assert!(r.body.contains("SERVFAIL"), "{}", r.body);
    // Users may not ask.
    let user = login(&f, ALICE).await;
    let r = admin_soap(&f, Some(&user), &check("example.test")).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
}

#[tokio::test]
async fn data_sources_user_and_admin_forms() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let create = "<CreateDataSourceRequest xmlns=\"urn:zimbraAccount\"><imap name=\"Far IMAP\" \
                  l=\"2\" isEnabled=\"0\" importOnly=\"1\" host=\"imap.far.test\" port=\"993\" \
                  connectionType=\"tls\" username=\"u\" password=\"secret-pw\" \
                  emailAddress=\"me@far.test\" leaveOnServer=\"0\"/></CreateDataSourceRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), create), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find("<imap id=\"").expect("id") + 10;
    let id = r.body[start..start + 36].to_string();

    let get_req = "<GetDataSourcesRequest xmlns=\"urn:zimbraAccount\"/>";
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), get_req), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for want in [
        "host=\"imap.far.test\"",
        "emailAddress=\"me@far.test\"",
        "isEnabled=\"0\"",
        "importOnly=\"1\"",
        "l=\"2\"",
        "name=\"Far IMAP\"",
    ] {
        assert!(r.body.contains(want), "{want}: {}", r.body);
    }
    assert!(!r.body.contains("secret-pw"), "{}", r.body);
    let stored = f
        .prov
        .get_child(zcs_directory::provisioning::Child::DataSource, ALICE, &id)
        .await
        .expect("stored");
    assert_eq!(stored.attrs.get("zimbraDataSourceType"), Some("imap"));
    assert_eq!(stored.attrs.get("zimbraDataSourceEnabled"), Some("FALSE"));

    let modify = format!(
        "<ModifyDataSourceRequest xmlns=\"urn:zimbraAccount\"><imap id=\"{id}\" \
         emailAddress=\"new@far.test\"/></ModifyDataSourceRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), &modify), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), get_req), "").await;
    assert!(
        r.body.contains("emailAddress=\"new@far.test\""),
        "{}",
        r.body
    );

    // The admin form sees it, with the password blocked.
    let admin = admin_login(&f).await;
    let alice_id = f.prov.get_account(ALICE).await.expect("alice").id;
    let body = format!(
        "<GetDataSourcesRequest xmlns=\"urn:zimbraAdmin\"><id>{alice_id}</id>\
         </GetDataSourcesRequest>"
    );
    let r = admin_soap(&f, Some(&admin), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("type=\"imap\""), "{}", r.body);
    assert!(r.body.contains("VALUE-BLOCKED"), "{}", r.body);
    assert!(!r.body.contains("secret-pw"), "{}", r.body);
    let body = format!(
        "<CreateDataSourceRequest xmlns=\"urn:zimbraAdmin\"><id>{alice_id}</id>\
         <dataSource type=\"pop3\" name=\"Far POP\"><a n=\"zimbraDataSourceEnabled\">TRUE</a>\
         <a n=\"zimbraDataSourceFolderId\">2</a><a n=\"zimbraDataSourceHost\">pop.far.test</a>\
         <a n=\"zimbraDataSourcePort\">995</a>\
         <a n=\"zimbraDataSourceConnectionType\">ssl</a></dataSource></CreateDataSourceRequest>"
    );
    let r = admin_soap(&f, Some(&admin), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = format!(
        "<DeleteDataSourceRequest xmlns=\"urn:zimbraAdmin\"><id>{alice_id}</id>\
         <dataSource id=\"{id}\"/></DeleteDataSourceRequest>"
    );
    let r = admin_soap(&f, Some(&admin), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), get_req), "").await;
    assert!(!r.body.contains("<imap"), "{}", r.body);
    assert!(r.body.contains("<pop3"), "{}", r.body);
    // A user cannot reach another account's data sources by naming it.
    let bob = login(&f, BOB).await;
    let env = format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{bob}</authToken><account by=\"name\">\
         {ALICE}</account></context></soap:Header><soap:Body>{get_req}</soap:Body>\
         </soap:Envelope>"
    );
    let r = post(f.user, "/service/soap", &env, "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
}

/// Spec 02 §6 idea 15: a bare user name logs in to the domain whose
/// `zimbraVirtualHostname` is the request's `virtualHost` (what the web client sends for
/// the host it was loaded from); another host leaves the name unqualified.
#[tokio::test]
async fn a_bare_name_logs_in_through_the_virtual_host() {
    let f = fixture().await;
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Replace(
                "zimbraVirtualHostname".into(),
                vec!["webmail.example.test".into()],
            )],
        )
        .await
        .expect("virtual host");
    let auth = |host: &str| {
        format!(
            "<AuthRequest xmlns=\"urn:zimbraAccount\"><account by=\"name\">alice</account>\
             <password>{PASSWORD}</password><virtualHost>{host}</virtualHost></AuthRequest>"
        )
    };
    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &auth("WebMail.Example.Test")),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(xml_text(&r.body, "authToken").is_some(), "{}", r.body);

    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &auth("other.host.test")),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.AUTH_FAILED"),
        "{}",
        r.body
    );
}
