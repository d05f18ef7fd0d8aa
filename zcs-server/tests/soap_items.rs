//! Contacts, conversations, calendar items and sharing over the SOAP API on
//! 127.0.0.1: the Zimbra request and response shapes, and that another account's
//! items are reached only through the owner's grants.

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

async fn account_id(f: &Fixture, name: &str) -> String {
    f.prov
        .get_account(name)
        .await
        .expect("account")
        .id
        .to_string()
}

#[tokio::test]
async fn contacts_create_modify_get_act_and_group() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let r = call(
        &f,
        &alice,
        "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn>\
         <a n=\"firstName\">Ann</a><a n=\"lastName\">Lee</a>\
         <a n=\"email\">ann@example.org</a></cn></CreateContactRequest>",
    )
    .await;
    ok(&r);
    let id = attr(&r.body, "cn", "id").expect("id");
    assert_eq!(attr(&r.body, "cn", "l").as_deref(), Some("7"));
    assert_eq!(
        attr(&r.body, "cn", "fileAsStr").as_deref(),
        Some("Lee, Ann")
    );
    assert!(
        r.body.contains("<a n=\"email\">ann@example.org</a>"),
        "{}",
        r.body
    );

    // Modify without replace: one field changes, one is removed, the rest stay.
    let body = format!(
        "<ModifyContactRequest xmlns=\"urn:zimbraMail\"><cn id=\"{id}\">\
         <a n=\"company\">Acme</a><a n=\"firstName\"></a></cn></ModifyContactRequest>"
    );
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert!(r.body.contains("<a n=\"company\">Acme</a>"), "{}", r.body);
    assert!(!r.body.contains("firstName"), "{}", r.body);
    assert!(r.body.contains("<a n=\"lastName\">Lee</a>"), "{}", r.body);

    // A group referring to the contact.
    let body = format!(
        "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn><a n=\"type\">group</a>\
         <a n=\"nickname\">team</a><m type=\"C\" value=\"{id}\"/>\
         <m type=\"I\" value=\"x@example.org\"/></cn></CreateContactRequest>"
    );
    let r = call(&f, &alice, &body).await;
    ok(&r);
    let gid = attr(&r.body, "cn", "id").expect("group id");
    assert!(
        r.body.contains(&format!("<m type=\"C\" value=\"{id}\"/>")),
        "{}",
        r.body
    );

    // JSON: fields as _attrs.
    let get = format!(
        "{{\"GetContactsRequest\":{{\"_jsns\":\"urn:zimbraMail\",\"cn\":[{{\"id\":\"{id}\"}}]}}}}"
    );
    let r = post(f.user, "/service/soap", &json_env(Some(&alice), &get), "").await;
    ok(&r);
    let v = r.json();
    let cn = &v["Body"]["GetContactsResponse"]["cn"][0];
    assert_eq!(cn["_attrs"]["company"], "Acme", "{v}");

    // AutoComplete finds the contact by a word prefix.
    let r = call(
        &f,
        &alice,
        "<AutoCompleteRequest xmlns=\"urn:zimbraMail\"><name>le</name></AutoCompleteRequest>",
    )
    .await;
    ok(&r);
    assert_eq!(attr(&r.body, "match", "id"), Some(id.clone()), "{}", r.body);
    assert!(r.body.contains("&lt;ann@example.org&gt;"), "{}", r.body);
    let bob = login(&f, BOB).await;
    let r = call(
        &f,
        &bob,
        "<AutoCompleteRequest xmlns=\"urn:zimbraMail\"><name>le</name></AutoCompleteRequest>",
    )
    .await;
    assert!(!r.body.contains("<match "), "{}", r.body);

    // Flag, move to Trash, then delete; all contacts listed before.
    let r = call(&f, &alice, "<GetContactsRequest xmlns=\"urn:zimbraMail\"/>").await;
    ok(&r);
    assert_eq!(r.body.matches("<cn ").count(), 2, "{}", r.body);
    let act = |op: &str, extra: &str| {
        format!(
            "<ContactActionRequest xmlns=\"urn:zimbraMail\">\
             <action id=\"{id}\" op=\"{op}\"{extra}/></ContactActionRequest>"
        )
    };
    let r = call(&f, &alice, &act("flag", "")).await;
    ok(&r);
    assert!(r.body.contains("<action id=\""), "{}", r.body);
    let r = call(&f, &alice, &act("trash", "")).await;
    ok(&r);
    let body = format!(
        "<GetContactsRequest xmlns=\"urn:zimbraMail\"><cn id=\"{id}\"/></GetContactsRequest>"
    );
    let r = call(&f, &alice, &body).await;
    assert_eq!(attr(&r.body, "cn", "l").as_deref(), Some("3"), "{}", r.body);
    assert_eq!(attr(&r.body, "cn", "f").as_deref(), Some("f"), "{}", r.body);

    // Bob cannot see or change Alice's contacts.
    let r = call(&f, &bob, &body).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_CONTACT"),
        "{}",
        r.body
    );
    // Deleting an id that is not one's own is the no-op deleting a deleted contact is
    // (as in Zimbra): Alice's contact stays.
    let r = call(&f, &bob, &act("delete", "")).await;
    ok(&r);
    let r = call(&f, &alice, &body).await;
    assert_eq!(attr(&r.body, "cn", "id"), Some(id.clone()), "{}", r.body);
    // Flagging it is refused as for any unknown contact.
    let r = call(&f, &bob, &act("flag", "")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_CONTACT"),
        "{}",
        r.body
    );

    let r = call(&f, &alice, &act("delete", "")).await;
    ok(&r);
    let r = call(&f, &alice, &body).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_CONTACT"),
        "{}",
        r.body
    );
    // A group member must be a contact of the mailbox.
    let bad = "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn><a n=\"type\">group</a>\
               <m type=\"C\" value=\"99999\"/></cn></CreateContactRequest>";
    let r = call(&f, &alice, bad).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(!gid.is_empty());
}

const MIME: &str = "From: carol@example.org&#13;\nTo: alice@example.test&#13;\n\
    Subject: SUBJ&#13;\nMessage-ID: &lt;MID@example.org&gt;&#13;\n&#13;\nhello&#13;\n";

async fn add_msg(f: &Fixture, token: &str, subject: &str, mid: &str, extra: &str) -> String {
    let mime = MIME.replace("SUBJ", subject).replace("MID", mid);
    let mime = format!("{extra}{mime}");
    let body = format!(
        "<AddMsgRequest xmlns=\"urn:zimbraMail\"><m l=\"2\" f=\"u\"><content>{mime}</content></m>\
         </AddMsgRequest>"
    );
    let r = call(f, token, &body).await;
    ok(&r);
    attr(&r.body, "m", "id").expect("message id")
}

#[tokio::test]
async fn get_msg_single_part_shape_and_fragment() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let id = add_msg(&f, &alice, "Shape", "s1", "").await;
    let body = format!("<GetMsgRequest xmlns=\"urn:zimbraMail\"><m id=\"{id}\"/></GetMsgRequest>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    // Zimbra: one top `mp part="1"` for a message that is not multipart, no TEXT layer.
    assert!(!r.body.contains("part=\"TEXT\""), "{}", r.body);
    assert_eq!(
        attr(&r.body, "mp", "part").as_deref(),
        Some("1"),
        "{}",
        r.body
    );
    assert_eq!(attr(&r.body, "mp", "ct").as_deref(), Some("text/plain"));
    assert_eq!(attr(&r.body, "mp", "body").as_deref(), Some("1"));
    assert_eq!(r.body.matches("<mp ").count(), 1, "{}", r.body);
    assert!(r.body.contains("<content>hello"), "{}", r.body);
    // The fragment is the body's start, not the subject.
    assert!(r.body.contains("<fr>hello</fr>"), "{}", r.body);

    let cid = attr(&r.body, "m", "cid").expect("cid");
    let body =
        format!("<GetConvRequest xmlns=\"urn:zimbraMail\"><c id=\"{cid}\"/></GetConvRequest>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert!(r.body.contains("<fr>hello</fr>"), "{}", r.body);
}

#[tokio::test]
async fn conversations_get_and_act_on_every_message() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let first = add_msg(&f, &alice, "Plans", "a1", "").await;
    let second = add_msg(
        &f,
        &alice,
        "Re: Plans",
        "a2",
        "In-Reply-To: &lt;a1@example.org&gt;&#13;\nReferences: &lt;a1@example.org&gt;&#13;\n",
    )
    .await;
    let body =
        format!("<GetMsgRequest xmlns=\"urn:zimbraMail\"><m id=\"{second}\"/></GetMsgRequest>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    let cid = attr(&r.body, "m", "cid").expect("cid");
    assert!(
        !cid.starts_with('-'),
        "second message joins a real conversation: {}",
        r.body
    );

    let body =
        format!("<GetConvRequest xmlns=\"urn:zimbraMail\"><c id=\"{cid}\"/></GetConvRequest>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert_eq!(attr(&r.body, "c", "n").as_deref(), Some("2"), "{}", r.body);
    assert_eq!(attr(&r.body, "c", "u").as_deref(), Some("2"), "{}", r.body);
    assert!(r.body.contains(&format!("<m id=\"{first}\"")), "{}", r.body);

    let act = format!(
        "<ConvActionRequest xmlns=\"urn:zimbraMail\"><action id=\"{cid}\" op=\"read\"/>\
         </ConvActionRequest>"
    );
    let r = call(&f, &alice, &act).await;
    ok(&r);
    assert_eq!(attr(&r.body, "action", "op").as_deref(), Some("read"));
    let r = call(&f, &alice, &body).await;
    assert_eq!(attr(&r.body, "c", "u"), None, "{}", r.body);

    let act = format!(
        "<ConvActionRequest xmlns=\"urn:zimbraMail\"><action id=\"{cid}\" op=\"trash\"/>\
         </ConvActionRequest>"
    );
    ok(&call(&f, &alice, &act).await);
    let body2 =
        format!("<GetMsgRequest xmlns=\"urn:zimbraMail\"><m id=\"{first}\"/></GetMsgRequest>");
    let r = call(&f, &alice, &body2).await;
    assert_eq!(attr(&r.body, "m", "l").as_deref(), Some("3"), "{}", r.body);

    // Another account: no such conversation.
    let bob = login(&f, BOB).await;
    let r = call(&f, &bob, &body).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_CONV"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn appointments_and_tasks_round_trip() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let create = "<CreateAppointmentRequest xmlns=\"urn:zimbraMail\"><m><inv><comp name=\"Review\" \
        loc=\"Room 4\" status=\"CONF\" fb=\"B\" transp=\"O\"><s d=\"20261210T100000Z\"/>\
        <e d=\"20261210T110000Z\"/><or a=\"alice@example.test\"/>\
        <at a=\"bob@example.test\" role=\"REQ\" ptst=\"NE\" rsvp=\"1\"/>\
        <recur><add><rule freq=\"DAI\"><count num=\"3\"/></rule></add></recur></comp></inv>\
        <su>Review</su></m></CreateAppointmentRequest>";
    let r = call(&f, &alice, create).await;
    ok(&r);
    let id = attr(&r.body, "CreateAppointmentResponse", "calItemId").expect("calItemId");
    let inv = attr(&r.body, "CreateAppointmentResponse", "invId").expect("invId");
    assert!(inv.starts_with(&format!("{id}-")), "{}", r.body);

    let body = format!("<GetAppointmentRequest xmlns=\"urn:zimbraMail\" id=\"{id}\"/>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "comp", "name").as_deref(),
        Some("Review"),
        "{}",
        r.body
    );
    assert_eq!(attr(&r.body, "comp", "loc").as_deref(), Some("Room 4"));
    assert_eq!(attr(&r.body, "s", "d").as_deref(), Some("20261210T100000Z"));
    assert_eq!(attr(&r.body, "rule", "freq").as_deref(), Some("DAI"));
    assert_eq!(attr(&r.body, "at", "ptst").as_deref(), Some("NE"));

    // The invite reads as a message too.
    let body = format!("<GetMsgRequest xmlns=\"urn:zimbraMail\"><m id=\"{inv}\"/></GetMsgRequest>");
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert!(r.body.contains("<inv type=\"appt\">"), "{}", r.body);

    // Three daily instances in the range.
    let s = 1_796_860_800_000i64; // 2026-12-10T00:00Z
    let body = format!(
        "<GetApptSummariesRequest xmlns=\"urn:zimbraMail\" s=\"{s}\" e=\"{}\"/>",
        s + 10 * 86_400_000
    );
    let r = call(&f, &alice, &body).await;
    ok(&r);
    assert_eq!(r.body.matches("<inst ").count(), 3, "{}", r.body);

    // Modify keeps the UID and id; cancel one instance, then the whole series.
    let modify = create
        .replace(
            "CreateAppointmentRequest xmlns",
            &format!("ModifyAppointmentRequest id=\"{id}\" xmlns"),
        )
        .replace("CreateAppointmentRequest>", "ModifyAppointmentRequest>")
        .replace("Room 4", "Room 5");
    let r = call(&f, &alice, &modify).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "ModifyAppointmentResponse", "calItemId"),
        Some(id.clone())
    );
    let body = format!(
        "<CancelAppointmentRequest xmlns=\"urn:zimbraMail\" id=\"{id}\" comp=\"0\">\
         <inst d=\"20261211T100000Z\"/></CancelAppointmentRequest>"
    );
    ok(&call(&f, &alice, &body).await);
    let body = format!(
        "<GetApptSummariesRequest xmlns=\"urn:zimbraMail\" s=\"{s}\" e=\"{}\"/>",
        s + 10 * 86_400_000
    );
    let r = call(&f, &alice, &body).await;
    assert_eq!(r.body.matches("<inst ").count(), 2, "{}", r.body);

    // Bob cannot read it; free/busy shows only the busy times.
    let bob = login(&f, BOB).await;
    let get = format!("<GetAppointmentRequest xmlns=\"urn:zimbraMail\" id=\"{id}\"/>");
    let r = call(&f, &bob, &get).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_ITEM"),
        "{}",
        r.body
    );
    let fb = format!(
        "<GetFreeBusyRequest xmlns=\"urn:zimbraMail\" s=\"{s}\" e=\"{}\" name=\"{ALICE}\"/>",
        s + 86_400_000
    );
    let r = call(&f, &bob, &fb).await;
    ok(&r);
    assert!(
        r.body
            .contains("<b s=\"1796896800000\" e=\"1796900400000\"/>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Review"), "{}", r.body);

    let body =
        format!("<CancelAppointmentRequest xmlns=\"urn:zimbraMail\" id=\"{id}\" comp=\"0\"/>");
    ok(&call(&f, &alice, &body).await);
    let r = call(&f, &alice, &get).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_ITEM"),
        "{}",
        r.body
    );

    // A task lands in Tasks.
    let task = "<CreateTaskRequest xmlns=\"urn:zimbraMail\"><m><inv><comp name=\"Write\" \
        status=\"NEED\" percentComplete=\"10\" priority=\"1\"><e d=\"20261220\"/></comp></inv>\
        </m></CreateTaskRequest>";
    let r = call(&f, &alice, task).await;
    ok(&r);
    let tid = attr(&r.body, "CreateTaskResponse", "calItemId").expect("task id");
    let r = call(
        &f,
        &alice,
        &format!("<GetTaskRequest xmlns=\"urn:zimbraMail\" id=\"{tid}\"/>"),
    )
    .await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "task", "l").as_deref(),
        Some("15"),
        "{}",
        r.body
    );
    assert_eq!(
        attr(&r.body, "comp", "percentComplete").as_deref(),
        Some("10")
    );
    // Bad input is a fault, not a crash.
    let bad = "<CreateAppointmentRequest xmlns=\"urn:zimbraMail\"><m><inv><comp name=\"x\">\
        <s d=\"2026-12-10\"/></comp></inv></m></CreateAppointmentRequest>";
    let r = call(&f, &alice, bad).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.INVALID_REQUEST"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn shares_need_a_grant_and_stop_with_its_revocation() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let alice_id = account_id(&f, ALICE).await;
    let bob_id = account_id(&f, BOB).await;
    let msg = add_msg(&f, &alice, "Secret", "s1", "").await;

    // Without a grant Bob learns nothing: the folder, the message and a folder that
    // does not exist all answer PERM_DENIED.
    for l in ["2", "99999"] {
        let body = format!(
            "<GetEffectiveFolderPermsRequest xmlns=\"urn:zimbraMail\">\
             <folder l=\"{alice_id}:{l}\"/></GetEffectiveFolderPermsRequest>"
        );
        let r = call(&f, &bob, &body).await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.PERM_DENIED"),
            "{}",
            r.body
        );
    }
    let get = format!(
        "<GetMsgRequest xmlns=\"urn:zimbraMail\"><m id=\"{alice_id}:{msg}\"/></GetMsgRequest>"
    );
    let r = call(&f, &bob, &get).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    let mount = format!(
        "<CreateMountpointRequest xmlns=\"urn:zimbraMail\"><link l=\"1\" name=\"Alice\" \
         zid=\"{alice_id}\" rid=\"2\" view=\"message\"/></CreateMountpointRequest>"
    );
    let r = call(&f, &bob, &mount).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // Alice grants read on her Inbox.
    let grant = format!(
        "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action id=\"2\" op=\"grant\">\
         <grant gt=\"usr\" d=\"{BOB}\" perm=\"r\"/></action></FolderActionRequest>"
    );
    let r = call(&f, &alice, &grant).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "action", "zid"),
        Some(bob_id.clone()),
        "{}",
        r.body
    );
    let r = call(&f, &alice, "<GetFolderRequest xmlns=\"urn:zimbraMail\"/>").await;
    assert!(
        r.body.contains(&format!(
            "<grant gt=\"usr\" perm=\"r\" zid=\"{bob_id}\" d=\"{BOB}\"/>"
        )),
        "{}",
        r.body
    );

    let body = format!(
        "<GetEffectiveFolderPermsRequest xmlns=\"urn:zimbraMail\"><folder l=\"{alice_id}:2\"/>\
         </GetEffectiveFolderPermsRequest>"
    );
    let r = call(&f, &bob, &body).await;
    assert_eq!(
        attr(&r.body, "folder", "perm").as_deref(),
        Some("r"),
        "{}",
        r.body
    );
    let r = call(&f, &bob, &get).await;
    ok(&r);
    assert!(r.body.contains("<su>Secret</su>"), "{}", r.body);
    let r = call(&f, &bob, &mount).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "link", "rid").as_deref(),
        Some("2"),
        "{}",
        r.body
    );
    assert_eq!(attr(&r.body, "link", "owner").as_deref(), Some(ALICE));
    let r = call(&f, &bob, "<GetFolderRequest xmlns=\"urn:zimbraMail\"/>").await;
    assert!(r.body.contains("<link "), "{}", r.body);
    // Read only: marking read (a write) is refused; Sent stays closed.
    let read = get.replace("<m id=", "<m read=\"1\" id=");
    let r = call(&f, &bob, &read).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    let sent = body.replace(":2\"", ":5\"");
    let r = call(&f, &bob, &sent).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // Revoked: closed again.
    let revoke = format!(
        "<FolderActionRequest xmlns=\"urn:zimbraMail\">\
         <action id=\"2\" op=\"!grant\" zid=\"{bob_id}\"/></FolderActionRequest>"
    );
    ok(&call(&f, &alice, &revoke).await);
    let r = call(&f, &bob, &get).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // A grant to an unknown account.
    let bad = grant.replace(BOB, "nobody@example.test");
    let r = call(&f, &alice, &bad).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.NO_SUCH_ACCOUNT"),
        "{}",
        r.body
    );
}
