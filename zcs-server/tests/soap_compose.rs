//! SaveDraft (and so SendMsg's MIME building) with attachments over real HTTP on
//! 127.0.0.1: an upload by `aid`, a part of a message already in the mailbox
//! (`mp mid= part=`), a whole message (`m id=`) and a contact (`cn id=`), checked by
//! reading the saved draft back raw; ids and uploads of another account answer as
//! missing ones. Also tags with RGB colours (and TagAction op=color), GetShareInfo and
//! calendar resources.

mod soap_support;

use mail_parser::{MessageParser, MimeHeaders};
use soap_support::*;

async fn call(f: &Fixture, token: &str, body: &str) -> serde_json::Value {
    let r = post(f.user, "/service/soap", &json_env(Some(token), body), "").await;
    let v = r.json();
    assert_eq!(r.status, 200, "{body}\n{}", r.body);
    v["Body"].clone()
}

async fn fault(f: &Fixture, token: &str, body: &str) -> String {
    let r = post(f.user, "/service/soap", &json_env(Some(token), body), "").await;
    assert_eq!(r.status, 500, "{body}\n{}", r.body);
    r.fault_code().expect("fault code")
}

const MIXED: &str = "From: carol@else.test\r\nTo: alice@example.test\r\nSubject: report\r\n\
    MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
    --b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
    --b1\r\nContent-Type: application/pdf; name=\"q3.pdf\"\r\n\
    Content-Disposition: attachment; filename=\"q3.pdf\"\r\n\
    Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";

async fn add_msg(f: &Fixture, token: &str, raw: &str) -> String {
    let body = serde_json::json!({"AddMsgRequest": {"_jsns": "urn:zimbraMail",
        "m": {"l": "2", "content": {"_content": raw}}}});
    let v = call(f, token, &body.to_string()).await;
    v["AddMsgResponse"]["m"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn save_draft_builds_attachments() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let alice_id = f.prov.get_account(ALICE).await.expect("alice").id;
    let bob_id = f.prov.get_account(BOB).await.expect("bob").id;

    let mid = add_msg(&f, &alice, MIXED).await;
    let bob_mid = add_msg(&f, &bob, MIXED).await;
    let cn = serde_json::json!({"CreateContactRequest": {"_jsns": "urn:zimbraMail",
        "cn": {"a": [{"n": "firstName", "_content": "Dana"},
                     {"n": "lastName", "_content": "Ng"},
                     {"n": "email", "_content": "dana@example.test"}]}}});
    let v = call(&f, &alice, &cn.to_string()).await;
    let cid = v["CreateContactResponse"]["cn"][0]["id"]
        .as_str()
        .expect("contact id")
        .to_string();
    let aid = f
        .svc
        .uploads
        .put(
            alice_id,
            Some("notes é.txt".into()),
            Some("text/plain".into()),
            b"uploaded bytes".to_vec(),
        )
        .expect("upload");
    let bob_aid = f
        .svc
        .uploads
        .put(bob_id, Some("b.bin".into()), None, vec![1, 2, 3])
        .expect("upload");

    let draft = serde_json::json!({"SaveDraftRequest": {"_jsns": "urn:zimbraMail", "m": {
        "su": {"_content": "Weekly — résumé"},
        "e": [{"t": "t", "a": BOB, "p": "Bob"}, {"t": "b", "a": "hidden@example.test"}],
        "mp": {"ct": "multipart/alternative", "mp": [
            {"ct": "text/plain", "content": {"_content": "hello ünïcode"}},
            {"ct": "text/html", "content": {"_content": "<p>hello</p>"}}]},
        "attach": {"aid": aid,
            "mp": [{"mid": mid, "part": "2"}],
            "m": [{"id": mid}],
            "cn": [{"id": cid}]}}}});
    let v = call(&f, &alice, &draft.to_string()).await;
    let m = &v["SaveDraftResponse"]["m"][0];
    let did = m["id"].as_str().expect("draft id").to_string();
    assert_eq!(m["l"], "6", "{m}");
    assert!(m["f"].as_str().unwrap_or("").contains('d'), "{m}");

    let get = serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail",
        "m": {"id": did, "raw": "1"}}});
    let v = call(&f, &alice, &get.to_string()).await;
    let raw = v["GetMsgResponse"]["m"][0]["content"][0]["_content"]
        .as_str()
        .or(v["GetMsgResponse"]["m"][0]["content"].as_str())
        .expect("raw content")
        .to_string();
    let msg = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parses");
    assert_eq!(msg.subject(), Some("Weekly — résumé"));
    assert!(
        raw.contains("Bcc: hidden@example.test"),
        "a draft keeps Bcc"
    );
    let root = msg.content_type().expect("ct");
    assert_eq!(root.ctype(), "multipart");
    assert_eq!(root.subtype(), Some("mixed"));
    assert_eq!(msg.body_text(0).as_deref(), Some("hello ünïcode"));
    assert_eq!(msg.body_html(0).as_deref(), Some("<p>hello</p>"));
    let names: Vec<(String, Vec<u8>)> = msg
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or("").to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    // The upload comes first; the others follow in the order the request gives them
    // (a JSON object's keys come in name order).
    assert_eq!(names[0].0, "notes é.txt");
    assert_eq!(names[0].1, b"uploaded bytes");
    let find = |n: &str| {
        names
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, data)| data.clone())
            .unwrap_or_else(|| panic!("no attachment {n} in {names:?}"))
    };
    assert_eq!(find("q3.pdf"), b"%PDF-1.4\n");
    assert!(String::from_utf8_lossy(&find("report.eml")).contains("Subject: report"));
    assert!(String::from_utf8_lossy(&find("Dana Ng.vcf")).contains("BEGIN:VCARD"));
    // The upload was used once and is gone.
    assert!(f.svc.uploads.get(alice_id, &aid).is_none());

    // Saving again over the draft rewrites it under its own id, as Zimbra does, with
    // the tags asked for; the Drafts folder still holds one message.
    let again = serde_json::json!({"SaveDraftRequest": {"_jsns": "urn:zimbraMail",
        "m": {"id": did, "tn": "later", "su": {"_content": "v2"}, "mp": {"ct": "text/plain",
        "content": {"_content": "short"}}}}});
    let v = call(&f, &alice, &again.to_string()).await;
    assert_eq!(v["SaveDraftResponse"]["m"][0]["su"], "v2");
    assert_eq!(
        v["SaveDraftResponse"]["m"][0]["id"].as_str(),
        Some(did.as_str())
    );
    assert_eq!(v["SaveDraftResponse"]["m"][0]["tn"], "later");
    let get = serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail",
        "m": {"id": did}}});
    let v = call(&f, &alice, &get.to_string()).await;
    assert_eq!(v["GetMsgResponse"]["m"][0]["su"], "v2");
    assert_eq!(v["GetMsgResponse"]["m"][0]["l"], "6");
    let drafts = serde_json::json!({"SearchRequest": {"_jsns": "urn:zimbraMail",
        "types": "message", "query": "in:drafts"}});
    let v = call(&f, &alice, &drafts.to_string()).await;
    let hits = v["SearchResponse"]["m"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(hits.len(), 1, "{v}");
    assert_eq!(hits[0]["id"].as_str(), Some(did.as_str()));

    // Another account's message, part, contact or upload is simply missing. (Ids are
    // per mailbox: Bob's 257 alone would name Alice's own 257.)
    for (attach, code) in [
        (
            serde_json::json!({"m": [{"id": format!("{bob_id}:{bob_mid}")}]}),
            "mail.NO_SUCH_MSG",
        ),
        (
            serde_json::json!({"mp": [{"mid": "4242", "part": "1"}]}),
            "mail.NO_SUCH_MSG",
        ),
        (
            serde_json::json!({"mp": [{"mid": format!("{bob_id}:{bob_mid}"), "part": "2"}]}),
            "mail.NO_SUCH_MSG",
        ),
        (
            serde_json::json!({"mp": [{"mid": mid, "part": "7"}]}),
            "mail.NO_SUCH_PART",
        ),
        (serde_json::json!({"aid": bob_aid}), "mail.NO_SUCH_UPLOAD"),
        (
            serde_json::json!({"cn": [{"id": "99999"}]}),
            "mail.NO_SUCH_CONTACT",
        ),
    ] {
        let req = serde_json::json!({"SaveDraftRequest": {"_jsns": "urn:zimbraMail",
            "m": {"su": {"_content": "x"}, "attach": attach}}});
        assert_eq!(fault(&f, &alice, &req.to_string()).await, code, "{attach}");
    }
    // Bob's upload is still there for Bob.
    assert!(f.svc.uploads.get(bob_id, &bob_aid).is_some());
    // Nothing of Alice's leaked into Bob's view either.
    let peek = serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail",
        "m": {"id": format!("{alice_id}:{mid}")}}});
    let code = fault(&f, &bob, &peek.to_string()).await;
    assert!(
        code == "mail.NO_SUCH_MSG" || code == "service.PERM_DENIED",
        "{code}"
    );
}

#[tokio::test]
async fn fault_codes_name_the_missing_kind() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let cases = [
        (
            serde_json::json!({"GetConvRequest": {"_jsns": "urn:zimbraMail", "c": {"id": "4242"}}}),
            "mail.NO_SUCH_CONV",
        ),
        (
            serde_json::json!({"GetContactsRequest": {"_jsns": "urn:zimbraMail",
                "cn": {"id": "4242"}}}),
            "mail.NO_SUCH_CONTACT",
        ),
        (
            serde_json::json!({"GetMsgRequest": {"_jsns": "urn:zimbraMail", "m": {"id": "4242"}}}),
            "mail.NO_SUCH_MSG",
        ),
        (
            serde_json::json!({"TagActionRequest": {"_jsns": "urn:zimbraMail",
                "action": {"id": "4242", "op": "read"}}}),
            "mail.NO_SUCH_TAG",
        ),
        (
            serde_json::json!({"FolderActionRequest": {"_jsns": "urn:zimbraMail",
                "action": {"id": "2", "op": "delete"}}}),
            "mail.IMMUTABLE_OBJECT",
        ),
    ];
    for (req, code) in cases {
        assert_eq!(fault(&f, &alice, &req.to_string()).await, code, "{req}");
    }
}

#[tokio::test]
async fn tag_rgb_colors_read_back() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let req = serde_json::json!({"CreateTagRequest": {"_jsns": "urn:zimbraMail",
        "tag": {"name": "hot", "rgb": "#FF0080"}}});
    let v = call(&f, &alice, &req.to_string()).await;
    assert_eq!(v["CreateTagResponse"]["tag"][0]["rgb"], "#ff0080");
    let req = serde_json::json!({"CreateTagRequest": {"_jsns": "urn:zimbraMail",
        "tag": {"name": "blue", "color": "1"}}});
    call(&f, &alice, &req.to_string()).await;
    let v = call(
        &f,
        &alice,
        "{\"GetTagRequest\":{\"_jsns\":\"urn:zimbraMail\"}}",
    )
    .await;
    let tags = v["GetTagResponse"]["tag"].as_array().expect("tags").clone();
    assert!(
        tags.iter()
            .any(|t| t["name"] == "hot" && t["rgb"] == "#ff0080")
    );
    assert!(tags.iter().any(|t| t["name"] == "blue" && t["color"] == 1));

    // TagAction op=color changes the colour, by index or by rgb (rgb wins).
    let blue = tags
        .iter()
        .find(|t| t["name"] == "blue")
        .and_then(|t| t["id"].as_str())
        .expect("blue id")
        .to_string();
    let act = |attrs: serde_json::Value| {
        let mut action = serde_json::json!({"id": blue});
        if let (Some(a), Some(extra)) = (action.as_object_mut(), attrs.as_object()) {
            a.extend(extra.clone());
        }
        serde_json::json!({"TagActionRequest": {"_jsns": "urn:zimbraMail", "action": action}})
            .to_string()
    };
    let get_blue = async || {
        let v = call(
            &f,
            &alice,
            "{\"GetTagRequest\":{\"_jsns\":\"urn:zimbraMail\"}}",
        )
        .await;
        v["GetTagResponse"]["tag"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|t| t["id"] == blue.as_str())
            .expect("blue")
            .clone()
    };
    call(
        &f,
        &alice,
        &act(serde_json::json!({"op": "color", "color": "5"})),
    )
    .await;
    assert_eq!(get_blue().await["color"], 5);
    let rgb = serde_json::json!({"op": "color", "rgb": "#00FF00", "color": "2"});
    call(&f, &alice, &act(rgb)).await;
    let t = get_blue().await;
    assert_eq!((t["rgb"].as_str(), t.get("color")), (Some("#00ff00"), None));
    let upd = serde_json::json!({"op": "update", "color": "0", "name": "teal"});
    call(&f, &alice, &act(upd)).await;
    let t = get_blue().await;
    assert_eq!(
        (t["name"].as_str(), t.get("color"), t.get("rgb")),
        (Some("teal"), None, None)
    );
    let bad = serde_json::json!({"op": "color"});
    assert_eq!(
        fault(&f, &alice, &act(bad)).await,
        "service.INVALID_REQUEST"
    );
}

#[tokio::test]
async fn share_info_lists_grants_to_the_caller() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let bob_id = f.prov.get_account(BOB).await.expect("bob").id;
    let create = serde_json::json!({"CreateFolderRequest": {"_jsns": "urn:zimbraMail",
        "folder": {"name": "Shared", "l": "1"}}});
    let v = call(&f, &alice, &create.to_string()).await;
    let fid = v["CreateFolderResponse"]["folder"][0]["id"]
        .as_str()
        .expect("folder id")
        .to_string();
    let grant = serde_json::json!({"FolderActionRequest": {"_jsns": "urn:zimbraMail",
        "action": {"id": fid, "op": "grant",
            "grant": {"gt": "usr", "d": BOB, "perm": "rw"}}}});
    call(&f, &alice, &grant.to_string()).await;
    let info = serde_json::json!({"GetShareInfoRequest": {"_jsns": "urn:zimbraAccount",
        "owner": {"by": "name", "_content": ALICE}}});
    let v = call(&f, &bob, &info.to_string()).await;
    let share = &v["GetShareInfoResponse"]["share"][0];
    assert_eq!(share["ownerEmail"], ALICE, "{v}");
    assert_eq!(share["folderPath"], "/Shared");
    assert_eq!(share["folderId"], fid.as_str());
    assert_eq!(share["granteeType"], "usr");
    assert_eq!(share["granteeId"], bob_id.to_string());
    assert_eq!(share["granteeName"], BOB);
    assert_eq!(share["rights"], "rw");
    // Without an owner, the same share is found.
    let all = "{\"GetShareInfoRequest\":{\"_jsns\":\"urn:zimbraAccount\"}}";
    let v = call(&f, &bob, all).await;
    assert_eq!(
        v["GetShareInfoResponse"]["share"][0]["folderPath"],
        "/Shared"
    );
    // Alice sees nothing shared with her.
    let v = call(&f, &alice, all).await;
    assert!(v["GetShareInfoResponse"]["share"].is_null(), "{v}");
}

#[tokio::test]
async fn calendar_resources_admin_and_account_search() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let create = "<CreateCalendarResourceRequest xmlns=\"urn:zimbraAdmin\" \
        name=\"room1@example.test\"><a n=\"displayName\">Room One</a>\
        <a n=\"zimbraCalResType\">Location</a><a n=\"zimbraCalResCapacity\">12</a>\
        </CreateCalendarResourceRequest>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), create),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<calresource name=\"room1@example.test\""),
        "{}",
        r.body
    );
    let get = "<GetCalendarResourceRequest xmlns=\"urn:zimbraAdmin\">\
        <calresource by=\"name\">room1@example.test</calresource></GetCalendarResourceRequest>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), get),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<a n=\"zimbraCalResCapacity\">12</a>"),
        "{}",
        r.body
    );
    let all = "<GetAllCalendarResourcesRequest xmlns=\"urn:zimbraAdmin\"/>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), all),
        "",
    )
    .await;
    assert!(r.body.contains("room1@example.test"), "{}", r.body);
    let missing = "<GetCalendarResourceRequest xmlns=\"urn:zimbraAdmin\">\
        <calresource by=\"name\">nope@example.test</calresource></GetCalendarResourceRequest>";
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), missing),
        "",
    )
    .await;
    assert_eq!(r.status, 500);

    let alice = login(&f, ALICE).await;
    let search = serde_json::json!({"SearchCalendarResourcesRequest": {
        "_jsns": "urn:zimbraAccount", "searchFilter": {"conds": {"cond": [
            {"attr": "zimbraCalResType", "op": "eq", "value": "Location"},
            {"attr": "zimbraCalResCapacity", "op": "ge", "value": "10"}]}}}});
    let v = call(&f, &alice, &search.to_string()).await;
    let hit = &v["SearchCalendarResourcesResponse"]["calresource"][0];
    assert_eq!(hit["name"], "room1@example.test", "{v}");
    // A user cannot reach the admin requests.
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), get), "").await;
    assert_eq!(r.status, 500);
}
