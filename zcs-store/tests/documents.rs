//! Documents with revisions, mountpoints, search folders and folder grants through the
//! public API.

mod common;

use common::{count_blob_files, temp_store};
use zcs_core::{ItemId, ItemKind, ZimbraId, folder};
use zcs_store::{Accessor, GranteeType, MailboxSettings, Rights, StoreError};

#[tokio::test]
async fn documents_keep_at_most_the_configured_revisions() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(MailboxSettings {
            notebook_max_revisions: 2,
            ..MailboxSettings::default()
        });
    let bc = ItemId(folder::BRIEFCASE);
    let d1 = mb
        .save_document(bc, "notes.txt", "text/plain", b"one", "ann")
        .await
        .unwrap();
    assert_eq!(d1.version, 1);
    assert_eq!(mb.item_kind(d1.id).await.unwrap(), Some(ItemKind::Document));
    let d2 = mb
        .save_document(bc, "notes.txt", "text/plain", b"two", "bob")
        .await
        .unwrap();
    assert_eq!(d2.id, d1.id);
    assert_eq!(d2.version, 2);
    assert_eq!(d2.author, "bob");
    assert_eq!(mb.read_document(d1.id, Some(1)).await.unwrap(), b"one");
    let d3 = mb
        .save_document(bc, "notes.txt", "text/plain", b"three", "ann")
        .await
        .unwrap();
    assert_eq!(d3.version, 3);
    let revs: Vec<i32> = mb
        .document_revisions(d1.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(revs, vec![2, 3]);
    assert!(matches!(
        mb.read_document(d1.id, Some(1)).await,
        Err(StoreError::NoSuchItem(_))
    ));
    assert_eq!(mb.read_document(d1.id, None).await.unwrap(), b"three");
    assert_eq!(
        count_blob_files(&cfg.blob_root),
        2,
        "revision 1's blob freed"
    );

    let other = mb
        .save_document(bc, "other.txt", "text/plain", b"x", "ann")
        .await
        .unwrap();
    assert_ne!(other.id, d1.id);
    assert_eq!(mb.documents(bc).await.unwrap().len(), 2);
    assert!(matches!(
        mb.save_document(ItemId(folder::INBOX), "x", "text/plain", b"x", "a")
            .await,
        Err(StoreError::CannotContain { .. })
    ));

    mb.delete_items(&[d1.id, other.id]).await.unwrap();
    assert!(mb.documents(bc).await.unwrap().is_empty());
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
}

#[tokio::test]
async fn mountpoints_and_search_folders() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let owner = ZimbraId::new();
    let root = ItemId(folder::USER_ROOT);
    let mp = mb
        .create_mountpoint(root, "Shared cal", owner, ItemId(10), "appointment")
        .await
        .unwrap();
    assert_eq!(mp.owner, owner);
    assert_eq!(mp.remote_id, ItemId(10));
    assert_eq!(
        mb.item_kind(mp.id).await.unwrap(),
        Some(ItemKind::Mountpoint)
    );
    let sf = mb
        .create_search_folder(root, "Unread", "is:unread", "message", "dateDesc")
        .await
        .unwrap();
    assert_eq!(sf.query, "is:unread");
    assert_eq!(mb.search_folders().await.unwrap(), vec![sf.clone()]);
    assert_eq!(mb.mountpoints().await.unwrap(), vec![mp.clone()]);

    // Names are unique among the parent's children, folders included.
    assert!(matches!(
        mb.create_search_folder(root, "Inbox", "x", "", "").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        mb.create_mountpoint(root, "Unread", owner, ItemId(2), "message")
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        mb.create_folder(root, "Unread").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        mb.create_search_folder(root, "Empty", " ", "", "").await,
        Err(StoreError::InvalidRequest(_))
    ));

    mb.delete_items(&[mp.id, sf.id]).await.unwrap();
    assert!(mb.mountpoints().await.unwrap().is_empty());
    assert!(mb.search_folders().await.unwrap().is_empty());
}

#[tokio::test]
async fn grants_decide_effective_rights() {
    let (store, _dir, _) = temp_store().await;
    let owner = ZimbraId::new();
    let mb = store.mailbox(owner).await.unwrap();
    let cal = ItemId(folder::CALENDAR);
    let sub = mb.create_folder(cal, "Team").await.unwrap();
    let (alice, bob, group) = (ZimbraId::new(), ZimbraId::new(), ZimbraId::new());

    assert_eq!(
        mb.effective_rights(cal, Some(owner), &[]).await.unwrap(),
        Rights::all()
    );
    assert!(
        mb.effective_rights(cal, Some(alice), &[])
            .await
            .unwrap()
            .is_empty()
    );

    let before = mb.folder(cal).await.unwrap().modseq;
    mb.grant(
        cal,
        GranteeType::User,
        &alice.to_string(),
        Rights::parse("rwid").unwrap(),
        "",
    )
    .await
    .unwrap();
    mb.grant(
        cal,
        GranteeType::Group,
        &group.to_string(),
        Rights::parse("r").unwrap(),
        "",
    )
    .await
    .unwrap();
    mb.grant(
        cal,
        GranteeType::Public,
        "",
        Rights::parse("r").unwrap(),
        "",
    )
    .await
    .unwrap();
    assert!(mb.folder(cal).await.unwrap().modseq > before);
    let grants = mb.grants(cal).await.unwrap();
    assert_eq!(grants.len(), 3);

    let r = mb.effective_rights(cal, Some(alice), &[]).await.unwrap();
    assert_eq!(r.to_string(), "rwid");
    assert!(r.contains(Rights::INSERT));
    let r = mb.effective_rights(cal, Some(bob), &[group]).await.unwrap();
    assert_eq!(r.to_string(), "r");
    assert_eq!(
        mb.effective_rights(cal, None, &[])
            .await
            .unwrap()
            .to_string(),
        "r"
    );
    // A subfolder without grants inherits.
    assert_eq!(
        mb.effective_rights(sub.id, Some(alice), &[])
            .await
            .unwrap()
            .to_string(),
        "rwid"
    );
    // A subfolder with its own grants does not.
    mb.grant(
        sub.id,
        GranteeType::Domain,
        "example.com",
        Rights::parse("rw").unwrap(),
        "",
    )
    .await
    .unwrap();
    assert!(
        mb.effective_rights(sub.id, Some(alice), &[])
            .await
            .unwrap()
            .is_empty()
    );
    let who = Accessor {
        account: Some(bob),
        domain: Some("EXAMPLE.com".into()),
        ..Accessor::default()
    };
    assert_eq!(
        mb.effective_rights_for(sub.id, &who)
            .await
            .unwrap()
            .to_string(),
        "rw"
    );

    // Guest with password, key grants.
    mb.grant(
        cal,
        GranteeType::Guest,
        "ext@example.org",
        Rights::parse("r").unwrap(),
        "pw",
    )
    .await
    .unwrap();
    mb.revoke(cal, GranteeType::Public, "").await.unwrap();
    let guest = Accessor {
        guest: Some("ext@example.org".into()),
        access_key: Some("pw".into()),
        ..Accessor::default()
    };
    assert_eq!(
        mb.effective_rights_for(cal, &guest)
            .await
            .unwrap()
            .to_string(),
        "r"
    );
    let wrong = Accessor {
        access_key: Some("nope".into()),
        ..guest
    };
    assert!(
        mb.effective_rights_for(cal, &wrong)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(matches!(
        mb.grant(
            ItemId(9999),
            GranteeType::All,
            "",
            Rights::parse("r").unwrap(),
            ""
        )
        .await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert!(matches!(
        mb.grant(cal, GranteeType::User, "", Rights::parse("r").unwrap(), "")
            .await,
        Err(StoreError::InvalidRequest(_))
    ));

    // Deleting the folder drops its grants.
    mb.delete_folder(sub.id).await.unwrap();
    assert!(mb.grants(sub.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn mountpoints_and_search_folders_rename_in_place() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let owner = ZimbraId::new();
    let sub = mb.create_folder(root, "sub").await.unwrap();
    let mp = mb
        .create_mountpoint(root, "Shared", owner, ItemId(10), "message")
        .await
        .unwrap();
    let sf = mb
        .create_search_folder(root, "Unread", "is:unread", "message", "")
        .await
        .unwrap();
    let before = mb.change_number().await.unwrap();

    let renamed = mb.rename_mountpoint(mp.id, sub.id, "Team").await.unwrap();
    assert_eq!(renamed.id, mp.id, "the id stays");
    assert_eq!((renamed.parent, renamed.name.as_str()), (sub.id, "Team"));
    assert_eq!((renamed.owner, renamed.remote_id), (owner, ItemId(10)));
    assert!(renamed.modseq > before.0);
    assert!(
        mb.folder(root).await.unwrap().modseq >= renamed.modseq,
        "old parent touched"
    );
    let sf2 = mb.rename_search_folder(sf.id, root, "New").await.unwrap();
    assert_eq!(
        (sf2.id, sf2.name.as_str(), sf2.query.as_str()),
        (sf.id, "New", "is:unread")
    );

    // Same name and place: nothing logged.
    let at = mb.change_number().await.unwrap();
    mb.rename_link(sf.id, root, "New").await.unwrap();
    assert_eq!(mb.change_number().await.unwrap(), at);
    // Clashes, bad names, wrong kinds.
    assert!(matches!(
        mb.rename_link(sf.id, root, "sub").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        mb.rename_link(sf.id, sub.id, "Team").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(mb.rename_link(sf.id, root, "a/b").await.is_err());
    assert!(matches!(
        mb.rename_mountpoint(sf.id, root, "x").await,
        Err(StoreError::NoSuchItem(_))
    ));
    assert!(matches!(
        mb.rename_link(sub.id, root, "x").await,
        Err(StoreError::NoSuchItem(_))
    ));

    // Replay from the redo log alone gives the same rows.
    let want = (
        mb.mountpoints().await.unwrap(),
        mb.search_folders().await.unwrap(),
    );
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = zcs_store::Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(
        (
            mb.mountpoints().await.unwrap(),
            mb.search_folders().await.unwrap()
        ),
        want
    );
    store.close().await;
}
