//! SearchRequest's orders over SOAP on 127.0.0.1, as Zimbra's server chooses them
//! (its `SortBy` and `SearchParams`): the task orders over tasks (due date, status,
//! percent complete) and their fault over other hits, contact names collated without
//! case or accents first, the response echoing the order used (`dateDesc` for a name
//! that is no order: `score`, `nameLocalizedAsc`), `readAsc`/`readDesc` giving way to
//! the date order when the query asks for `is:unread`, and a query's `sort:` naming no
//! order being `service.PARSE_ERROR`.

mod soap_support;

use soap_support::*;
use zcs_core::ItemId;

/// Sends one XML request body with `token`; returns the reply.
async fn call(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn search(f: &Fixture, token: &str, types: &str, sort: &str, query: &str) -> Reply {
    let req = format!(
        "<SearchRequest xmlns=\"urn:zimbraMail\" types=\"{types}\" sortBy=\"{sort}\" \
         limit=\"50\"><query>{}</query></SearchRequest>",
        esc(query)
    );
    call(f, token, &req).await
}

/// The value of attribute `name` on the first `<tag ...>` of `body`.
fn attr(body: &str, tag: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{tag} "))?;
    let end = body[start..].find('>')? + start;
    let open = &body[start..end];
    let key = format!(" {name}=\"");
    let v = open.find(&key)? + key.len();
    let len = open[v..].find('"')?;
    Some(open[v..v + len].to_string())
}

/// The `id` of every `<tag ...>` of `body`, in order.
fn ids(body: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    let open = format!("<{tag} ");
    while let Some(at) = rest.find(&open) {
        rest = &rest[at..];
        if let Some(id) = attr(rest, tag, "id") {
            out.push(id);
        }
        rest = &rest[open.len()..];
    }
    out
}

fn ok(r: &Reply) -> &str {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.fault_code().is_none(), "{}", r.body);
    &r.body
}

async fn add_msg(f: &Fixture, token: &str, subject: &str, d: i64) -> String {
    let raw = format!("From: carol@example.test\nTo: {ALICE}\nSubject: {subject}\n\nhello\n");
    let req = format!(
        "<AddMsgRequest xmlns=\"urn:zimbraMail\"><m l=\"2\" f=\"u\" d=\"{d}\">\
         <content>{}</content></m></AddMsgRequest>",
        esc(&raw)
    );
    let r = call(f, token, &req).await;
    attr(ok(&r), "m", "id").expect("message id")
}

#[tokio::test]
async fn task_orders_sort_tasks_and_refuse_mail() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let account = f.prov.get_account(ALICE).await.expect("alice");
    let mb = f.store.mailbox(account.id).await.expect("mailbox");
    let task = |n: u32, props: &'static str| {
        let mb = mb.clone();
        async move {
            let ical = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:task-{n}\r\n\
                 SUMMARY:Task {n}\r\n{props}END:VTODO\r\nEND:VCALENDAR\r\n"
            );
            mb.save_cal_item(ItemId(15), &ical)
                .await
                .expect("task")
                .id
                .0
                .to_string()
        }
    };
    let done = task(
        1,
        "DUE:20261210T100000Z\r\nSTATUS:COMPLETED\r\nPERCENT-COMPLETE:100\r\n",
    )
    .await;
    let going = task(
        2,
        "DUE;VALUE=DATE:20261201\r\nSTATUS:IN-PROCESS\r\nPERCENT-COMPLETE:40\r\n",
    )
    .await;
    let open = task(3, "STATUS:NEEDS-ACTION\r\n").await;
    let later = task(4, "DUE:20261205T000000Z\r\nPERCENT-COMPLETE:5\r\n").await;

    let cases = [
        ("taskDueAsc", [&open, &going, &later, &done]),
        ("taskDueDesc", [&done, &later, &going, &open]),
        ("taskStatusAsc", [&open, &going, &later, &done]),
        ("taskStatusDesc", [&done, &later, &going, &open]),
        ("taskPercCompletedAsc", [&open, &later, &going, &done]),
        ("taskPercCompletedDesc", [&done, &going, &later, &open]),
    ];
    for (sort, want) in cases {
        let r = search(&f, &alice, "task", sort, "in:tasks").await;
        let body = ok(&r);
        assert_eq!(
            attr(body, "SearchResponse", "sortBy").as_deref(),
            Some(sort)
        );
        let want: Vec<String> = want.iter().map(|s| (*s).clone()).collect();
        assert_eq!(ids(body, "task"), want, "{sort}: {body}");
    }
    // A query's sort: clause wins over sortBy.
    let r = search(&f, &alice, "task", "nameAsc", "in:tasks sort:taskDueDesc").await;
    assert_eq!(ids(ok(&r), "task")[0], done);

    // Mail cannot be task-sorted: Zimbra's service.FAILURE, unless nothing matches.
    add_msg(&f, &alice, "plain mail", 1_700_000_000_000).await;
    let r = search(&f, &alice, "message", "taskDueAsc", "in:inbox").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.FAILURE"),
        "{}",
        r.body
    );
    let r = search(&f, &alice, "message", "taskDueAsc", "in:trash").await;
    ok(&r);
}

#[tokio::test]
async fn orders_zimbra_does_not_know_fall_back_or_fault() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let old = add_msg(&f, &alice, "older", 1_600_000_000_000).await;
    let new = add_msg(&f, &alice, "newer", 1_700_000_000_000).await;

    for sort in ["score", "nameLocalizedAsc", "bogus", "durAsc"] {
        let r = search(&f, &alice, "message", sort, "in:inbox").await;
        let body = ok(&r);
        assert_eq!(
            attr(body, "SearchResponse", "sortBy").as_deref(),
            Some("dateDesc"),
            "{sort}: {body}"
        );
        assert_eq!(ids(body, "m"), [new.clone(), old.clone()], "{sort}");
    }
    let r = search(&f, &alice, "message", "dateAsc", "in:inbox").await;
    assert_eq!(ids(ok(&r), "m"), [old.clone(), new.clone()]);
    let r = search(&f, &alice, "message", "recentlyViewed", "in:inbox").await;
    let body = ok(&r);
    assert_eq!(
        attr(body, "SearchResponse", "sortBy").as_deref(),
        Some("recentlyViewed")
    );
    assert_eq!(ids(body, "m"), [new.clone(), old.clone()]);

    // readAsc with is:unread would tie everywhere: Zimbra sorts by date instead.
    let r = search(&f, &alice, "message", "readAsc", "is:unread").await;
    assert_eq!(
        attr(ok(&r), "SearchResponse", "sortBy").as_deref(),
        Some("dateDesc")
    );
    let r = search(&f, &alice, "message", "readAsc", "in:inbox").await;
    assert_eq!(
        attr(ok(&r), "SearchResponse", "sortBy").as_deref(),
        Some("readAsc")
    );

    // A sort: clause that names no order is a parse error, for mail and items.
    for types in ["message", "conversation", "contact", "task"] {
        let r = search(&f, &alice, types, "dateDesc", "in:inbox sort:score").await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.PARSE_ERROR"),
            "{types}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn contact_names_collate_without_case_or_accents_first() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let mut made = Vec::new();
    for name in ["Zoe", "Émile", "fred", "Elise", "eve"] {
        let req = format!(
            "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn l=\"7\">\
             <a n=\"lastName\">{name}</a></cn></CreateContactRequest>"
        );
        let r = call(&f, &alice, &req).await;
        made.push((name, attr(ok(&r), "cn", "id").expect("contact id")));
    }
    let id = |n: &str| made.iter().find(|(m, _)| *m == n).expect("made").1.clone();
    let want = ["Elise", "Émile", "eve", "fred", "Zoe"].map(id);
    let r = search(&f, &alice, "contact", "nameAsc", "in:contacts").await;
    assert_eq!(ids(ok(&r), "cn"), want);
    let r = search(&f, &alice, "contact", "nameDesc", "in:contacts").await;
    let mut rev = want.to_vec();
    rev.reverse();
    assert_eq!(ids(ok(&r), "cn"), rev);
}
