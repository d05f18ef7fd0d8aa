//! Folder retention policies and the dumpster over the SOAP API on 127.0.0.1:
//! `FolderAction op=retentionpolicy`, `<retentionPolicy>` in GetFolder,
//! GetSystemRetentionPolicy, `SearchRequest inDumpster="1"` and
//! `ItemAction op=recover|dumpsterdelete` for contacts.

mod soap_support;

use soap_support::*;
use zcs_core::ItemId;
use zcs_store::{MailboxSettings, PolicyKind};

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

async fn mailbox(f: &Fixture, name: &str) -> zcs_store::Mailbox {
    let id = f.prov.get_account(name).await.expect("account").id;
    f.store.mailbox(id).await.expect("mailbox")
}

#[tokio::test]
async fn retention_policy_is_set_shown_and_cleared() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let r = call(
        &f,
        &alice,
        "<CreateFolderRequest xmlns=\"urn:zimbraMail\"><folder name=\"Old\" l=\"1\"/>\
         </CreateFolderRequest>",
    )
    .await;
    ok(&r);
    let id = attr(&r.body, "folder", "id").expect("id");
    let set = format!(
        "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action op=\"retentionpolicy\" \
         id=\"{id}\"><retentionPolicy><keep><policy type=\"user\" lifetime=\"30d\"/></keep>\
         <purge><policy type=\"system\" id=\"sys-1\"/></purge></retentionPolicy></action>\
         </FolderActionRequest>"
    );
    let r = call(&f, &alice, &set).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "action", "op").as_deref(),
        Some("retentionpolicy")
    );

    let mb = mailbox(&f, ALICE).await;
    let fid = ItemId(id.parse().expect("numeric id"));
    let p = mb.retention_policy(fid).await.expect("policy");
    assert_eq!(p.keep.len(), 1);
    assert_eq!(p.keep[0].lifetime, "30d");
    assert_eq!(p.purge[0].kind, PolicyKind::System);
    assert_eq!(p.purge[0].id, "sys-1");

    // The administrator's system policy lends its name and lifetime to the folder's.
    f.prov
        .modify_global_config(&[zcs_core::AttrEdit::Replace(
            "zimbraMailPurgeSystemPolicy".into(),
            vec![r#"[{"id":"sys-1","name":"Yearly","lifetime":"365d","kind":"purge"}]"#.into()],
        )])
        .await
        .expect("global config");
    let get = format!(
        "<GetFolderRequest xmlns=\"urn:zimbraMail\"><folder l=\"{id}\"/></GetFolderRequest>"
    );
    let r = call(&f, &alice, &get).await;
    ok(&r);
    assert!(r.body.contains("<retentionPolicy"), "{}", r.body);
    assert_eq!(attr(&r.body, "policy", "lifetime").as_deref(), Some("30d"));
    assert!(r.body.contains("id=\"sys-1\""), "{}", r.body);
    assert!(r.body.contains("name=\"Yearly\""), "{}", r.body);
    assert!(r.body.contains("lifetime=\"365d\""), "{}", r.body);
    // The whole tree shows it on that folder only.
    let r = call(&f, &alice, "<GetFolderRequest xmlns=\"urn:zimbraMail\"/>").await;
    ok(&r);
    assert_eq!(r.body.matches("<retentionPolicy").count(), 1, "{}", r.body);

    // A lifetime that does not parse is refused.
    let bad = set.replace("30d", "soon");
    let r = call(&f, &alice, &bad).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("service.INVALID_REQUEST"), "{}", r.body);

    // An empty policy clears it.
    let clear = format!(
        "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action op=\"retentionpolicy\" \
         id=\"{id}\"><retentionPolicy/></action></FolderActionRequest>"
    );
    ok(&call(&f, &alice, &clear).await);
    assert!(mb.retention_policy(fid).await.expect("policy").is_empty());
    let r = call(&f, &alice, &get).await;
    ok(&r);
    assert!(!r.body.contains("<retentionPolicy"), "{}", r.body);

    // The mail-side system policy list answers for a plain user.
    let r = call(
        &f,
        &alice,
        "<GetSystemRetentionPolicyRequest xmlns=\"urn:zimbraMail\"/>",
    )
    .await;
    ok(&r);
    assert!(
        r.body.contains("GetSystemRetentionPolicyResponse"),
        "{}",
        r.body
    );
    assert_eq!(attr(&r.body, "policy", "name").as_deref(), Some("Yearly"));
}

#[tokio::test]
async fn deleted_contacts_are_listed_recovered_and_purged_from_the_dumpster() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let mut ids = Vec::new();
    for name in ["Ann", "Bea"] {
        let r = call(
            &f,
            &alice,
            &format!(
                "<CreateContactRequest xmlns=\"urn:zimbraMail\"><cn>\
                 <a n=\"firstName\">{name}</a></cn></CreateContactRequest>"
            ),
        )
        .await;
        ok(&r);
        ids.push(attr(&r.body, "cn", "id").expect("id"));
    }
    // Deleted with the dumpster on (the SOAP handle does not carry the setting yet).
    let mb = mailbox(&f, ALICE).await.with_settings(MailboxSettings {
        dumpster_enabled: true,
        ..MailboxSettings::default()
    });
    let item_ids: Vec<ItemId> = ids
        .iter()
        .map(|i| ItemId(i.parse().expect("numeric")))
        .collect();
    mb.delete_items(&item_ids).await.expect("delete");

    let r = call(
        &f,
        &alice,
        "<SearchRequest xmlns=\"urn:zimbraMail\" inDumpster=\"1\" types=\"contact\">\
         <query>*</query></SearchRequest>",
    )
    .await;
    ok(&r);
    assert_eq!(r.body.matches("<cn ").count(), 2, "{}", r.body);
    assert_eq!(attr(&r.body, "cn", "l").as_deref(), Some("7"));

    let recover = format!(
        "<ItemActionRequest xmlns=\"urn:zimbraMail\"><action op=\"recover\" id=\"{}\" \
         l=\"7\"/></ItemActionRequest>",
        ids[0]
    );
    let r = call(&f, &alice, &recover).await;
    ok(&r);
    assert_eq!(attr(&r.body, "action", "op").as_deref(), Some("recover"));
    let r = call(
        &f,
        &alice,
        &format!(
            "<GetContactsRequest xmlns=\"urn:zimbraMail\"><cn id=\"{}\"/></GetContactsRequest>",
            ids[0]
        ),
    )
    .await;
    ok(&r);
    assert!(r.body.contains("Ann"), "{}", r.body);
    // Recovering it again: no longer in the dumpster.
    let r = call(&f, &alice, &recover).await;
    assert!(r.body.contains("mail.NO_SUCH_ITEM"), "{}", r.body);

    let purge = format!(
        "<ItemActionRequest xmlns=\"urn:zimbraMail\"><action op=\"dumpsterdelete\" \
         id=\"{}\"/></ItemActionRequest>",
        ids[1]
    );
    ok(&call(&f, &alice, &purge).await);
    assert!(mb.dumpster_entries().await.expect("entries").is_empty());
    let r = call(
        &f,
        &alice,
        "<SearchRequest xmlns=\"urn:zimbraMail\" inDumpster=\"1\" types=\"contact\">\
         <query>*</query></SearchRequest>",
    )
    .await;
    ok(&r);
    assert!(!r.body.contains("<cn "), "{}", r.body);
}

#[tokio::test]
async fn deleted_messages_are_listed_and_recovered_into_a_folder() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await.with_settings(MailboxSettings {
        dumpster_enabled: true,
        ..MailboxSettings::default()
    });
    let raw = b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: gone\r\n\r\nhi\r\n";
    let m = mb
        .append(
            ItemId(2),
            raw,
            zcs_core::Flags::default(),
            1_700_000_000_000,
        )
        .await
        .expect("append");
    mb.delete_items(&[m.id]).await.expect("delete");
    let r = call(
        &f,
        &alice,
        "<SearchRequest xmlns=\"urn:zimbraMail\" inDumpster=\"1\" types=\"message\">\
         <query>*</query></SearchRequest>",
    )
    .await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "m", "id"),
        Some(m.id.0.to_string()),
        "{}",
        r.body
    );
    assert!(r.body.contains("<su>gone</su>"), "{}", r.body);
    let r = call(
        &f,
        &alice,
        &format!(
            "<ItemActionRequest xmlns=\"urn:zimbraMail\"><action op=\"recover\" id=\"{}\" \
             l=\"5\"/></ItemActionRequest>",
            m.id.0
        ),
    )
    .await;
    ok(&r);
    let back = mb.message(m.id).await.expect("recovered");
    assert_eq!(back.folder, ItemId(5));
    assert!(mb.dumpster_items().await.expect("dumpster").is_empty());
}
