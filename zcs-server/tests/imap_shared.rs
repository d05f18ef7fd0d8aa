//! Sharing over IMAP with the real store, directory and index behind the listener:
//! SETACL/GETACL/MYRIGHTS/LISTRIGHTS/DELETEACL on the store's grants, the Other Users
//! namespace, and every access to another account's folder checked against its grant.

mod imap_support;

use std::sync::Arc;

use imap_support::Client;
use tokio::sync::watch;
use zcs_core::Attrs;
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_server::imap::{ImapBackend, serve};
use zcs_server::imap_backend::StoreImapBackend;
use zcs_server::indexer::Indexer;
use zcs_store::Store;

const PW: &str = "share-secret-1";

struct World {
    addr: std::net::SocketAddr,
    store: Arc<Store>,
    prov: Arc<Provisioning>,
    _shutdown: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let sql = SqlDirectory::open_sqlite(&dir.path().join("directory.db"))
        .await
        .expect("directory");
    let prov = Arc::new(Provisioning::new(
        Arc::new(sql),
        AuthRegistry::with_builtins(),
    ));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("share.test", Attrs::new())
        .await
        .expect("domain");
    for user in ["alice", "bob", "carol"] {
        prov.create_account(&format!("{user}@share.test"), Some(PW), Attrs::new())
            .await
            .expect("account");
    }
    let store = Arc::new(
        Store::open(zcs_store::StoreConfig::under(dir.path().join("store")))
            .await
            .expect("store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&dir.path().join("index")).expect("index"));
    let (indexer, _task) = Indexer::start(store.clone(), index.clone());
    let backend: Arc<dyn ImapBackend> = Arc::new(StoreImapBackend::new(
        prov.clone(),
        store.clone(),
        index,
        indexer,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = watch::channel(false);
    let config = zcs_server::imap::ImapConfig {
        account_check_interval: std::time::Duration::ZERO,
        ..imap_support::test_config()
    };
    tokio::spawn(serve(listener, config, backend, rx));
    World {
        addr,
        store,
        prov,
        _shutdown: tx,
        _dir: dir,
    }
}

async fn login(w: &World, user: &str) -> Client {
    let (mut c, _) = Client::connect(w.addr).await;
    let (_, done) = c.cmd("l", &format!("LOGIN {user}@share.test {PW}")).await;
    assert!(done.starts_with("l OK"), "{done}");
    c
}

async fn ok(c: &mut Client, cmd: &str) -> Vec<String> {
    let (untagged, done) = c.cmd("t", cmd).await;
    assert!(done.starts_with("t OK"), "{cmd}: {done}");
    untagged
}

async fn no(c: &mut Client, cmd: &str) -> String {
    let (_, done) = c.cmd("t", cmd).await;
    assert!(done.starts_with("t NO"), "{cmd}: {done}");
    done
}

async fn deliver(w: &World, user: &str, subject: &str) {
    let id = w
        .prov
        .find_account(&format!("{user}@share.test"))
        .await
        .expect("lookup")
        .expect("account")
        .id;
    let mb = w.store.mailbox(id).await.expect("mailbox");
    let raw = format!("From: x@remote.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n");
    mb.append_tagged(
        zcs_core::ItemId(zcs_core::folder::INBOX),
        raw.as_bytes(),
        zcs_core::Flags(zcs_core::Flags::UNREAD),
        &[],
        0,
    )
    .await
    .expect("append");
}

#[tokio::test]
async fn a_read_grant_shows_the_folder_read_only_and_nothing_else() {
    let w = world().await;
    deliver(&w, "alice", "for bob to read").await;
    let mut alice = login(&w, "alice").await;
    let mut bob = login(&w, "bob").await;
    let mut carol = login(&w, "carol").await;

    // Nothing is shared yet.
    let list = ok(&mut bob, "LIST \"\" \"/home/*\"").await;
    assert!(list.is_empty(), "{list:?}");
    no(&mut bob, "SELECT \"/home/alice@share.test/INBOX\"").await;

    ok(&mut alice, "SETACL INBOX bob@share.test lr").await;
    let acl = ok(&mut alice, "GETACL INBOX").await;
    assert_eq!(
        acl,
        vec!["* ACL INBOX alice@share.test lrswipkcxteda bob@share.test lr"]
    );
    let rights = ok(&mut alice, "LISTRIGHTS INBOX bob@share.test").await;
    assert_eq!(
        rights,
        vec!["* LISTRIGHTS INBOX bob@share.test \"\" lr sw ipkc xted a"]
    );
    let ns = ok(&mut bob, "NAMESPACE").await;
    assert_eq!(
        ns,
        vec!["* NAMESPACE ((\"\" \"/\")) ((\"/home/\" \"/\")) NIL"]
    );

    let list = ok(&mut bob, "LIST \"\" \"/home/*\"").await;
    assert!(
        list.iter()
            .any(|l| l.ends_with("\"/home/alice@share.test/INBOX\"")),
        "{list:?}"
    );
    let mine = ok(&mut bob, "MYRIGHTS \"/home/alice@share.test/INBOX\"").await;
    assert_eq!(mine, vec!["* MYRIGHTS \"/home/alice@share.test/INBOX\" lr"]);
    // Bob may not read or change alice's grants.
    no(&mut bob, "GETACL \"/home/alice@share.test/INBOX\"").await;
    no(
        &mut bob,
        "SETACL \"/home/alice@share.test/INBOX\" bob@share.test +w",
    )
    .await;

    let (sel, done) = bob
        .cmd("s", "SELECT \"/home/alice@share.test/INBOX\"")
        .await;
    assert!(done.starts_with("s OK [READ-ONLY]"), "{done} {sel:?}");
    assert!(sel.contains(&"* 1 EXISTS".to_string()), "{sel:?}");
    let (fetched, done) = bob
        .cmd_raw("f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .await;
    assert!(done.starts_with("f OK"), "{done}");
    let text = String::from_utf8_lossy(&fetched.concat()).to_string();
    assert!(text.contains("for bob to read"), "{text}");
    no(&mut bob, "STORE 1 +FLAGS (\\Deleted)").await;
    no(&mut bob, "EXPUNGE").await;
    no(
        &mut bob,
        "APPEND \"/home/alice@share.test/INBOX\" {10+}\r\nSubject: x",
    )
    .await;
    // Copying out of the share into his own mailbox is reading.
    ok(&mut bob, "COPY 1 INBOX").await;
    let status = ok(&mut bob, "STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, vec!["* STATUS INBOX (MESSAGES 1)"]);

    // Carol has no grant: the folder does not exist for her.
    let list = ok(&mut carol, "LIST \"\" \"*\"").await;
    assert!(list.iter().all(|l| !l.contains("/home/")), "{list:?}");
    let done = no(&mut carol, "SELECT \"/home/alice@share.test/INBOX\"").await;
    assert!(done.contains("NONEXISTENT"), "{done}");

    // Revoked: gone at once. The session that had it selected loses the mailbox
    // (the protocol layer ends it as for a deleted mailbox); a new one sees nothing.
    ok(&mut alice, "DELETEACL INBOX bob@share.test").await;
    drop(bob);
    let mut bob = login(&w, "bob").await;
    let list = ok(&mut bob, "LIST \"\" \"/home/*\"").await;
    assert!(list.is_empty(), "{list:?}");
    no(&mut bob, "SELECT \"/home/alice@share.test/INBOX\"").await;
}

#[tokio::test]
async fn a_write_grant_allows_flags_appends_and_expunge() {
    let w = world().await;
    deliver(&w, "alice", "shared one").await;
    let mut alice = login(&w, "alice").await;
    let mut bob = login(&w, "bob").await;
    ok(&mut alice, "SETACL INBOX bob@share.test lrswipkxte").await;
    let mine = ok(&mut bob, "MYRIGHTS \"/home/alice@share.test/INBOX\"").await;
    assert_eq!(
        mine,
        vec!["* MYRIGHTS \"/home/alice@share.test/INBOX\" lrswipkcxted"]
    );
    let (_, done) = bob
        .cmd("s", "SELECT \"/home/alice@share.test/INBOX\"")
        .await;
    assert!(done.starts_with("s OK [READ-WRITE]"), "{done}");
    ok(&mut bob, "STORE 1 +FLAGS (\\Flagged)").await;
    ok(
        &mut bob,
        "APPEND \"/home/alice@share.test/INBOX\" {23+}\r\nSubject: from bob\r\n\r\nhi",
    )
    .await;
    let (untagged, _) = alice.cmd("a", "SELECT INBOX").await;
    assert!(untagged.contains(&"* 2 EXISTS".to_string()), "{untagged:?}");
    let flags = ok(&mut alice, "FETCH 1 FLAGS").await;
    assert!(flags[0].contains("\\Flagged"), "{flags:?}");
    ok(&mut bob, "STORE 2 +FLAGS (\\Deleted)").await;
    ok(&mut bob, "EXPUNGE").await;
    let status = ok(&mut alice, "STATUS INBOX (MESSAGES)").await;
    assert_eq!(status[0], "* STATUS INBOX (MESSAGES 1)");
    // A grant to everyone also shows the folder.
    let mut carol = login(&w, "carol").await;
    ok(&mut alice, "SETACL Sent anyone lr").await;
    let list = ok(&mut carol, "LIST \"\" \"/home/*\"").await;
    assert!(
        list.iter()
            .any(|l| l.ends_with("\"/home/alice@share.test/Sent\"")),
        "{list:?}"
    );
    no(&mut alice, "SETACL INBOX nobody@share.test lr").await;
    let bad = alice.cmd("b", "SETACL INBOX bob@share.test lz").await.1;
    assert!(bad.starts_with("b BAD"), "{bad}");
}

#[tokio::test]
async fn sessions_end_when_the_account_is_locked_or_deleted() {
    let w = world().await;
    let mut bob = login(&w, "bob").await;
    let mut carol = login(&w, "carol").await;
    ok(&mut bob, "NOOP").await;
    w.prov
        .modify_account(
            "bob@share.test",
            &[zcs_core::AttrEdit::Replace(
                "zimbraAccountStatus".into(),
                vec!["locked".into()],
            )],
        )
        .await
        .expect("lock");
    bob.send("n NOOP").await;
    assert_eq!(
        bob.read_text().await.as_deref(),
        Some("* BYE Account is no longer available")
    );
    ok(&mut carol, "SELECT INBOX").await;
    // An IDLE-ing session ends at its next poll.
    carol.send("i IDLE").await;
    let line = carol.read_text().await.expect("continuation");
    assert!(line.starts_with("+ "), "{line}");
    w.prov
        .delete_account("carol@share.test")
        .await
        .expect("delete");
    let line = carol.read_text().await.expect("bye");
    assert_eq!(line, "* BYE Account is no longer available");
}

async fn set_attr(w: &World, user: &str, attr: &str, value: &str) {
    w.prov
        .modify_account(
            &format!("{user}@share.test"),
            &[zcs_core::AttrEdit::Replace(attr.into(), vec![value.into()])],
        )
        .await
        .expect("modify account");
}

/// CREATE, RENAME and DELETE inside a share follow RFC 4314 §4 on Zimbra's rights:
/// `k` (insert) to create below a folder, `x` (delete) to delete or rename one; a
/// refusal is `NO [NOPERM]`, and names where nothing is shared reveal nothing.
#[tokio::test]
async fn folders_inside_a_share_need_the_create_and_delete_rights() {
    let w = world().await;
    let mut alice = login(&w, "alice").await;
    let mut bob = login(&w, "bob").await;
    ok(&mut alice, "CREATE Projects").await;
    ok(&mut alice, "SETACL Projects bob@share.test lr").await;
    let base = "/home/alice@share.test/Projects";

    let done = no(&mut bob, &format!("CREATE \"{base}/sub\"")).await;
    assert!(done.contains("[NOPERM]"), "{done}");
    // Nothing shared there, or no such account: the same refusal.
    for name in [
        "/home/alice@share.test/Other/x",
        "/home/nobody@share.test/x",
        "/home/x",
    ] {
        let done = no(&mut bob, &format!("CREATE \"{name}\"")).await;
        assert!(done.contains("[NOPERM]"), "{name}: {done}");
    }

    ok(&mut alice, "SETACL Projects bob@share.test lrk").await;
    ok(&mut bob, &format!("CREATE \"{base}/sub/deeper\"")).await;
    let list = ok(&mut alice, "LIST \"\" \"Projects/*\"").await;
    assert!(
        list.iter().any(|l| l.ends_with("Projects/sub/deeper\"")),
        "{list:?}"
    );
    let list = ok(&mut bob, &format!("LIST \"\" \"{base}/*\"")).await;
    assert!(
        list.iter().any(|l| l.ends_with("/Projects/sub/deeper\"")),
        "{list:?}"
    );
    // Renaming or deleting needs the delete right on the folder itself.
    let done = no(
        &mut bob,
        &format!("RENAME \"{base}/sub/deeper\" \"{base}/sub/renamed\""),
    )
    .await;
    assert!(done.contains("[NOPERM]"), "{done}");
    let done = no(&mut bob, &format!("DELETE \"{base}/sub/deeper\"")).await;
    assert!(done.contains("[NOPERM]"), "{done}");

    ok(&mut alice, "SETACL Projects bob@share.test lrkx").await;
    ok(
        &mut bob,
        &format!("RENAME \"{base}/sub/deeper\" \"{base}/sub/renamed\""),
    )
    .await;
    let list = ok(&mut alice, "LIST \"\" \"Projects/*\"").await;
    assert!(
        list.iter().any(|l| l.ends_with("Projects/sub/renamed\"")),
        "{list:?}"
    );
    // A folder never leaves its owner's mailbox.
    let done = no(&mut bob, &format!("RENAME \"{base}/sub/renamed\" Mine")).await;
    assert!(done.contains("[NOPERM]"), "{done}");
    ok(&mut bob, &format!("DELETE \"{base}/sub/renamed\"")).await;
    ok(&mut bob, &format!("DELETE \"{base}/sub\"")).await;
    let list = ok(&mut alice, "LIST \"\" \"Projects/*\"").await;
    assert!(list.is_empty(), "{list:?}");
    // The owner's system folders stay, whatever the grant.
    ok(&mut alice, "SETACL INBOX bob@share.test lrkxtea").await;
    no(&mut bob, "DELETE \"/home/alice@share.test/INBOX\"").await;
}

/// Keywords on shared messages are the owner's tags: the write right sets them; APPEND
/// with the insert right keeps them.
#[tokio::test]
async fn keywords_on_shared_messages_need_the_write_right() {
    let w = world().await;
    deliver(&w, "alice", "tag me").await;
    let mut alice = login(&w, "alice").await;
    let mut bob = login(&w, "bob").await;
    let inbox = "\"/home/alice@share.test/INBOX\"";

    ok(&mut alice, "SETACL INBOX bob@share.test lrx").await;
    ok(&mut bob, &format!("SELECT {inbox}")).await;
    let done = no(&mut bob, "STORE 1 +FLAGS ($Important)").await;
    assert!(done.contains("[NOPERM]"), "{done}");

    ok(&mut alice, "SETACL INBOX bob@share.test lrswi").await;
    ok(&mut bob, &format!("SELECT {inbox}")).await;
    ok(&mut bob, "STORE 1 +FLAGS ($Important)").await;
    ok(
        &mut bob,
        &format!("APPEND {inbox} ($Later \\Seen) {{16+}}\r\nSubject: kw\r\n\r\nx"),
    )
    .await;
    ok(&mut alice, "SELECT INBOX").await;
    let flags = ok(&mut alice, "FETCH 1:2 FLAGS").await;
    assert!(flags[0].contains("$Important"), "{flags:?}");
    assert!(
        flags[1].contains("$Later") && flags[1].contains("\\Seen"),
        "{flags:?}"
    );
    let mine = ok(&mut bob, "FETCH 1 FLAGS").await;
    assert!(mine.iter().any(|l| l.contains("$Important")), "{mine:?}");
    ok(&mut bob, "STORE 1 -FLAGS ($Important)").await;
    // Alice's session may first answer from its snapshot, then report the change.
    let flags = ok(&mut alice, "FETCH 1 FLAGS").await;
    let last = flags.last().expect("a FETCH line");
    assert!(!last.contains("$Important"), "{flags:?}");
}

#[tokio::test]
async fn sessions_end_when_imap_is_turned_off() {
    let w = world().await;
    for attr in ["zimbraImapEnabled", "zimbraPrefImapEnabled"] {
        let mut bob = login(&w, "bob").await;
        ok(&mut bob, "NOOP").await;
        set_attr(&w, "bob", attr, "FALSE").await;
        bob.send("n NOOP").await;
        assert_eq!(
            bob.read_text().await.as_deref(),
            Some("* BYE Account is no longer available"),
            "{attr}"
        );
        set_attr(&w, "bob", attr, "TRUE").await;
    }
}

async fn account_id(w: &World, user: &str) -> zcs_core::ZimbraId {
    w.prov
        .find_account(&format!("{user}@share.test"))
        .await
        .expect("lookup")
        .expect("account")
        .id
}

/// RENAME and DELETE of a mountpoint act on the mountpoint (the account's own link),
/// never on the owner's folder, and need no right on the share.
#[tokio::test]
async fn a_mountpoint_is_renamed_and_deleted_not_the_shared_folder() {
    let w = world().await;
    let mut alice = login(&w, "alice").await;
    ok(&mut alice, "CREATE Projects/sub").await;
    ok(&mut alice, "SETACL Projects bob@share.test lr").await;
    let projects = {
        let mb = w
            .store
            .mailbox(account_id(&w, "alice").await)
            .await
            .expect("mb");
        mb.folders()
            .await
            .expect("folders")
            .into_iter()
            .find(|f| f.path == "/Projects")
            .expect("Projects")
            .id
    };
    let bob_mb = w
        .store
        .mailbox(account_id(&w, "bob").await)
        .await
        .expect("mb");
    bob_mb
        .create_mountpoint(
            zcs_core::ItemId(zcs_core::folder::USER_ROOT),
            "Alice Projects",
            account_id(&w, "alice").await,
            projects,
            "message",
        )
        .await
        .expect("mountpoint");
    let mut bob = login(&w, "bob").await;
    let list = ok(&mut bob, "LIST \"\" \"Alice Projects*\"").await;
    assert_eq!(list.len(), 2, "{list:?}");

    // Renamed (and moved below one of bob's folders), with what is seen through it.
    ok(&mut bob, "CREATE Shares").await;
    ok(&mut bob, "RENAME \"Alice Projects\" Shares/AP").await;
    let list = ok(&mut bob, "LIST \"\" *").await;
    assert!(
        list.iter().any(|l| l.ends_with(" \"Shares/AP\"")),
        "{list:?}"
    );
    assert!(
        list.iter().any(|l| l.ends_with(" \"Shares/AP/sub\"")),
        "{list:?}"
    );
    assert!(
        !list.iter().any(|l| l.contains("Alice Projects")),
        "{list:?}"
    );
    ok(&mut bob, "SELECT Shares/AP").await;
    // A case-only rename works too.
    ok(&mut bob, "RENAME Shares/AP Shares/ap").await;
    let list = ok(&mut bob, "LIST \"\" Shares/*").await;
    assert!(
        list.iter().any(|l| l.ends_with(" \"Shares/ap\"")),
        "{list:?}"
    );
    // The owner's folder kept its name and place.
    let list = ok(&mut alice, "LIST \"\" Projects*").await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(bob_mb.mountpoints().await.expect("mps").len(), 1);

    // A mountpoint cannot move into another share.
    ok(&mut alice, "CREATE Open").await;
    ok(&mut alice, "SETACL Open bob@share.test lrkx").await;
    let done = no(
        &mut bob,
        "RENAME Shares/ap \"/home/alice@share.test/Open/ap\"",
    )
    .await;
    assert!(done.contains("[NOPERM]"), "{done}");

    // DELETE removes the mountpoint, subfolders seen through it included; alice keeps
    // everything.
    ok(&mut bob, "DELETE Shares/ap").await;
    let list = ok(&mut bob, "LIST \"\" Shares/*").await;
    assert!(list.is_empty(), "{list:?}");
    assert!(bob_mb.mountpoints().await.expect("mps").is_empty());
    let list = ok(&mut alice, "LIST \"\" Projects*").await;
    assert_eq!(list.len(), 2, "{list:?}");
    // The share itself is still there under Other Users.
    let list = ok(&mut bob, "LIST \"\" \"/home/alice@share.test/Projects\"").await;
    assert_eq!(list.len(), 1, "{list:?}");
}
