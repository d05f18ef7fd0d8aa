//! Search folders inside search folders, colours on mountpoints and search folders,
//! contacts moved into any folder, combined grants and the mailbox-wide change set, on
//! every metadata engine (SQLite always, MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set), each checked again after a
//! replay of the redo log onto an empty database.

mod common;

use common::engines::{Scratch, run, scratch_url};
use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{
    Accessor, FolderColor, GranteeType, Rights, Store, StoreConfig, StoreError, StoreOptions,
};

conformance!(
    search_folders_nest_without_loops,
    links_keep_colours,
    contacts_move_into_any_folder,
    user_and_group_grants_combine,
    change_set_of_the_whole_mailbox,
    older_schema_migrates,
);

async fn search_folders_nest_without_loops(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let s1 = mb
        .create_search_folder(root, "One", "in:inbox", "message", "")
        .await
        .unwrap();
    let s2 = mb
        .create_search_folder(root, "Two", "in:sent", "message", "")
        .await
        .unwrap();
    // Searchfolder_loop6: a search folder moves into a search folder.
    mb.rename_link(s2.id, s1.id, "Two").await.unwrap();
    let two = mb.search_folders().await.unwrap();
    let two = two.iter().find(|s| s.id == s2.id).unwrap();
    assert_eq!(two.parent, s1.id);
    // ... and one is created in one.
    let s3 = mb
        .create_search_folder(s2.id, "Three", "is:unread", "", "")
        .await
        .unwrap();
    assert_eq!(s3.parent, s2.id);
    // Names are unique among a search folder's children.
    assert!(matches!(
        mb.create_search_folder(s1.id, "Two", "x", "", "").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Searchfolder_loop8: never under itself or a search folder below it.
    for parent in [s1.id, s2.id, s3.id] {
        assert!(
            matches!(
                mb.rename_link(s1.id, parent, "One").await,
                Err(StoreError::CannotContain { .. })
            ),
            "s1 under {parent:?}"
        );
    }
    // Search folders hold only search folders.
    let owner = ZimbraId::new();
    assert!(matches!(
        mb.create_mountpoint(s1.id, "Mount", owner, ItemId(2), "message")
            .await,
        Err(StoreError::CannotContain { .. })
    ));
    assert!(mb.create_folder(s1.id, "Plain").await.is_err());
    let mp = mb
        .create_mountpoint(root, "Mount", owner, ItemId(2), "message")
        .await
        .unwrap();
    assert!(matches!(
        mb.create_search_folder(mp.id, "Under mount", "x", "", "")
            .await,
        Err(StoreError::CannotContain { .. })
    ));
    assert!(matches!(
        mb.rename_link(s3.id, mp.id, "Three").await,
        Err(StoreError::CannotContain { .. })
    ));
    assert!(matches!(
        mb.create_search_folder(ItemId(9999), "Nowhere", "x", "", "")
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));
    // Back to a folder works, and then into the nested one again.
    mb.rename_link(s3.id, ItemId(folder::INBOX), "Three")
        .await
        .unwrap();
    mb.rename_link(s3.id, s2.id, "Three").await.unwrap();

    // Searchfolder_loop9: deleting one takes the search folders under it along.
    let before = mb.change_number().await.unwrap().0;
    mb.delete_items(&[s2.id]).await.unwrap();
    let left: Vec<ItemId> = mb
        .search_folders()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![s1.id]);
    let tombs = mb.tombstones_since(before).await.unwrap();
    for id in [s2.id, s3.id] {
        assert!(tombs.iter().any(|t| t.id == id), "{id:?} in {tombs:?}");
    }
    // A folder's deletion takes nested search folders too.
    let f = mb.create_folder(root, "Holder").await.unwrap();
    let a = mb
        .create_search_folder(f.id, "A", "x", "", "")
        .await
        .unwrap();
    mb.create_search_folder(a.id, "B", "y", "", "")
        .await
        .unwrap();
    mb.delete_folder(f.id).await.unwrap();
    let left: Vec<ItemId> = mb
        .search_folders()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![s1.id]);
}

async fn links_keep_colours(store: Store, cfg: StoreConfig, url: String) {
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let mp = mb
        .create_mountpoint(
            root,
            "Shared cal",
            ZimbraId::new(),
            ItemId(10),
            "appointment",
        )
        .await
        .unwrap();
    assert!(mp.color.is_default());
    // CreateMountpointRequest15: color="3".
    let c = mb
        .set_folder_color(mp.id, FolderColor::index(3))
        .await
        .unwrap();
    assert_eq!(c, FolderColor::index(3));
    let sf = mb
        .create_search_folder(root, "Unread", "is:unread", "", "")
        .await
        .unwrap();
    let rgb = FolderColor::from_rgb_hex("#12AB9F").unwrap();
    mb.set_folder_color(sf.id, rgb).await.unwrap();
    // A rename or move keeps the colour.
    mb.rename_link(mp.id, ItemId(folder::INBOX), "Renamed")
        .await
        .unwrap();
    let check = |mps: Vec<zcs_store::Mountpoint>, sfs: Vec<zcs_store::SearchFolder>| {
        assert_eq!(mps[0].color, FolderColor::index(3));
        assert_eq!(mps[0].name, "Renamed");
        assert_eq!(sfs[0].color, rgb);
    };
    check(
        mb.mountpoints().await.unwrap(),
        mb.search_folders().await.unwrap(),
    );
    assert_eq!(mb.folder_color(mp.id).await.unwrap(), FolderColor::index(3));
    // Folders keep theirs as before.
    mb.set_folder_color(ItemId(folder::INBOX), FolderColor::index(5))
        .await
        .unwrap();
    assert!(matches!(
        mb.set_folder_color(ItemId(4242), FolderColor::index(1))
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));
    store.close().await;

    // The redo log alone rebuilds the colours.
    let (replayed, scratch) = replay_into_fresh(&cfg, &url).await;
    let mb = replayed.find_mailbox(acct).await.unwrap().unwrap();
    check(
        mb.mountpoints().await.unwrap(),
        mb.search_folders().await.unwrap(),
    );
    assert_eq!(
        mb.folder_color(ItemId(folder::INBOX)).await.unwrap(),
        FolderColor::index(5)
    );
    replayed.close().await;
    if let Some(s) = scratch {
        s.drop_db().await;
    }
}

/// A store opened on an empty database of the same engine as `url` with the redo log
/// of `cfg`, which replays every record; and the scratch database to drop after.
async fn replay_into_fresh(cfg: &StoreConfig, url: &str) -> (Store, Option<Scratch>) {
    let backend = if url.is_empty() {
        Backend::Sqlite
    } else {
        Backend::from_url(url).unwrap()
    };
    let (scratch, fresh) = scratch_url(backend, "links_replayed").await.unwrap();
    let cfg = StoreConfig {
        db_path: cfg.db_path.with_file_name("replayed.sqlite"),
        ..cfg.clone()
    };
    let store = Store::open_url(&fresh, cfg, StoreOptions::default())
        .await
        .unwrap();
    let report = store.recovery_report().clone();
    assert!(report.replayed > 3, "{report:?}");
    (store, scratch)
}

async fn contacts_move_into_any_folder(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "a@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    // ItemActionRequest3 / Contact_loop7: a new folder under the root has the
    // message view, and Zimbra still moves a contact into it.
    let plain = mb
        .create_folder(ItemId(folder::USER_ROOT), "Plain")
        .await
        .unwrap();
    assert_eq!(plain.view, "message");
    let moved = mb.move_contact(c.id, plain.id).await.unwrap();
    assert_eq!(moved.folder, plain.id);
    assert_eq!(mb.contacts(plain.id).await.unwrap().len(), 1);
    let moved = mb.move_contact(c.id, ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(moved.folder, ItemId(folder::INBOX));
    // Not into the hidden root, a search folder, a mountpoint or nowhere.
    let sf = mb
        .create_search_folder(ItemId(folder::USER_ROOT), "S", "x", "", "")
        .await
        .unwrap();
    let mp = mb
        .create_mountpoint(
            ItemId(folder::USER_ROOT),
            "M",
            ZimbraId::new(),
            ItemId(7),
            "contact",
        )
        .await
        .unwrap();
    for to in [ItemId(folder::ROOT), sf.id, mp.id] {
        assert!(
            matches!(
                mb.move_contact(c.id, to).await,
                Err(StoreError::CannotContain { .. })
            ),
            "{to:?}"
        );
    }
    assert!(matches!(
        mb.move_contact(c.id, ItemId(5000)).await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert_eq!(
        mb.contact(c.id).await.unwrap().folder,
        ItemId(folder::INBOX)
    );
    // Creating still wants an address book.
    assert!(matches!(
        mb.create_contact(plain.id, vec![("email".into(), "b@x".into())], Vec::new())
            .await,
        Err(StoreError::CannotContain { .. })
    ));
}

async fn user_and_group_grants_combine(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let (user, list, other) = (ZimbraId::new(), ZimbraId::new(), ZimbraId::new());
    let r = |s: &str| Rights::parse(s).unwrap();
    // SharingFoldersCombineBasic_01: read to the account, delete to a list it is in.
    mb.grant(inbox, GranteeType::User, &user.to_string(), r("r"), "")
        .await
        .unwrap();
    mb.grant(inbox, GranteeType::Group, &list.to_string(), r("d"), "")
        .await
        .unwrap();
    let got = mb
        .effective_rights(inbox, Some(user), &[list])
        .await
        .unwrap();
    assert_eq!(got.to_string(), "rd");
    // Not a member: the user grant alone.
    let got = mb.effective_rights(inbox, Some(user), &[]).await.unwrap();
    assert_eq!(got.to_string(), "r");
    // A member that has no user grant: the list's rights alone.
    let got = mb
        .effective_rights(inbox, Some(other), &[list])
        .await
        .unwrap();
    assert_eq!(got.to_string(), "d");
    // Neither: nothing, not even through the folder below.
    let sub = mb.create_folder(inbox, "Sub").await.unwrap();
    let stranger = ZimbraId::new();
    assert!(
        mb.effective_rights(sub.id, Some(stranger), &[ZimbraId::new()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        mb.effective_rights(sub.id, Some(user), &[list])
            .await
            .unwrap()
            .to_string(),
        "rd"
    );
    // SharingFoldersCombineBasic_12: the list's grant revoked (empty rights), the
    // user's read stays.
    mb.grant(inbox, GranteeType::Group, &list.to_string(), r(""), "")
        .await
        .unwrap();
    assert_eq!(
        mb.effective_rights(inbox, Some(user), &[list])
            .await
            .unwrap()
            .to_string(),
        "r"
    );
    // A domain grant adds to it for an account of the domain only.
    mb.grant(inbox, GranteeType::Domain, "example.com", r("i"), "")
        .await
        .unwrap();
    let of = |domain: &str| Accessor {
        account: Some(user),
        domain: Some(domain.into()),
        ..Accessor::default()
    };
    assert_eq!(
        mb.effective_rights_for(inbox, &of("example.com"))
            .await
            .unwrap()
            .to_string(),
        "ri"
    );
    assert_eq!(
        mb.effective_rights_for(inbox, &of("example.org"))
            .await
            .unwrap()
            .to_string(),
        "r"
    );
    // Anonymous callers get only public grants.
    assert!(
        mb.effective_rights_for(inbox, &Accessor::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn change_set_of_the_whole_mailbox(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (n, f) in [(1, folder::INBOX), (2, work.id.0), (3, folder::SENT)] {
        let m = mb
            .append(ItemId(f), &simple_message(n), Flags(0), 1_700_000_000_000)
            .await
            .unwrap();
        ids.push(m.id);
    }
    let mid = mb.change_number().await.unwrap().0;
    assert!(mb.messages_changed_after(mid).await.unwrap().is_empty());
    // A flag change in one folder and an arrival in another, in that order.
    mb.set_flags(&[ids[1]], Flags::FLAGGED, true).await.unwrap();
    let late = mb
        .append(ItemId(folder::INBOX), &simple_message(4), Flags(0), 1)
        .await
        .unwrap();
    let changed: Vec<ItemId> = mb
        .messages_changed_after(mid)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(changed, vec![ids[1], late.id]);
    let all = mb.messages_changed_after(0).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].modseq <= w[1].modseq));
}

/// A database written before link colours and the change-set index (the columns and
/// the index removed by hand) gains both when the store opens it again.
async fn older_schema_migrates(store: Store, cfg: StoreConfig, url: String) {
    use sqlx::{AssertSqlSafe, Connection};
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let mp = mb
        .create_mountpoint(
            ItemId(folder::USER_ROOT),
            "Old",
            ZimbraId::new(),
            ItemId(2),
            "message",
        )
        .await
        .unwrap();
    store.close().await;

    sqlx::any::install_default_drivers();
    let (conn_url, drop_index) = if url.is_empty() {
        (
            format!("sqlite://{}", cfg.db_path.display()),
            "DROP INDEX mail_item_modseq",
        )
    } else if url.starts_with("mysql") {
        (url.clone(), "DROP INDEX mail_item_modseq ON mail_item")
    } else {
        (url.clone(), "DROP INDEX mail_item_modseq")
    };
    let mut conn = sqlx::AnyConnection::connect(&conn_url).await.unwrap();
    for sql in [
        "ALTER TABLE folder_link DROP COLUMN color",
        "ALTER TABLE folder_link DROP COLUMN rgb",
        drop_index,
    ] {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    conn.close().await.unwrap();

    let again = Store::open_url(&url, cfg.clone(), StoreOptions::default())
        .await
        .unwrap();
    let mb = again.find_mailbox(acct).await.unwrap().unwrap();
    assert!(mb.mountpoints().await.unwrap()[0].color.is_default());
    mb.set_folder_color(mp.id, FolderColor::index(7))
        .await
        .unwrap();
    assert_eq!(mb.mountpoints().await.unwrap()[0].color.color, 7);
    assert!(mb.messages_changed_after(0).await.unwrap().is_empty());
    again.close().await;

    let mut conn = sqlx::AnyConnection::connect(&conn_url).await.unwrap();
    let has_index = if url.is_empty() {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'mail_item_modseq'"
    } else if url.starts_with("mysql") {
        "SELECT COUNT(*) FROM information_schema.statistics
         WHERE table_schema = DATABASE() AND index_name = 'mail_item_modseq'"
    } else {
        "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'mail_item_modseq'"
    };
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(has_index))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(n > 0, "mail_item_modseq recreated");
    conn.close().await.unwrap();
}
