//! A version 2 database (messages, folders and tags only) opens as version 3: the new
//! columns and tables are added in place and old messages thread with new ones.

mod common;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::Store;

#[tokio::test]
async fn a_version_2_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = zcs_store::StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let old = store
        .mailbox(acct)
        .await
        .unwrap()
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    store.close().await;

    // Turn the file back into what version 2 wrote.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&cfg.db_path);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    for sql in [
        "DROP INDEX mail_item_msgid",
        "DROP INDEX mail_item_subject",
        "DROP INDEX mail_item_conv",
        "ALTER TABLE mail_item DROP COLUMN conv_id",
        "ALTER TABLE mail_item DROP COLUMN norm_subject",
        "ALTER TABLE mailbox DROP COLUMN quota_last_warn_ms",
        "DROP TABLE conversation",
        "DROP TABLE dumpster_item",
        "DROP TABLE contact",
        "DROP TABLE cal_item",
        "DROP TABLE document",
        "DROP TABLE revision",
        "DROP TABLE folder_link",
        "DROP TABLE acl",
        "UPDATE store_state SET schema_version = 2",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(cfg).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let m = mb.message(old.id).await.unwrap();
    assert_eq!(
        m.conv,
        ItemId(-old.id.0),
        "old rows read as virtual conversations"
    );
    let reply = mb
        .append(
            ItemId(folder::INBOX),
            b"Subject: Re: message 1\r\nMessage-ID: <r@x>\r\n\
              In-Reply-To: <m1@example.com>\r\n\r\nx\r\n",
            Flags(0),
            2,
        )
        .await
        .unwrap();
    assert!(reply.conv.0 > 0);
    assert_eq!(mb.message(old.id).await.unwrap().conv, reply.conv);
    mb.create_contact(
        ItemId(folder::CONTACTS),
        vec![("email".into(), "a@b".into())],
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(mb.contact_count().await.unwrap(), 1);
    store.close().await;
}
