//! The SOAP/JSON API over real HTTP on 127.0.0.1: envelopes in each form, faults,
//! tokens (header, cookie, EndSession, tampering), account and admin requests,
//! folders and tags, and that one account cannot reach another's items.

mod soap_support;

use soap_support::*;

#[tokio::test]
async fn auth_xml_then_getinfo_json_and_cookie() {
    let f = fixture().await;
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\"><account by=\"name\">{ALICE}</account>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(
        f.user,
        "/service/soap/AuthRequest",
        &soap12(None, &body),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-type: text/xml; charset=utf-8")
    );
    assert!(r.headers.contains("ZM_AUTH_TOKEN="), "{}", r.headers);
    assert!(
        r.body
            .contains("<soap:Header><context xmlns=\"urn:zimbra\""),
        "{}",
        r.body
    );
    let token = xml_text(&r.body, "authToken").expect("token");
    assert!(token.starts_with("0_"));
    let lifetime: i64 = xml_text(&r.body, "lifetime")
        .expect("lifetime")
        .parse()
        .expect("ms");
    assert!(lifetime > 86_400_000 && lifetime <= 2 * 86_400_000);

    let info = "{\"GetInfoRequest\":{\"_jsns\":\"urn:zimbraAccount\",\"sections\":\"mbox,prefs\"}}";
    let r = post(f.user, "/service/soap", &json_env(Some(&token), info), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["_jsns"], "urn:zimbraSoap");
    let gi = &v["Body"]["GetInfoResponse"];
    assert_eq!(gi["name"], ALICE);
    assert_eq!(gi["_jsns"], "urn:zimbraAccount");
    assert!(gi["prefs"]["_attrs"].is_object(), "{gi}");

    // The cookie alone authenticates too.
    let cookie = format!("Cookie: ZM_AUTH_TOKEN={token}\r\n");
    let noop = "<NoOpRequest xmlns=\"urn:zimbraMail\"/>";
    let r = post(f.user, "/service/soap", &soap12(None, noop), &cookie).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<NoOpResponse xmlns=\"urn:zimbraMail\"/>"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn faults_have_zimbra_shape() {
    let f = fixture().await;
    let bad = format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\"><account>{ALICE}</account>\
         <password>wrong</password></AuthRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(None, &bad), "").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.fault_code().as_deref(), Some("account.AUTH_FAILED"));
    assert!(
        r.body.contains("<soap:Value>soap:Sender</soap:Value>"),
        "{}",
        r.body
    );

    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, "<FooRequest xmlns=\"urn:zimbraMail\"/>"),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.UNKNOWN_DOCUMENT"));

    for junk in [
        "",
        "<soap:Envelope",
        "{\"Body\":",
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
    ] {
        let r = post(f.user, "/service/soap", junk, "").await;
        assert_eq!(r.status, 500, "{junk}");
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.PARSE_ERROR"),
            "{junk}: {}",
            r.body
        );
    }

    let r = post(
        f.user,
        "/service/soap",
        &json_env(
            None,
            "{\"GetInfoRequest\":{\"_jsns\":\"urn:zimbraAccount\"}}",
        ),
        "",
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.fault_code().as_deref(), Some("service.AUTH_REQUIRED"));
    assert_eq!(r.json()["Body"]["Fault"]["Code"]["Value"], "soap:Sender");

    // SOAP 1.1 faults use faultcode/faultstring/detail.
    let env11 = "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body>\
        <GetInfoRequest xmlns=\"urn:zimbraAccount\"/></e:Body></e:Envelope>";
    let r = post(f.user, "/service/soap", env11, "").await;
    assert!(
        r.body.contains("<faultcode>soap:Client</faultcode>"),
        "{}",
        r.body
    );
    assert_eq!(r.fault_code().as_deref(), Some("service.AUTH_REQUIRED"));
}

#[tokio::test]
async fn end_session_and_tampered_tokens() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let noop = "{\"NoOpRequest\":{\"_jsns\":\"urn:zimbraMail\"}}";
    assert_eq!(
        post(f.user, "/service/soap", &json_env(Some(&token), noop), "")
            .await
            .status,
        200
    );

    // Flip one hex digit of the payload: refused.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).expect("ascii");
    let r = post(f.user, "/service/soap", &json_env(Some(&forged), noop), "").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.AUTH_REQUIRED"));

    let end = "{\"EndSessionRequest\":{\"_jsns\":\"urn:zimbraAccount\"}}";
    assert_eq!(
        post(f.user, "/service/soap", &json_env(Some(&token), end), "")
            .await
            .status,
        200
    );
    let r = post(f.user, "/service/soap", &json_env(Some(&token), noop), "").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.AUTH_EXPIRED"));
}

#[tokio::test]
async fn prefs_and_change_password() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let modify = "<ModifyPrefsRequest xmlns=\"urn:zimbraAccount\">\
        <pref name=\"zimbraPrefMailPollingInterval\">10m</pref></ModifyPrefsRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&token), modify), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let get = "<GetPrefsRequest xmlns=\"urn:zimbraAccount\">\
     <pref name=\"zimbraPrefMailPollingInterval\"/></GetPrefsRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&token), get), "").await;
    assert!(
        r.body
            .contains("<pref name=\"zimbraPrefMailPollingInterval\">10m</pref>"),
        "{}",
        r.body
    );
    let bad = "<ModifyPrefsRequest xmlns=\"urn:zimbraAccount\">\
     <pref name=\"zimbraMailQuota\">1</pref></ModifyPrefsRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&token), bad), "").await;
    assert_eq!(r.fault_code().as_deref(), Some("account.INVALID_ATTR_NAME"));

    let change = format!(
        "<ChangePasswordRequest xmlns=\"urn:zimbraAccount\"><account by=\"name\">{ALICE}</account>\
         <oldPassword>{PASSWORD}</oldPassword><password>N3w-passw0rd!</password>\
         </ChangePasswordRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(Some(&token), &change), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(xml_text(&r.body, "authToken").is_some());
}

#[tokio::test]
async fn admin_api_needs_admin_and_does_crud() {
    let f = fixture().await;
    // A user cannot get an admin token, and a user token is refused by admin requests.
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAdmin\"><name>{ALICE}</name>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(f.admin, "/service/admin/soap", &soap12(None, &body), "").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
    let user_token = login(&f, ALICE).await;
    let get_all = "<GetAllDomainsRequest xmlns=\"urn:zimbraAdmin\"/>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&user_token), get_all),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
    // Admin requests are not served on the user port.
    let r = post(
        f.user,
        "/service/soap",
        &soap12(Some(&user_token), get_all),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.UNKNOWN_DOCUMENT"));

    let t = admin_login(&f).await;
    let admin = |b: String| {
        let t = t.clone();
        let addr = f.admin;
        async move { post(addr, "/service/admin/soap", &soap12(Some(&t), &b), "").await }
    };
    let r = admin(
        "<CreateDomainRequest xmlns=\"urn:zimbraAdmin\"><name>new.test</name>\
        <a n=\"description\">fresh</a></CreateDomainRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<domain name=\"new.test\""), "{}", r.body);

    let r = admin(
        "<CreateAccountRequest xmlns=\"urn:zimbraAdmin\" name=\"carol@new.test\" \
        password=\"test123456\"><a n=\"displayName\">Carol</a></CreateAccountRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<a n=\"displayName\">Carol</a>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<a n=\"userPassword\">VALUE-BLOCKED</a>"),
        "{}",
        r.body
    );
    let id_start = r.body.find("id=\"").expect("id") + 4;
    let id = r.body[id_start..id_start + 36].to_string();

    let r = admin(
        "<CreateAccountRequest xmlns=\"urn:zimbraAdmin\"><name>carol@new.test</name>\
        <password>test123456</password></CreateAccountRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("account.ACCOUNT_EXISTS"));
    let r = admin(
        "<CreateAccountRequest xmlns=\"urn:zimbraAdmin\"><name>dave@new.test</name>\
        <a n=\"zimbraNoSuchAttr\">1</a></CreateAccountRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("account.INVALID_ATTR_NAME"));

    let r = admin(format!(
        "<ModifyAccountRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\">\
        <a n=\"displayName\">Caroline</a></ModifyAccountRequest>"
    ))
    .await;
    assert!(
        r.body.contains("<a n=\"displayName\">Caroline</a>"),
        "{}",
        r.body
    );
    let r = admin(
        "<GetAccountRequest xmlns=\"urn:zimbraAdmin\" attrs=\"displayName\">\
        <account by=\"name\">carol@new.test</account></GetAccountRequest>"
            .into(),
    )
    .await;
    assert!(
        r.body.contains("<a n=\"displayName\">Caroline</a>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("zimbraMailStatus"), "{}", r.body);
    let r = admin(format!(
        "<SetPasswordRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\" \
        newPassword=\"another-pass1\"/>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(
        "<SearchDirectoryRequest xmlns=\"urn:zimbraAdmin\" query=\"(mail=*carol*)\" \
         types=\"accounts\"/>"
            .into(),
    )
    .await;
    assert!(r.body.contains("searchTotal=\"1\""), "{}", r.body);
    let r = admin(format!(
        "<RenameAccountRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\" newName=\"caz@new.test\"/>"
    ))
    .await;
    assert!(r.body.contains("name=\"caz@new.test\""), "{}", r.body);
    let r = admin(format!(
        "<DeleteAccountRequest xmlns=\"urn:zimbraAdmin\" id=\"{id}\"/>"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(
        "<GetAccountRequest xmlns=\"urn:zimbraAdmin\">\
     <account by=\"name\">caz@new.test</account></GetAccountRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("account.NO_SUCH_ACCOUNT"));

    let r = admin(
        "<CreateCosRequest xmlns=\"urn:zimbraAdmin\"><name>gold</name>\
        <a n=\"zimbraMailQuota\">1000</a></CreateCosRequest>"
            .into(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin("<GetAllCosRequest xmlns=\"urn:zimbraAdmin\"/>".into()).await;
    assert!(
        r.body.contains("name=\"gold\"") && r.body.contains("name=\"default\""),
        "{}",
        r.body
    );
    let r = admin(
        "<GetConfigRequest xmlns=\"urn:zimbraAdmin\"><a n=\"zimbraAuthTokenKey\"/>\
     </GetConfigRequest>"
            .into(),
    )
    .await;
    assert!(
        !r.body.contains("<a n=\"zimbraAuthTokenKey\""),
        "{}",
        r.body
    );
    let r = admin("<GetVersionInfoRequest xmlns=\"urn:zimbraAdmin\"/>".into()).await;
    assert!(r.body.contains("<info version="), "{}", r.body);
}

#[tokio::test]
async fn batch_folders_tags_and_isolation() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let batch = "<BatchRequest xmlns=\"urn:zimbra\" onerror=\"continue\">\
        <CreateFolderRequest xmlns=\"urn:zimbraMail\" requestId=\"1\">\
         <folder name=\"Projects\" l=\"1\"/></CreateFolderRequest>\
        <NoSuchRequest xmlns=\"urn:zimbraMail\" requestId=\"2\"/>\
        <CreateTagRequest xmlns=\"urn:zimbraMail\" requestId=\"3\"><tag name=\"urgent\"/>\
         </CreateTagRequest>\
        </BatchRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), batch), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<BatchResponse xmlns=\"urn:zimbra\">"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<CreateFolderResponse xmlns=\"urn:zimbraMail\" requestId=\"1\">"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<soap:Fault requestId=\"2\">"),
        "{}",
        r.body
    );
    assert!(r.body.contains("requestId=\"3\""), "{}", r.body);
    let fid_start = r.body.find("<folder id=\"").expect("folder") + 12;
    let fid: String = r.body[fid_start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();

    let get = "{\"GetFolderRequest\":{\"_jsns\":\"urn:zimbraMail\"}}";
    let r = post(f.user, "/service/soap", &json_env(Some(&alice), get), "").await;
    let v = r.json();
    let root = &v["Body"]["GetFolderResponse"]["folder"][0];
    assert_eq!(root["id"], "1");
    let names: Vec<&str> = root["folder"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Inbox") && names.contains(&"Projects"),
        "{names:?}"
    );
    assert!(v["Header"]["context"]["change"]["token"].is_number(), "{v}");

    // Bob cannot touch Alice's folder: same answer as a folder that never existed.
    // Deleting ids that do not exist is not an error in Zimbra (its delete skips them),
    // so both succeed and change nothing; Alice renames her folder below, so it is there.
    let act = format!(
        "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action id=\"{fid}\" op=\"delete\"/>\
         </FolderActionRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(Some(&bob), &act), "").await;
    assert_eq!(r.fault_code(), None, "{}", r.body);
    let mine = r.body.replace(&fid.to_string(), "ID");
    let never = "<FolderActionRequest xmlns=\"urn:zimbraMail\">\
     <action id=\"99999\" op=\"delete\"/></FolderActionRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&bob), never), "").await;
    assert_eq!(r.fault_code(), None, "{}", r.body);
    assert_eq!(r.body.replace("99999", "ID"), mine);
    // Nor act on her mailbox through the context's account.
    let ctx_other = format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{bob}</authToken>\
          <account by=\"name\">{ALICE}</account>\
         </context></soap:Header><soap:Body><GetFolderRequest xmlns=\"urn:zimbraMail\"/>\
          </soap:Body></soap:Envelope>"
    );
    let r = post(f.user, "/service/soap", &ctx_other, "").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));

    let r = post(
        f.user,
        "/service/soap",
        &soap12(
            Some(&alice),
            &act.replace("delete", "rename\" name=\"Renamed"),
        ),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("op=\"rename\""), "{}", r.body);
    let r = post(
        f.user,
        "/service/soap",
        &soap12(Some(&alice), "<GetTagRequest xmlns=\"urn:zimbraMail\"/>"),
        "",
    )
    .await;
    assert!(r.body.contains("name=\"urgent\""), "{}", r.body);
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), &act), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn expired_header_token_is_refused_even_for_auth() {
    let f = fixture().await;
    let edit = zcs_core::AttrEdit::Replace("zimbraAuthTokenLifetime".into(), vec!["1s".into()]);
    f.prov
        .modify_account(ALICE, &[edit])
        .await
        .expect("lifetime");
    let token = login(&f, ALICE).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let auth = format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\"><account>{ALICE}</account>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(f.user, "/service/soap", &soap12(Some(&token), &auth), "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_EXPIRED"),
        "{}",
        r.body
    );
    let void = format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{token}</authToken>\
         <authTokenControl voidOnExpired=\"1\"/></context></soap:Header><soap:Body>{auth}\
         </soap:Body></soap:Envelope>"
    );
    let r = post(f.user, "/service/soap", &void, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
}
