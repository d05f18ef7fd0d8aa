//! Contacts and groups through the public API: create, modify, move, delete, the
//! `zimbraContactMaxNumEntries` limit, vCard import/export, folder checks.

mod common;

use common::temp_store;
use zcs_core::{FaultCode, ItemId, ItemKind, ServiceError, ZimbraId, folder};
use zcs_store::{ContactMember, MailboxSettings, MemberKind, StoreError};

fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn contact_crud_and_groups() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let contacts = ItemId(folder::CONTACTS);

    let c = mb
        .create_contact(
            contacts,
            f(&[
                ("firstName", "Ada"),
                ("lastName", "Lovelace"),
                ("email", "ada@example.com"),
            ]),
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(c.id.0 >= ItemId::FIRST_USER_ID);
    assert_eq!(c.field("email"), Some("ada@example.com"));
    assert!(!c.is_group);
    assert_eq!(mb.item_kind(c.id).await.unwrap(), Some(ItemKind::Contact));

    let before = mb.change_number().await.unwrap();
    let c2 = mb
        .modify_contact(
            c.id,
            f(&[("firstName", "Ada"), ("company", "Engines")]),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(c2.field("email"), None);
    assert_eq!(c2.field("company"), Some("Engines"));
    assert!(c2.modseq > before.0);

    let g = mb
        .create_contact(
            contacts,
            f(&[("type", "group"), ("nickname", "Team")]),
            vec![
                ContactMember {
                    kind: MemberKind::ContactRef,
                    value: c.id.to_string(),
                },
                ContactMember {
                    kind: MemberKind::Inline,
                    value: "x@example.com".into(),
                },
            ],
        )
        .await
        .unwrap();
    assert!(g.is_group);
    assert_eq!(g.members.len(), 2);

    let moved = mb
        .move_contact(c.id, ItemId(folder::EMAILED_CONTACTS))
        .await
        .unwrap();
    assert_eq!(moved.folder, ItemId(folder::EMAILED_CONTACTS));
    assert_eq!(mb.contacts(contacts).await.unwrap().len(), 1);
    let tomb = mb.tombstones_since(before.0).await.unwrap();
    assert!(tomb.iter().any(|t| t.id == c.id && t.moved), "{tomb:?}");

    // Contacts do not go into mail folders.
    let err = mb
        .create_contact(ItemId(folder::INBOX), f(&[("email", "a@b")]), Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CannotContain { .. }), "{err}");

    mb.delete_items(&[c.id, g.id]).await.unwrap();
    assert!(matches!(
        mb.contact(c.id).await,
        Err(StoreError::NoSuchItem(_))
    ));
    assert_eq!(mb.contact_count().await.unwrap(), 0);
    let tomb = mb.tombstones_since(before.0).await.unwrap();
    assert!(tomb.iter().any(|t| t.id == g.id && !t.moved));
}

#[tokio::test]
async fn contact_limit_is_enforced() {
    let (store, _dir, _) = temp_store().await;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(MailboxSettings {
            contact_max_entries: 2,
            ..MailboxSettings::default()
        });
    let contacts = ItemId(folder::CONTACTS);
    for i in 0..2 {
        mb.create_contact(contacts, f(&[("email", &format!("{i}@x"))]), Vec::new())
            .await
            .unwrap();
    }
    let err = mb
        .create_contact(contacts, f(&[("email", "3@x")]), Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TooManyContacts(2)), "{err}");
    assert_eq!(err.zimbra_code(), "mail.TOO_MANY_CONTACTS");
    let svc: ServiceError = err.into();
    assert_eq!(svc.code, FaultCode::QuotaExceeded);

    // 0 is unlimited.
    let unlimited = mb.with_settings(MailboxSettings {
        contact_max_entries: 0,
        ..MailboxSettings::default()
    });
    unlimited
        .create_contact(contacts, f(&[("email", "3@x")]), Vec::new())
        .await
        .unwrap();
    assert_eq!(unlimited.contact_count().await.unwrap(), 3);
}

#[tokio::test]
async fn vcard_import_and_export() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\n\
        EMAIL:grace@example.com\r\nTEL;TYPE=WORK:+1 555 0199\r\nEND:VCARD\r\n\
        BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Friends\r\nKIND:group\r\n\
        MEMBER:mailto:a@example.com\r\nMEMBER:mailto:b@example.com\r\nEND:VCARD\r\n";
    let (made, bad) = mb
        .import_vcards(ItemId(folder::CONTACTS), text)
        .await
        .unwrap();
    assert_eq!(bad, 0);
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].field("lastName"), Some("Hopper"));
    assert_eq!(made[0].field("workPhone"), Some("+1 555 0199"));
    assert!(made[1].is_group);
    assert_eq!(made[1].members.len(), 2);

    let out = mb.export_vcard(made[0].id).await.unwrap();
    assert!(out.contains("EMAIL:grace@example.com"), "{out}");
    assert!(out.contains("FN:Grace Hopper"), "{out}");
    let group = mb.export_vcard(made[1].id).await.unwrap();
    assert!(group.contains("mailto:a@example.com"), "{group}");
}
