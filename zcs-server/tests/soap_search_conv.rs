//! SearchConvRequest and the conversation shapes over SOAP on a real server: every
//! message of the conversation listed in date order with the query's matches as hits
//! (`sf`), paging, fetch/read/nest, Zimbra's faults for bad values; GetConv's senders
//! and `max=`; ItemActionRequest on a contact.

mod soap_support;

use serde_json::{Value, json};
use soap_support::*;

async fn call(f: &Fixture, token: &str, name: &str, body: Value) -> Reply {
    let env = json_env(Some(token), &json!({ name: body }).to_string());
    post(f.user, "/service/soap", &env, "").await
}

async fn ok(f: &Fixture, token: &str, name: &str, body: Value) -> Value {
    let r = call(f, token, name, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = name.replace("Request", "Response");
    r.json()["Body"][resp.as_str()].clone()
}

/// Adds a message to folder `l`; returns (id, conversation id).
async fn add(
    f: &Fixture,
    token: &str,
    l: &str,
    raw: &str,
    flags: &str,
    d: i64,
) -> (String, String) {
    let v = ok(
        f,
        token,
        "AddMsgRequest",
        json!({"_jsns": "urn:zimbraMail",
               "m": {"l": l, "f": flags, "d": d, "content": {"_content": raw}}}),
    )
    .await;
    let m = &v["m"][0];
    (
        m["id"].as_str().expect("id").to_string(),
        m["cid"].as_str().unwrap_or("").to_string(),
    )
}

fn ids(resp: &Value) -> Vec<String> {
    resp["m"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// An element's text, written as a string or as `[{"_content": ...}]`.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first().map(text).unwrap_or_default(),
        Value::Object(o) => o.get("_content").map(text).unwrap_or_default(),
        _ => String::new(),
    }
}

fn msg<'a>(resp: &'a Value, id: &str) -> &'a Value {
    resp["m"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["id"] == id))
        .expect("message listed")
}

#[tokio::test]
async fn search_conv_lists_the_conversation_with_its_matches() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let base = 1_600_000_000_000_i64;
    let first = "From: Carol <carol@example.test>\nTo: alice@example.test\n\
                 Subject: otter plans\nMessage-ID: <o1@example.test>\n\nriver otter census\n";
    let (m1, cid) = add(&f, &token, "2", first, "", base).await;
    let trashed = "From: Dave <dave@example.test>\nTo: alice@example.test\n\
                   Subject: Re: otter plans\nIn-Reply-To: <o1@example.test>\n\
                   Message-ID: <o2@example.test>\n\nriver otter census again\n";
    let (m3, c3) = add(&f, &token, "3", trashed, "", base + 500).await;
    let reply = "From: Dave <dave@example.test>\nTo: alice@example.test\n\
                 Subject: Re: otter plans\nIn-Reply-To: <o1@example.test>\n\
                 Message-ID: <o3@example.test>\n\nriver otter census final\n";
    let (m2, c2) = add(&f, &token, "2", reply, "u", base + 1000).await;
    let cid = if cid.starts_with('-') {
        c2.clone()
    } else {
        cid
    };
    assert_eq!(c2, cid, "the reply joins the conversation");
    assert_eq!(c3, cid, "the trashed reply joins the conversation");

    let req = |extra: Value| {
        let mut r = json!({"_jsns": "urn:zimbraMail", "cid": cid, "query": "otter",
                           "sortBy": "dateDesc"});
        if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        r
    };
    // Wait for the index, then list: newest first, Trash listed but not a hit.
    let mut resp = Value::Null;
    for _ in 0..100 {
        resp = ok(&f, &token, "SearchConvRequest", req(json!({}))).await;
        if resp["m"]
            .as_array()
            .is_some_and(|a| a.iter().filter(|m| m["sf"].is_string()).count() == 2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ids(&resp), [m2.clone(), m3.clone(), m1.clone()]);
    assert_eq!(resp["sortBy"], "dateDesc");
    assert_eq!(resp["offset"], 0);
    assert_eq!(resp["more"], false);
    assert_eq!(msg(&resp, &m2)["sf"], (base + 1000).to_string());
    assert!(msg(&resp, &m3)["sf"].is_null(), "a Trash message is no hit");
    assert_eq!(msg(&resp, &m3)["l"], "3");
    assert_eq!(msg(&resp, &m2)["cid"], cid);
    assert!(
        msg(&resp, &m2)["mp"].is_null(),
        "nothing expanded without fetch"
    );

    // Oldest first, and paging over the conversation's messages.
    let asc = ok(
        &f,
        &token,
        "SearchConvRequest",
        req(json!({"sortBy": "dateAsc"})),
    )
    .await;
    assert_eq!(ids(&asc), [m1.clone(), m3.clone(), m2.clone()]);
    let page = ok(
        &f,
        &token,
        "SearchConvRequest",
        req(json!({"offset": 1, "limit": 1})),
    )
    .await;
    assert_eq!(ids(&page), std::slice::from_ref(&m3));
    assert_eq!(page["more"], true);

    // fetch=1 read=1: the first hit expanded with its body and marked read first.
    let fetched = ok(
        &f,
        &token,
        "SearchConvRequest",
        req(json!({"fetch": "1", "read": "1"})),
    )
    .await;
    let top = msg(&fetched, &m2);
    assert_eq!(top["mp"][0]["body"], true);
    assert!(
        text(&top["mp"][0]["content"]).contains("census final"),
        "{top}"
    );
    assert!(!top["f"].as_str().unwrap_or("").contains('u'), "{top}");
    assert!(msg(&fetched, &m1)["mp"].is_null());

    // nest=1: the messages inside the conversation's `c`.
    let nested = ok(&f, &token, "SearchConvRequest", req(json!({"nest": "1"}))).await;
    assert_eq!(nested["c"][0]["id"], cid);
    assert_eq!(ids(&nested["c"][0]), [m2.clone(), m3.clone(), m1.clone()]);

    // Zimbra's faults for bad values.
    for (extra, code) in [
        (json!({"fetch": "1.0"}), "service.INVALID_REQUEST"),
        (json!({"fetch": ""}), "service.INVALID_REQUEST"),
        (
            json!({"fetch": "1", "read": " 1"}),
            "service.INVALID_REQUEST",
        ),
        (json!({"cid": "abc"}), "service.INVALID_REQUEST"),
        (json!({"cid": "99999"}), "mail.NO_SUCH_CONV"),
    ] {
        let r = call(&f, &token, "SearchConvRequest", req(extra.clone())).await;
        assert_eq!(r.fault_code().as_deref(), Some(code), "{extra}");
    }
    let ok_fetch = call(
        &f,
        &token,
        "SearchConvRequest",
        req(json!({"fetch": "-12345"})),
    )
    .await;
    assert_eq!(ok_fetch.status, 200, "{}", ok_fetch.body);

    // GetConv: the senders once each, and max= cuts the expanded body.
    let conv = ok(
        &f,
        &token,
        "GetConvRequest",
        json!({"_jsns": "urn:zimbraMail", "c": {"id": cid, "fetch": "all", "max": "5"}}),
    )
    .await;
    let senders: Vec<&str> = conv["c"][0]["e"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["a"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(senders, ["carol@example.test", "dave@example.test"]);
    let mp = &conv["c"][0]["m"][0]["mp"][0];
    assert_eq!(mp["truncated"], true, "{mp}");
    assert_eq!(text(&mp["content"]).len(), 5, "{mp}");
    let bad = call(
        &f,
        &token,
        "GetConvRequest",
        json!({"_jsns": "urn:zimbraMail", "c": {"id": "10.10"}}),
    )
    .await;
    assert_eq!(bad.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
}

#[tokio::test]
async fn item_action_on_a_contact_takes_the_contact_operations() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let created = ok(
        &f,
        &token,
        "CreateContactRequest",
        json!({"_jsns": "urn:zimbraMail",
               "cn": {"a": [{"n": "firstName", "_content": "Wanda"},
                            {"n": "email", "_content": "wanda@example.test"}]}}),
    )
    .await;
    let id = created["cn"][0]["id"].as_str().expect("id").to_string();
    for (op, extra) in [
        ("read", json!({})),
        ("tag", json!({"tn": "vip"})),
        ("flag", json!({})),
    ] {
        let mut action = json!({"id": id, "op": op});
        if let (Some(a), Some(e)) = (action.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        let r = ok(
            &f,
            &token,
            "ItemActionRequest",
            json!({"_jsns": "urn:zimbraMail", "action": action}),
        )
        .await;
        assert_eq!(r["action"][0]["op"], op);
        assert_eq!(r["action"][0]["id"], id);
    }
    let got = ok(
        &f,
        &token,
        "GetContactsRequest",
        json!({"_jsns": "urn:zimbraMail", "cn": {"id": id}}),
    )
    .await;
    let cn = &got["cn"][0];
    assert!(cn["f"].as_str().unwrap_or("").contains('f'), "{cn}");
    assert_eq!(cn["tn"], "vip", "{cn}");
}
