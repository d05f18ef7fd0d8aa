//! Search and contact behaviours of Zimbra's QA harness over SOAP on 127.0.0.1: quoted
//! `from:` comparisons, `has:url`/`has:phone`, BrowseRequest, contact searches by
//! prefix with their wildcard query info, task priorities on hits, and another
//! account's contacts reached only through the owner's grants.

mod soap_support;

use soap_support::*;

/// Sends one XML request body with `token`; returns the reply.
async fn call(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
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

fn ok(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
}

fn denied(r: &Reply) {
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
}

async fn add_msg(f: &Fixture, token: &str, from: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}\nTo: {ALICE}\nSubject: {subject}\nContent-Type: text/plain\n\n{body}\n"
    );
    let req = format!(
        "<AddMsgRequest xmlns=\"urn:zimbraMail\"><m l=\"2\"><content>{}</content></m>\
         </AddMsgRequest>",
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    ok(&call(f, token, &req).await);
}

async fn search(f: &Fixture, token: &str, types: &str, query: &str) -> String {
    let req = format!(
        "<SearchRequest xmlns=\"urn:zimbraMail\" types=\"{types}\" limit=\"50\">\
         <query>{}</query></SearchRequest>",
        query
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let r = call(f, token, &req).await;
    ok(&r);
    r.body
}

/// Subjects of the `<m>` hits of a search answer, in order.
fn subjects(body: &str) -> Vec<String> {
    body.split("<su>")
        .skip(1)
        .filter_map(|s| s.split("</su>").next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn quoted_comparisons_objects_and_browse() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    add_msg(&f, &alice, "afoo@foo.com", "a-mail", "plain words").await;
    add_msg(&f, &alice, "gfoo@foo.com", "g-mail", "visit www.zimbra.com").await;
    add_msg(&f, &alice, "spam@yahoo.com", "s-mail", "cell 352-219-3437").await;

    // from:">gfoo" compares the sender with "gfoo", quotes or not (Search-String-
    // Comparison): gfoo@foo.com sorts after "gfoo".
    let mut got = subjects(&search(&f, &alice, "message", "from:\">gfoo\"").await);
    got.sort();
    assert_eq!(got, ["g-mail", "s-mail"]);
    let got = subjects(&search(&f, &alice, "message", "from:\"<gfoo\"").await);
    assert_eq!(got, ["a-mail"]);

    assert_eq!(
        subjects(&search(&f, &alice, "message", "has:url").await),
        ["g-mail"]
    );
    assert_eq!(
        subjects(&search(&f, &alice, "message", "has:phone").await),
        ["s-mail"]
    );

    let r = call(
        &f,
        &alice,
        "<BrowseRequest xmlns=\"urn:zimbraMail\" browseBy=\"domains\"/>",
    )
    .await;
    ok(&r);
    assert!(r.body.contains(">foo.com</bd>"), "{}", r.body);
    assert!(r.body.contains(">yahoo.com</bd>"), "{}", r.body);
    assert!(
        r.body.contains("<bd h=\"f\" freq=\"2\">foo.com</bd>"),
        "{}",
        r.body
    );
    let r = call(
        &f,
        &alice,
        "<BrowseRequest xmlns=\"urn:zimbraMail\" browseBy=\"objects\"/>",
    )
    .await;
    assert!(
        r.body.contains(">url</bd>") && r.body.contains(">phone</bd>"),
        "{}",
        r.body
    );
    let r = call(
        &f,
        &alice,
        "<BrowseRequest xmlns=\"urn:zimbraMail\" browseBy=\"flowers\"/>",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    // A wildcard is reported in the query info.
    let body = search(&f, &alice, "message", "visi*").await;
    assert_eq!(
        attr(&body, "wildcard", "str").as_deref(),
        Some("visi*"),
        "{body}"
    );
    assert_eq!(attr(&body, "wildcard", "numExpanded").as_deref(), Some("1"));
    assert_eq!(attr(&body, "wildcard", "expanded").as_deref(), Some("1"));
    assert!(
        !search(&f, &alice, "message", "visit")
            .await
            .contains("<info")
    );
}

#[tokio::test]
async fn contact_prefixes_and_task_priority() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    for (first, email, company) in [
        (
            "firstName1",
            "firstname01_lastname01@testsearch.com",
            "company1",
        ),
        (
            "firstName2",
            "firstname02_lastname02@testsearch.com",
            "company2",
        ),
    ] {
        let req = format!(
            "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn><a n=\"firstName\">{first}</a>\
             <a n=\"email\">{email}</a><a n=\"company\">{company}</a></cn>\
             </CreateContactRequest>"
        );
        ok(&call(&f, &alice, &req).await);
    }
    let body = search(&f, &alice, "contact", "firstName01").await;
    assert_eq!(body.matches("<cn ").count(), 1, "{body}");
    assert_eq!(
        attr(&body, "wildcard", "str").as_deref(),
        Some("firstname01*"),
        "{body}"
    );
    assert_eq!(
        search(&f, &alice, "contact", "comp")
            .await
            .matches("<cn ")
            .count(),
        2
    );

    let task = "<CreateTaskRequest xmlns=\"urn:zimbraMail\"><m l=\"15\"><inv>\
                <comp priority=\"1\" name=\"Urgent thing\" status=\"NEED\"/></inv>\
                <su>Urgent thing</su></m></CreateTaskRequest>";
    let r = call(&f, &alice, task).await;
    ok(&r);
    let id = attr(&r.body, "CreateTaskResponse", "calItemId").expect("calItemId");
    let body = search(&f, &alice, "task", "priority:high").await;
    assert_eq!(attr(&body, "task", "id"), Some(id.clone()), "{body}");
    assert_eq!(attr(&body, "task", "invId"), Some(format!("{id}-{id}")));
    assert_eq!(attr(&body, "task", "f").as_deref(), Some("!"));
    assert!(
        !search(&f, &alice, "task", "priority:low")
            .await
            .contains("<task ")
    );
}

#[tokio::test]
async fn shared_contacts_follow_the_owners_grants() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let alice_id = f
        .prov
        .get_account(ALICE)
        .await
        .expect("account")
        .id
        .to_string();
    let r = call(
        &f,
        &alice,
        "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn><a n=\"firstName\">Jo</a>\
         <a n=\"email\">jo@example.test</a></cn></CreateContactRequest>",
    )
    .await;
    ok(&r);
    let cid = attr(&r.body, "cn", "id").expect("id");
    let get = format!(
        "<GetContactsRequest xmlns=\"urn:zimbraMail\"><cn id=\"{alice_id}:{cid}\"/>\
         </GetContactsRequest>"
    );
    // No grant: nothing, not even whether the contact exists.
    denied(&call(&f, &bob, &get).await);

    let grant = |perm: &str| {
        format!(
            "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action id=\"7\" op=\"grant\">\
             <grant gt=\"usr\" d=\"{BOB}\" perm=\"{perm}\"/></action></FolderActionRequest>"
        )
    };
    ok(&call(&f, &alice, &grant("r")).await);
    let r = call(&f, &bob, &get).await;
    ok(&r);
    assert!(r.body.contains(">Jo</a>"), "{}", r.body);
    assert_eq!(
        attr(&r.body, "cn", "id"),
        Some(format!("{alice_id}:{cid}")),
        "{}",
        r.body
    );
    let missing = format!(
        "<GetContactsRequest xmlns=\"urn:zimbraMail\"><cn id=\"{alice_id}:99999\"/>\
         </GetContactsRequest>"
    );
    denied(&call(&f, &bob, &missing).await);

    // Read only: no changes, no deletes, no new contacts through the mountpoint.
    let modify = format!(
        "<ModifyContactRequest xmlns=\"urn:zimbraMail\"><cn id=\"{alice_id}:{cid}\">\
         <a n=\"firstName\">Joanna</a></cn></ModifyContactRequest>"
    );
    denied(&call(&f, &bob, &modify).await);
    let delete = format!(
        "<ContactActionRequest xmlns=\"urn:zimbraMail\"><action id=\"{alice_id}:{cid}\" \
         op=\"delete\"/></ContactActionRequest>"
    );
    denied(&call(&f, &bob, &delete).await);
    let mount = format!(
        "<CreateMountpointRequest xmlns=\"urn:zimbraMail\"><link l=\"1\" name=\"Alice\" \
         zid=\"{alice_id}\" rid=\"7\" view=\"contact\"/></CreateMountpointRequest>"
    );
    let r = call(&f, &bob, &mount).await;
    ok(&r);
    let link = attr(&r.body, "link", "id").expect("link id");
    let create = format!(
        "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn l=\"{link}\">\
         <a n=\"firstName\">New</a></cn></CreateContactRequest>"
    );
    denied(&call(&f, &bob, &create).await);

    // Manager rights: all of it works, in Alice's mailbox.
    ok(&call(&f, &alice, &grant("rwidx")).await);
    let r = call(&f, &bob, &create).await;
    ok(&r);
    let new_id = attr(&r.body, "cn", "id").expect("id");
    assert!(new_id.starts_with(&format!("{alice_id}:")), "{}", r.body);
    let r = call(&f, &bob, &modify).await;
    ok(&r);
    assert!(r.body.contains(">Joanna</a>"), "{}", r.body);
    ok(&call(&f, &bob, &delete).await);
    let own = call(&f, &alice, "<GetContactsRequest xmlns=\"urn:zimbraMail\"/>").await;
    assert!(own.body.contains(">New</a>") && !own.body.contains(">Joanna</a>"));
}
