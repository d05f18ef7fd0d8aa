//! SearchRequest over SOAP on a real server: message and conversation hits in Zimbra's
//! shape (offset/limit/more, sortBy, `sf`, fetch=1), cursor paging, parse errors, and
//! contacts, appointments and tasks (with a calExpandInstStart/End window).

mod soap_support;

use serde_json::{Value, json};
use soap_support::*;
use zcs_core::ItemId;

async fn call(f: &Fixture, token: &str, name: &str, body: Value) -> Value {
    let env = json_env(Some(token), &json!({ name: body }).to_string());
    let r = post(f.user, "/service/soap", &env, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn add(f: &Fixture, token: &str, subject: &str, body: &str, flags: &str, d: i64) -> String {
    let raw = format!(
        "From: Carol Jones <carol@example.test>\nTo: alice@example.test\nCc: dan@example.test\n\
         Subject: {subject}\nMessage-ID: <{d}@example.test>\n\n{body}\n"
    );
    let v = call(
        f,
        token,
        "AddMsgRequest",
        json!({"_jsns": "urn:zimbraMail",
               "m": {"l": "2", "f": flags, "d": d, "content": {"_content": raw}}}),
    )
    .await;
    v["Body"]["AddMsgResponse"]["m"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn search(f: &Fixture, token: &str, req: Value) -> Value {
    let mut req = req;
    req["_jsns"] = json!("urn:zimbraMail");
    let v = call(f, token, "SearchRequest", req).await;
    v["Body"]["SearchResponse"].clone()
}

fn ids(resp: &Value, tag: &str) -> Vec<String> {
    resp[tag]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn messages_conversations_paging_and_fetch() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let base = 1_600_000_000_000_i64;
    let mut mids = Vec::new();
    for i in 0..5 {
        let subject = format!("walrus report {i}");
        let flags = if i == 4 { "u" } else { "" };
        mids.push(
            add(
                &f,
                &token,
                &subject,
                "tusks and flippers",
                flags,
                base + i * 1000,
            )
            .await,
        );
    }
    add(&f, &token, "unrelated", "nothing here", "", base + 9000).await;
    // The index catches up in the background.
    for _ in 0..100 {
        let all = search(&f, &token, json!({"query": "walrus", "types": "message"})).await;
        if ids(&all, "m").len() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let resp = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2}),
    )
    .await;
    assert_eq!(resp["sortBy"], "dateDesc");
    assert_eq!(resp["offset"], 0);
    assert_eq!(resp["more"], true);
    assert_eq!(ids(&resp, "m"), [mids[4].clone(), mids[3].clone()]);
    let first = &resp["m"][0];
    assert_eq!(first["su"], "walrus report 4");
    assert_eq!(first["e"][0]["a"], "carol@example.test");
    assert_eq!(first["sf"], (base + 4000).to_string());

    // offset paging, then the last page.
    let p2 = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2,
                                       "offset": 2}),
    )
    .await;
    assert_eq!(ids(&p2, "m"), [mids[2].clone(), mids[1].clone()]);
    let p3 = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2,
                                       "offset": 4}),
    )
    .await;
    assert_eq!(ids(&p3, "m"), [mids[0].clone()]);
    assert_eq!(p3["more"], false);

    // Cursor paging: after item 3, and after a vanished item by its sort value.
    let c = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2,
        "cursor": {"id": mids[3], "sortVal": (base + 3000).to_string()}}),
    )
    .await;
    assert_eq!(ids(&c, "m"), [mids[2].clone(), mids[1].clone()]);
    let c = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2,
        "cursor": {"id": "99999", "sortVal": (base + 2500).to_string()}}),
    )
    .await;
    assert_eq!(ids(&c, "m"), [mids[2].clone(), mids[1].clone()]);

    // sortBy and sort: agree; subjAsc puts report 0 first.
    let s = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 1,
                                      "sortBy": "subjAsc"}),
    )
    .await;
    assert_eq!(s["sortBy"], "subjAsc");
    assert_eq!(ids(&s, "m"), [mids[0].clone()]);

    // fetch=1 expands the first hit only, with its body and recipients.
    let fr = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "message", "limit": 2,
                                       "fetch": "1"}),
    )
    .await;
    let body = &fr["m"][0]["mp"][0];
    // A single-part message: one top `mp part="1"`, `body` a JSON boolean.
    assert_eq!(body["part"], "1", "{fr}");
    assert_eq!(body["body"], true, "{fr}");
    assert!(
        body["content"][0]["_content"]
            .as_str()
            .unwrap_or("")
            .contains("flippers")
    );
    let types: Vec<&str> = fr["m"][0]["e"]
        .as_array()
        .expect("e")
        .iter()
        .filter_map(|e| e["t"].as_str())
        .collect();
    assert!(types.contains(&"t") && types.contains(&"c"), "{types:?}");
    assert!(fr["m"][1]["mp"].is_null());
    // `fr` is the start of the body, on every hit, not the subject.
    for hit in fr["m"].as_array().expect("m") {
        assert_eq!(hit["fr"], "tusks and flippers", "{fr}");
    }

    // Conversations: one c per conversation, the matching messages inside.
    let cv = search(
        &f,
        &token,
        json!({"query": "walrus", "types": "conversation",
                                       "limit": 10}),
    )
    .await;
    let convs = cv["c"].as_array().expect("c hits");
    assert!(!convs.is_empty());
    let inner: usize = convs
        .iter()
        .map(|c| c["m"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(inner, 5, "{cv}");
    assert!(convs.iter().any(|c| c["u"] == 1), "{cv}");
    assert!(convs[0]["su"].as_str().unwrap_or("").contains("walrus"));
    assert_eq!(convs[0]["fr"], "tusks and flippers", "{cv}");

    // State from the store: is:unread without reindexing.
    let u = search(
        &f,
        &token,
        json!({"query": "walrus is:unread", "types": "message"}),
    )
    .await;
    assert_eq!(ids(&u, "m"), [mids[4].clone()]);

    // A parse error is mail.QUERY_PARSE_ERROR.
    let env = json_env(
        Some(&token),
        &json!({"SearchRequest": {"_jsns": "urn:zimbraMail", "query": "(walrus"}}).to_string(),
    );
    let r = post(f.user, "/service/soap", &env, "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.QUERY_PARSE_ERROR"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn contacts_appointments_and_tasks() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let account = f.prov.get_account(ALICE).await.expect("alice");
    let mb = f.store.mailbox(account.id).await.expect("mailbox");
    let field = |k: &str, v: &str| (k.to_string(), v.to_string());
    let zoe = mb
        .create_contact(
            ItemId(7),
            vec![
                field("firstName", "Zoe"),
                field("lastName", "Quill"),
                field("email", "zoe@quill.test"),
                field("company", "Inkworks"),
            ],
            Vec::new(),
        )
        .await
        .expect("contact");
    mb.create_contact(
        ItemId(7),
        vec![
            field("firstName", "Adam"),
            field("email", "adam@other.test"),
        ],
        Vec::new(),
    )
    .await
    .expect("contact");

    let r = search(&f, &token, json!({"query": "quill", "types": "contact"})).await;
    assert_eq!(ids(&r, "cn"), [zoe.id.0.to_string()]);
    let r = search(
        &f,
        &token,
        json!({"query": "company:inkworks", "types": "contact"}),
    )
    .await;
    assert_eq!(ids(&r, "cn"), [zoe.id.0.to_string()]);
    let r = search(&f, &token, json!({"query": "zo*", "types": "contact"})).await;
    assert_eq!(ids(&r, "cn"), [zoe.id.0.to_string()]);
    let r = search(
        &f,
        &token,
        json!({"query": "in:contacts", "types": "contact"}),
    )
    .await;
    assert_eq!(ids(&r, "cn").len(), 2);
    let r = search(&f, &token, json!({"query": "nobody", "types": "contact"})).await;
    assert!(ids(&r, "cn").is_empty());

    let ical = |uid: &str, kind: &str, summary: &str, start: &str, end: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:{kind}\r\n\
             UID:{uid}\r\nSUMMARY:{summary}\r\nDESCRIPTION:bring the marmalade\r\n\
             DTSTART:{start}\r\nDTEND:{end}\r\nEND:{kind}\r\nEND:VCALENDAR\r\n"
        )
    };
    let board = mb
        .save_cal_item(
            ItemId(10),
            &ical(
                "u1",
                "VEVENT",
                "Board meeting",
                "20250310T100000Z",
                "20250310T110000Z",
            ),
        )
        .await
        .expect("appt");
    let picnic = mb
        .save_cal_item(
            ItemId(10),
            &ical(
                "u2",
                "VEVENT",
                "Picnic",
                "20250601T100000Z",
                "20250601T120000Z",
            ),
        )
        .await
        .expect("appt");
    let task = mb
        .save_cal_item(
            ItemId(15),
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VTODO\r\n\
             UID:t1\r\nSUMMARY:File the board minutes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        )
        .await
        .expect("task");

    let r = search(
        &f,
        &token,
        json!({"query": "board", "types": "appointment"}),
    )
    .await;
    assert_eq!(ids(&r, "appt"), [board.id.0.to_string()]);
    let r = search(
        &f,
        &token,
        json!({"query": "marmalade", "types": "appointment"}),
    )
    .await;
    assert_eq!(
        ids(&r, "appt"),
        [board.id.0.to_string(), picnic.id.0.to_string()]
    );
    // The window keeps the picnic only, with its instance.
    let (s, e) = (1_748_736_000_000_i64, 1_751_328_000_000_i64); // June 2025
    let r = search(
        &f,
        &token,
        json!({"query": "marmalade", "types": "appointment",
        "calExpandInstStart": s, "calExpandInstEnd": e}),
    )
    .await;
    assert_eq!(ids(&r, "appt"), [picnic.id.0.to_string()]);
    assert!(r["appt"][0]["inst"][0]["s"].as_i64().is_some(), "{r}");
    let r = search(&f, &token, json!({"query": "board", "types": "task"})).await;
    assert_eq!(ids(&r, "task"), [task.id.0.to_string()]);
    let r = search(
        &f,
        &token,
        json!({"query": "subject:minutes", "types": "appointment,task"}),
    )
    .await;
    assert_eq!(ids(&r, "task"), [task.id.0.to_string()]);
    assert!(ids(&r, "appt").is_empty());
}
