//! Search features over SOAP on a real server: the admin's cross-mailbox search
//! (SearchMultipleMailboxes, the XMbxSearch tasks that copy hits into a target folder,
//! their default limit of 500, "every account" leaving out system and excluded
//! accounts), dates resolved in the user's time zone (`<tz>` and
//! `zimbraPrefTimeZoneId`), and flag tags on contacts.

mod soap_support;

use serde_json::{Value, json};
use soap_support::*;
use zcs_core::{Flags, ItemId, folder};

async fn call(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    name: &str,
    body: Value,
) -> Value {
    let env = json_env(Some(token), &json!({ name: body }).to_string());
    let r = post(addr, path, &env, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn user_call(f: &Fixture, token: &str, name: &str, body: Value) -> Value {
    call(f.user, "/service/soap", token, name, body).await
}

async fn admin_call(f: &Fixture, token: &str, name: &str, body: Value) -> Value {
    call(f.admin, "/service/admin/soap", token, name, body).await
}

async fn add(f: &Fixture, token: &str, subject: &str, d: i64) -> String {
    let raw = format!(
        "From: Carol <carol@example.test>\nTo: x@example.test\nSubject: {subject}\n\
         Message-ID: <{subject}.{d}@example.test>\n\nthe narwhal files\n"
    );
    let v = user_call(
        f,
        token,
        "AddMsgRequest",
        json!({"_jsns": "urn:zimbraMail",
               "m": {"l": "2", "d": d, "content": {"_content": raw}}}),
    )
    .await;
    v["Body"]["AddMsgResponse"]["m"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn hits(resp: &Value) -> Vec<Value> {
    resp["m"].as_array().cloned().unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.first().map(text).unwrap_or_default(),
        Value::Object(o) => o.get("_content").map(text).unwrap_or_default(),
        _ => String::new(),
    }
}

/// Searches `query` in alice's mailbox until `want` hits show (the index catches up
/// in the background) or a few seconds pass.
async fn wait_for(f: &Fixture, token: &str, query: &str, want: usize) {
    for _ in 0..100 {
        let v = user_call(
            f,
            token,
            "SearchRequest",
            json!({"_jsns": "urn:zimbraMail", "query": query, "types": "message"}),
        )
        .await;
        if hits(&v["Body"]["SearchResponse"]).len() >= want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("index never caught up with {query}");
}

#[tokio::test]
async fn admin_searches_many_mailboxes_and_users_may_not() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let base = 1_600_000_000_000_i64;
    add(&f, &alice, "alpha", base).await;
    add(&f, &bob, "beta", base + 1000).await;
    add(&f, &bob, "gamma", base + 2000).await;
    wait_for(&f, &alice, "narwhal", 1).await;
    wait_for(&f, &bob, "narwhal", 2).await;

    let admin = admin_login(&f).await;
    let v = admin_call(
        &f,
        &admin,
        "SearchMultipleMailboxesRequest",
        json!({"_jsns": "urn:zimbraAdmin", "query": "narwhal",
               "mbx": [{"name": ALICE}, {"name": BOB}]}),
    )
    .await;
    let resp = &v["Body"]["SearchMultipleMailboxesResponse"];
    assert_eq!(text(&resp["total"]), "3", "{v}");
    let got: Vec<(String, String)> = hits(resp)
        .iter()
        .map(|m| (text(&m["acct"]), text(&m["su"])))
        .collect();
    // Newest first across both mailboxes, each hit keeping its own account.
    assert_eq!(
        got,
        vec![
            (BOB.to_string(), "gamma".to_string()),
            (BOB.to_string(), "beta".to_string()),
            (ALICE.to_string(), "alpha".to_string()),
        ]
    );
    // Paging over the merged list; `*` is every account.
    let v = admin_call(
        &f,
        &admin,
        "SearchMultipleMailboxesRequest",
        json!({"_jsns": "urn:zimbraAdmin", "query": "narwhal", "offset": "1", "limit": "1"}),
    )
    .await;
    let resp = &v["Body"]["SearchMultipleMailboxesResponse"];
    assert_eq!(hits(resp).len(), 1);
    assert_eq!(text(&hits(resp)[0]["su"]), "beta");
    assert_eq!(resp["more"], json!(true), "{v}");

    // A user token on the admin port is refused.
    let env = json_env(
        Some(&alice),
        &json!({"SearchMultipleMailboxesRequest":
                {"_jsns": "urn:zimbraAdmin", "query": "narwhal"}})
        .to_string(),
    );
    let r = post(f.admin, "/service/admin/soap", &env, "").await;
    assert!(r.body.contains("service.PERM_DENIED"), "{}", r.body);
}

#[tokio::test]
async fn search_task_copies_hits_into_the_target_folder() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    add(&f, &alice, "alpha", 1_600_000_000_000).await;
    add(&f, &bob, "beta", 1_600_000_001_000).await;
    wait_for(&f, &alice, "narwhal", 1).await;
    wait_for(&f, &bob, "narwhal", 1).await;

    let admin = admin_login(&f).await;
    let v = admin_call(
        &f,
        &admin,
        "CreateXMbxSearchRequest",
        json!({"_jsns": "urn:zimbraAdmin",
               "searchtask": {"query": "narwhal", "targetFolder": "Discovery",
                              "account": [{"name": ALICE}, {"name": BOB}]}}),
    )
    .await;
    let task = &v["Body"]["CreateXMbxSearchResponse"]["searchtask"][0];
    let id = text(&task["id"]);
    assert!(!id.is_empty(), "{v}");
    let mut status = String::new();
    for _ in 0..100 {
        let v = admin_call(
            &f,
            &admin,
            "GetXMbxSearchesListRequest",
            json!({"_jsns": "urn:zimbraAdmin"}),
        )
        .await;
        let list = v["Body"]["GetXMbxSearchesListResponse"]["searchtask"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let t = list
            .iter()
            .find(|t| text(&t["id"]) == id)
            .expect("task listed");
        status = text(&t["status"]);
        if status == "finished" {
            assert_eq!(text(&t["numMsgs"]), "2", "{t}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "finished");

    // The copies sit in the admin's Discovery folder, each naming its source.
    let admin_acct = f.prov.get_account(ADMIN).await.unwrap();
    let mb = f.store.mailbox(admin_acct.id).await.unwrap();
    let dest = mb
        .folder_by_path("/Discovery")
        .await
        .unwrap()
        .expect("folder");
    let copies = mb.messages(dest.id).await.unwrap();
    assert_eq!(copies.len(), 2);
    let alice_id = f.prov.get_account(ALICE).await.unwrap().id;
    let mut sources = Vec::new();
    for c in &copies {
        let raw = String::from_utf8(mb.read_message(c.id).await.unwrap()).unwrap();
        let first = raw.lines().next().unwrap_or("").to_string();
        assert!(first.starts_with("X-Zimbra-Source: "), "{first}");
        sources.push(first);
    }
    assert!(
        sources
            .iter()
            .any(|s| s.contains(&alice_id.to_string()) && s.contains(ALICE)),
        "{sources:?}"
    );
    // Sources are untouched.
    let alice_acct = f.prov.get_account(ALICE).await.unwrap();
    let alice_mb = f.store.mailbox(alice_acct.id).await.unwrap();
    assert_eq!(
        alice_mb
            .messages(ItemId(folder::INBOX))
            .await
            .unwrap()
            .len(),
        1
    );

    let v = admin_call(
        &f,
        &admin,
        "DeleteXMbxSearchRequest",
        json!({"_jsns": "urn:zimbraAdmin", "searchtask": {"id": id}}),
    )
    .await;
    assert!(v["Body"].get("DeleteXMbxSearchResponse").is_some(), "{v}");
}

#[tokio::test]
async fn dates_resolve_in_the_users_time_zone() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    // 2020-03-01 23:30 UTC is already March 2nd in Tokyo.
    let late = chrono::DateTime::parse_from_rfc3339("2020-03-01T23:30:00Z")
        .unwrap()
        .timestamp_millis();
    add(&f, &alice, "late", late).await;
    wait_for(&f, &alice, "narwhal", 1).await;
    let count = |tz: Option<&str>| {
        let mut req = json!({"_jsns": "urn:zimbraMail", "query": "date:03/02/2020",
                             "types": "message"});
        if let Some(id) = tz {
            req["tz"] = json!({"id": id});
        }
        let f = &f;
        let alice = alice.clone();
        async move {
            let v = user_call(f, &alice, "SearchRequest", req).await;
            hits(&v["Body"]["SearchResponse"]).len()
        }
    };
    assert_eq!(count(None).await, 0, "UTC day is March 1st");
    assert_eq!(count(Some("Asia/Tokyo")).await, 1);
    assert_eq!(count(Some("America/New_York")).await, 0);
    // Without <tz>, the account's preference decides.
    f.prov
        .modify_account(
            ALICE,
            &[zcs_core::AttrEdit::Replace(
                "zimbraPrefTimeZoneId".into(),
                vec!["Asia/Tokyo".into()],
            )],
        )
        .await
        .unwrap();
    assert_eq!(count(None).await, 1);
}

#[tokio::test]
async fn flag_tags_find_contacts() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let acct = f.prov.get_account(ALICE).await.unwrap();
    let mb = f.store.mailbox(acct.id).await.unwrap();
    let field = |k: &str, v: &str| (k.to_string(), v.to_string());
    let starred = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![
                field("firstName", "Zed"),
                field("email", "zed@example.test"),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    mb.create_contact(
        ItemId(folder::CONTACTS),
        vec![
            field("firstName", "Amy"),
            field("email", "amy@example.test"),
        ],
        Vec::new(),
    )
    .await
    .unwrap();
    mb.set_contact_flags(starred.id, Flags(Flags::FLAGGED))
        .await
        .unwrap();
    for q in ["tag:\\Flagged", "is:flagged", "tag:\\flagged example"] {
        let v = user_call(
            &f,
            &alice,
            "SearchRequest",
            json!({"_jsns": "urn:zimbraMail", "query": q, "types": "contact"}),
        )
        .await;
        let got: Vec<String> = v["Body"]["SearchResponse"]["cn"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| text(&c["id"]))
            .collect();
        assert_eq!(got, vec![starred.id.0.to_string()], "{q}: {v}");
    }
}

#[tokio::test]
async fn user_tags_find_contacts_and_appointments() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let acct = f.prov.get_account(ALICE).await.unwrap();
    let mb = f.store.mailbox(acct.id).await.unwrap();
    let field = |k: &str, v: &str| (k.to_string(), v.to_string());
    let tagged = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![
                field("firstName", "Vip"),
                field("email", "vip@example.test"),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    mb.create_contact(
        ItemId(folder::CONTACTS),
        vec![
            field("firstName", "Plain"),
            field("email", "plain@example.test"),
        ],
        Vec::new(),
    )
    .await
    .unwrap();
    mb.tag_items_by_name(&[tagged.id], &["Customers".to_string()], true, true)
        .await
        .unwrap();
    for (q, want) in [
        ("tag:customers", vec![tagged.id.0.to_string()]),
        ("tag:Customers example", vec![tagged.id.0.to_string()]),
        ("tag:nosuchtag", Vec::new()),
    ] {
        let v = user_call(
            &f,
            &alice,
            "SearchRequest",
            json!({"_jsns": "urn:zimbraMail", "query": q, "types": "contact"}),
        )
        .await;
        let got: Vec<String> = v["Body"]["SearchResponse"]["cn"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| text(&c["id"]))
            .collect();
        assert_eq!(got, want, "{q}: {v}");
    }
    let v = user_call(
        &f,
        &alice,
        "SearchRequest",
        json!({"_jsns": "urn:zimbraMail", "query": "not tag:customers", "types": "contact"}),
    )
    .await;
    assert_eq!(
        v["Body"]["SearchResponse"]["cn"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
}

/// Creates `name` with `attr`=TRUE and adds one "narwhal" message to its Inbox.
async fn excluded_account(f: &Fixture, name: &str, attr: &str) {
    let mut attrs = zcs_core::Attrs::new();
    attrs.set_one(attr, "TRUE");
    f.prov
        .create_account(name, Some(PASSWORD), attrs)
        .await
        .expect("account");
    let token = login(f, name).await;
    add(f, &token, name, 1_600_000_000_000).await;
}

/// The `total` of a SearchMultipleMailboxes for "narwhal" over `mbx` (every account
/// when empty).
async fn multi_total(f: &Fixture, admin: &str, mbx: &[&str]) -> String {
    let mut body = json!({"_jsns": "urn:zimbraAdmin", "query": "narwhal"});
    if !mbx.is_empty() {
        body["mbx"] = mbx.iter().map(|m| json!({"name": m})).collect();
    }
    let v = admin_call(f, admin, "SearchMultipleMailboxesRequest", body).await;
    text(&v["Body"]["SearchMultipleMailboxesResponse"]["total"])
}

/// spec/05 idea 16: a search over every account leaves out system accounts, system
/// resources and accounts flagged zimbraExcludeFromCMBSearch; naming one searches it.
#[tokio::test]
async fn every_account_skips_system_and_excluded_accounts() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    add(&f, &alice, "alpha", 1_600_000_000_000).await;
    wait_for(&f, &alice, "narwhal", 1).await;
    let hidden = [
        ("archive@example.test", "zimbraIsSystemAccount"),
        ("spamtrain@example.test", "zimbraIsSystemResource"),
        ("legal@example.test", "zimbraExcludeFromCMBSearch"),
    ];
    for (name, attr) in hidden {
        excluded_account(&f, name, attr).await;
    }
    let admin = admin_login(&f).await;
    let names: Vec<&str> = hidden.iter().map(|(n, _)| *n).collect();
    // Named explicitly, each is searched (once its message is indexed).
    let mut named = String::new();
    for _ in 0..100 {
        named = multi_total(&f, &admin, &names).await;
        if named == "3" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(named, "3");
    // Every account: only alice's message.
    assert_eq!(multi_total(&f, &admin, &[]).await, "1");

    // A search task over every account counts alice and bob only (the target, the
    // admin, is never searched).
    let v = admin_call(
        &f,
        &admin,
        "CreateXMbxSearchRequest",
        json!({"_jsns": "urn:zimbraAdmin", "searchtask": {"query": "narwhal"}}),
    )
    .await;
    let task = &v["Body"]["CreateXMbxSearchResponse"]["searchtask"][0];
    let id = text(&task["id"]);
    let listed = task_listed(&f, &admin, &id).await;
    assert_eq!(text(&listed["accounts"]), "2", "{listed}");
}

/// The task `id` as GetXMbxSearchesList shows it once it has finished.
async fn task_listed(f: &Fixture, admin: &str, id: &str) -> Value {
    for _ in 0..100 {
        let v = admin_call(
            f,
            admin,
            "GetXMbxSearchesListRequest",
            json!({"_jsns": "urn:zimbraAdmin"}),
        )
        .await;
        let list = v["Body"]["GetXMbxSearchesListResponse"]["searchtask"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(t) = list.into_iter().find(|t| text(&t["id"]) == id)
            && text(&t["status"]) == "finished"
        {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("task {id} never finished");
}

/// spec/05 idea 13: a search task copies at most 500 hits unless told otherwise, and
/// no more than the limit it is given.
#[tokio::test]
async fn search_tasks_default_to_500_hits_and_keep_their_limit() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    add(&f, &alice, "alpha", 1_600_000_000_000).await;
    add(&f, &alice, "beta", 1_600_000_001_000).await;
    wait_for(&f, &alice, "narwhal", 2).await;
    let admin = admin_login(&f).await;
    let start = |limit: Option<&str>| {
        let mut spec = json!({"query": "narwhal", "account": [{"name": ALICE}]});
        if let Some(l) = limit {
            spec["limit"] = json!(l);
        }
        json!({"_jsns": "urn:zimbraAdmin", "searchtask": spec})
    };
    let v = admin_call(&f, &admin, "CreateXMbxSearchRequest", start(None)).await;
    let id = text(&v["Body"]["CreateXMbxSearchResponse"]["searchtask"][0]["id"]);
    let t = task_listed(&f, &admin, &id).await;
    assert_eq!(text(&t["limit"]), "500", "{t}");
    assert_eq!(text(&t["numMsgs"]), "2", "{t}");

    let v = admin_call(&f, &admin, "CreateXMbxSearchRequest", start(Some("1"))).await;
    let id = text(&v["Body"]["CreateXMbxSearchResponse"]["searchtask"][0]["id"]);
    let t = task_listed(&f, &admin, &id).await;
    assert_eq!(text(&t["limit"]), "1", "{t}");
    assert_eq!(text(&t["numMsgs"]), "1", "{t}");
}
