//! The search evaluator on a real store and tantivy index: text terms from the index,
//! item state from the store's metadata, boolean semantics, sorting, paging and
//! per-mailbox isolation.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_index::{IndexBackend, TantivyIndex, document_from_message};
use zcs_server::search::{SearchError, SearchParams, SortBy, search_text};
use zcs_store::{Mailbox, Store, StoreConfig};

fn ms(y: i32, m: u32, d: u32) -> i64 {
    chrono::Utc
        .with_ymd_and_hms(y, m, d, 12, 0, 0)
        .unwrap()
        .timestamp_millis()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
    mb: Mailbox,
    /// Item ids by short name.
    ids: std::collections::HashMap<&'static str, ItemId>,
}

async fn add(
    mb: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    folder_id: ItemId,
    raw: &str,
    flags: u32,
    tags: &[&str],
    date: i64,
) -> ItemId {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let raw = raw.replace('\n', "\r\n");
    let meta = mb
        .append_tagged(folder_id, raw.as_bytes(), Flags(flags), &tags, date)
        .await
        .expect("append");
    let mut doc = document_from_message(meta.id, raw.as_bytes());
    doc.date_ms = date;
    index.index(mb.id(), vec![doc]).expect("index");
    meta.id
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        Store::open(StoreConfig::under(dir.path()))
            .await
            .expect("store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&dir.path().join("index")).expect("index"));
    let mb = store.mailbox(ZimbraId::new()).await.expect("mailbox");
    let inbox = ItemId(folder::INBOX);
    let projects = mb
        .create_folder(ItemId(folder::USER_ROOT), "Projects")
        .await
        .expect("folder");
    let alpha = mb.create_folder(projects.id, "Alpha").await.expect("sub");

    let mut ids = std::collections::HashMap::new();
    ids.insert(
        "report",
        add(
            &mb,
            &index,
            inbox,
            "From: Alice Smith <alice@example.com>\nTo: me@x.test\nSubject: Quarterly report\n\
             Message-ID: <r1@example.com>\n\nThe budget numbers are in.\n",
            Flags::UNREAD,
            &[],
            ms(2020, 1, 10),
        )
        .await,
    );
    ids.insert(
        "lunch",
        add(
            &mb,
            &index,
            inbox,
            "From: bob@example.org\nTo: carol@y.test\nCc: me@x.test\nSubject: Lunch plans\n\n\
             Pizza on friday?\n",
            Flags::FLAGGED | Flags::URGENT,
            &["work"],
            ms(2020, 2, 1),
        )
        .await,
    );
    ids.insert(
        "reply",
        add(
            &mb,
            &index,
            ItemId(folder::SENT),
            "From: me@x.test\nTo: alice@example.com\nSubject: Re: Quarterly report\n\
             In-Reply-To: <r1@example.com>\nReferences: <r1@example.com>\n\n\
             Budget approved.\n",
            Flags::SENT,
            &[],
            ms(2020, 1, 11),
        )
        .await,
    );
    ids.insert(
        "trashed",
        add(
            &mb,
            &index,
            ItemId(folder::TRASH),
            "From: alice@example.com\nTo: me@x.test\nSubject: old budget\n\nbudget from 2019\n",
            0,
            &[],
            ms(2019, 12, 1),
        )
        .await,
    );
    let big_body = "launch ".repeat(400);
    ids.insert(
        "alpha",
        add(
            &mb,
            &index,
            alpha.id,
            &format!(
                "From: dave@example.net\nTo: me@x.test\nSubject: Alpha launch\n\
                 MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n\
                 --b\nContent-Type: text/plain\n\n{big_body}\n\
                 --b\nContent-Type: text/plain; name=plan.txt\n\
                 Content-Disposition: attachment; filename=plan.txt\n\n\
                 rocket schedule\n--b--\n"
            ),
            Flags::BULK,
            &[],
            ms(2020, 3, 1),
        )
        .await,
    );
    index.commit().expect("commit");
    Fixture {
        _dir: dir,
        store,
        index,
        mb,
        ids,
    }
}

fn params() -> SearchParams {
    SearchParams {
        my_addresses: vec!["me@x.test".into(), "Me@Alias.test".into()],
        now: zcs_server::search::zone::now_in_zone(
            None,
            Utc.with_ymd_and_hms(2020, 3, 2, 9, 0, 0).unwrap(),
        ),
        ..SearchParams::default()
    }
}

impl Fixture {
    /// The short names of the hits of `q`, sorted by name.
    async fn names(&self, q: &str) -> Vec<&'static str> {
        self.names_with(q, &params()).await
    }

    async fn names_with(&self, q: &str, p: &SearchParams) -> Vec<&'static str> {
        let r = search_text(&self.mb, &self.index, q, p)
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut v: Vec<&'static str> = r.hits.iter().map(|m| self.name_of(m.id)).collect();
        v.sort_unstable();
        v
    }

    fn name_of(&self, id: ItemId) -> &'static str {
        self.ids
            .iter()
            .find(|(_, v)| **v == id)
            .map_or("?", |(k, _)| k)
    }
}

#[tokio::test]
async fn queries_find_what_a_person_expects() {
    let f = fixture().await;
    let cases: &[(&str, &[&str])] = &[
        // Text from the index; Trash stays out unless named.
        ("budget", &["reply", "report"]),
        ("budget is:anywhere", &["reply", "report", "trashed"]),
        ("budget in:trash", &["trashed"]),
        ("\"budget numbers\"", &["report"]),
        // Stop words: dropped from phrases (keeping the gap), no constraint alone.
        ("\"the budget numbers are in\"", &["report"]),
        ("\"numbers the in\"", &["report"]),
        ("the in:sent", &["reply"]),
        ("budg*", &["reply", "report"]),
        ("subject:quarterly", &["reply", "report"]),
        ("subject:quarterly -in:sent", &["report"]),
        ("from:alice", &["report"]),
        ("from:example.com", &["report"]),
        ("from:example", &["alpha", "lunch", "report"]),
        ("to:alice@example.com", &["reply"]),
        ("tofrom:alice", &["reply", "report"]),
        ("cc:me@x.test", &["lunch"]),
        ("pizza OR rocket", &["alpha", "lunch"]),
        ("pizza || budget", &["lunch", "reply", "report"]),
        ("budget && -in:sent", &["report"]),
        ("!budget", &["alpha", "lunch"]),
        ("NOT (budget OR pizza)", &["alpha"]),
        ("filename:plan.txt", &["alpha"]),
        ("has:attachment", &["alpha"]),
        ("msgid:r1@example.com", &["report"]),
        // Item state from the store.
        ("is:unread", &["report"]),
        ("is:read in:inbox", &["lunch"]),
        ("is:flagged", &["lunch"]),
        ("is:unflagged in:inbox", &["report"]),
        ("is:sent", &["reply"]),
        ("is:received in:inbox", &["lunch", "report"]),
        ("tag:work", &["lunch"]),
        ("tag:WORK", &["lunch"]),
        ("tag:\\Flagged", &["lunch"]),
        ("priority:high", &["lunch"]),
        ("priority:low", &["alpha"]),
        ("priority:normal", &["reply", "report"]),
        ("in:inbox", &["lunch", "report"]),
        ("in:inbox is:unread or tag:work", &["lunch", "report"]),
        ("in:(inbox or sent)", &["lunch", "reply", "report"]),
        ("under:projects", &["alpha"]),
        ("in:projects", &[]),
        ("in:projects/alpha", &["alpha"]),
        ("in:/Projects/Alpha", &["alpha"]),
        ("inid:2", &["lunch", "report"]),
        ("underid:1 -in:inbox -in:sent", &["alpha", "trashed"]),
        ("after:2020-01-10 before:2020-02-01", &["reply"]),
        ("date:01/11/2020", &["reply"]),
        ("date:>=2020-02-01", &["alpha", "lunch"]),
        ("after:-2d", &["alpha"]),
        ("date:yesterday", &["alpha"]),
        ("year:-1y is:anywhere", &["trashed"]),
        ("larger:1kb", &["alpha"]),
        ("smaller:1kb in:inbox", &["lunch", "report"]),
        ("size:>2kb", &["alpha"]),
        ("item:none", &[]),
        ("is:tome", &["alpha", "report"]),
        ("is:ccme", &["lunch"]),
        ("is:fromme", &["reply"]),
        ("is:tofromccme in:inbox", &["lunch", "report"]),
        ("subject:<b", &["alpha"]),
        ("subject:>=q in:inbox", &["report"]),
        ("-in:sent budget", &["report"]),
        ("is:remote", &[]),
        ("appt-start:>-1y", &[]),
        ("foo* nothing-matches-this", &[]),
    ];
    let mut failures = Vec::new();
    for &(q, want) in cases {
        let got = f.names(q).await;
        if got != want {
            failures.push(format!("{q:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // item: and conv: by id.
    let report = f.ids["report"];
    assert_eq!(f.names(&format!("item:{report}")).await, ["report"]);
    let meta = f.mb.message(report).await.unwrap();
    let conv = f.names(&format!("conv:{}", meta.conv)).await;
    assert!(conv.contains(&"report"), "{conv:?}");
}

#[tokio::test]
async fn state_changes_need_no_reindexing() {
    let f = fixture().await;
    let report = f.ids["report"];
    assert!(f.names("budget is:flagged").await.is_empty());
    f.mb.set_flags(&[report], Flags::FLAGGED | Flags::UNREAD, true)
        .await
        .unwrap();
    f.mb.set_flags(&[report], Flags::UNREAD, false)
        .await
        .unwrap();
    assert_eq!(f.names("budget is:flagged").await, ["report"]);
    assert_eq!(f.names("is:unread").await, Vec::<&str>::new());
    f.mb.move_items(&[report], ItemId(folder::TRASH))
        .await
        .unwrap();
    assert_eq!(f.names("budget").await, ["reply"]);
    assert_eq!(f.names("budget in:trash").await, ["report", "trashed"]);
}

#[tokio::test]
async fn sorting_and_paging() {
    let f = fixture().await;
    let order = |r: &zcs_server::search::SearchResults| -> Vec<&'static str> {
        r.hits.iter().map(|m| f.name_of(m.id)).collect()
    };
    let mut p = params();
    let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
        .await
        .unwrap();
    assert_eq!(r.sort, SortBy::DateDesc);
    assert_eq!(order(&r), ["alpha", "lunch", "reply", "report", "trashed"]);

    let r = search_text(&f.mb, &f.index, "is:anywhere sort:dateAsc", &p)
        .await
        .unwrap();
    assert_eq!(order(&r), ["trashed", "report", "reply", "lunch", "alpha"]);

    p.sort = Some("subjAsc".into());
    let r = search_text(&f.mb, &f.index, "in:inbox OR in:sent", &p)
        .await
        .unwrap();
    assert_eq!(order(&r), ["lunch", "report", "reply"]);
    p.sort = Some("sizeDesc".into());
    let r = search_text(&f.mb, &f.index, "-in:trash", &p).await.unwrap();
    assert_eq!(order(&r)[0], "alpha");
    p.sort = Some("nameAsc".into());
    let r = search_text(&f.mb, &f.index, "in:inbox", &p).await.unwrap();
    assert_eq!(order(&r), ["report", "lunch"]);

    // Pages of two, by offset and by cursor.
    p.sort = None;
    p.limit = 2;
    let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
        .await
        .unwrap();
    assert_eq!(
        (order(&r), r.total, r.more),
        (vec!["alpha", "lunch"], 5, true)
    );
    p.offset = 4;
    let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
        .await
        .unwrap();
    assert_eq!((order(&r), r.more), (vec!["trashed"], false));
    p.offset = 0;
    p.cursor = Some(f.ids["lunch"]);
    let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
        .await
        .unwrap();
    assert_eq!((order(&r), r.offset), (vec!["reply", "report"], 2));
    p.offset = 99;
    p.cursor = None;
    let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
        .await
        .unwrap();
    assert!(r.hits.is_empty() && !r.more);

    // Without the full count the same pages come back, `more` stays exact and the
    // total stops one past the page.
    p.count_total = false;
    for (offset, page, total, more) in [
        (0, vec!["alpha", "lunch"], 3, true),
        (2, vec!["reply", "report"], 5, true),
        (3, vec!["report", "trashed"], 5, false),
        (4, vec!["trashed"], 5, false),
        (99, vec![], 5, false),
    ] {
        p.offset = offset;
        let r = search_text(&f.mb, &f.index, "is:anywhere", &p)
            .await
            .unwrap();
        assert_eq!(
            (order(&r), r.total, r.more),
            (page, total, more),
            "{offset}"
        );
    }
}

#[tokio::test]
async fn parse_errors_are_query_parse_errors() {
    let f = fixture().await;
    let e = search_text(&f.mb, &f.index, "subject:(foo", &params())
        .await
        .unwrap_err();
    assert!(
        matches!(e, SearchError::Parse(ref p) if p.position == 12),
        "{e}"
    );
    assert_eq!(e.fault_code().as_str(), "mail.QUERY_PARSE_ERROR");
    let e = search_text(&f.mb, &f.index, "bogus:x", &params())
        .await
        .unwrap_err();
    assert_eq!(e.fault_code(), zcs_core::FaultCode::QueryParseError);
}

#[tokio::test]
async fn mailboxes_are_isolated() {
    let f = fixture().await;
    let other = f.store.mailbox(ZimbraId::new()).await.unwrap();
    add(
        &other,
        &f.index,
        ItemId(folder::INBOX),
        "From: x@y.test\nSubject: budget too\n\nbudget\n",
        0,
        &[],
        ms(2020, 1, 1),
    )
    .await;
    f.index.commit().unwrap();
    let r = search_text(&other, &f.index, "budget", &params())
        .await
        .unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(f.names("budget").await, ["reply", "report"]);

    // Dropping one mailbox's index leaves the other's untouched.
    f.index.delete_mailbox(other.id()).unwrap();
    f.index.commit().unwrap();
    assert_eq!(f.index.doc_count(other.id()).unwrap(), 0);
    assert_eq!(f.index.doc_count(f.mb.id()).unwrap(), 5);
    assert_eq!(f.names("budget").await, ["reply", "report"]);
    let r = search_text(&other, &f.index, "budget", &params())
        .await
        .unwrap();
    assert_eq!(r.total, 0);
    // State-only queries still see the other mailbox's messages (the store has them).
    let r = search_text(&other, &f.index, "in:inbox", &params())
        .await
        .unwrap();
    assert_eq!(r.total, 1);
}

#[tokio::test]
async fn conversations_group_to_one_hit() {
    let f = fixture().await;
    let mut p = params();
    p.group_by_conversation = true;
    let plain = search_text(&f.mb, &f.index, "budget", &params())
        .await
        .unwrap();
    let grouped = search_text(&f.mb, &f.index, "budget", &p).await.unwrap();
    let convs: std::collections::HashSet<_> = plain.hits.iter().map(|m| m.conv).collect();
    assert_eq!(grouped.total, convs.len());
}

#[tokio::test]
async fn cross_mailbox_search_merges_in_order() {
    use zcs_server::search::{MailboxScope, search_mailboxes};
    let f = fixture().await;
    let other = f.store.mailbox(ZimbraId::new()).await.unwrap();
    let theirs = add(
        &other,
        &f.index,
        ItemId(folder::INBOX),
        "From: x@y.test\nTo: other@x.test\nSubject: budget too\n\nbudget\n",
        0,
        &[],
        ms(2020, 1, 15),
    )
    .await;
    f.index.commit().unwrap();
    let scopes = vec![
        MailboxScope {
            account: "me@x.test".into(),
            account_id: f.mb.account(),
            mailbox: f.mb.clone(),
            addresses: vec!["me@x.test".into()],
        },
        MailboxScope {
            account: "other@x.test".into(),
            account_id: other.account(),
            mailbox: other.clone(),
            addresses: vec!["other@x.test".into()],
        },
    ];
    let q = zcs_index::query::parse("budget").unwrap();
    let (hits, total) = search_mailboxes(&scopes, &f.index, &q, &params())
        .await
        .unwrap();
    assert_eq!(total, 3);
    let got: Vec<(usize, ItemId)> = hits.iter().map(|h| (h.scope, h.message.id)).collect();
    assert_eq!(
        got,
        [(1, theirs), (0, f.ids["reply"]), (0, f.ids["report"])],
        "newest first across mailboxes"
    );

    // is:tome uses each mailbox's own addresses.
    let q = zcs_index::query::parse("is:tome budget").unwrap();
    let (hits, _) = search_mailboxes(&scopes, &f.index, &q, &params())
        .await
        .unwrap();
    let got: Vec<usize> = hits.iter().map(|h| h.scope).collect();
    assert_eq!(got, [1, 0]);

    // Paging over the merged list.
    let mut p = params();
    p.offset = 1;
    p.limit = 1;
    let q = zcs_index::query::parse("budget").unwrap();
    let (hits, total) = search_mailboxes(&scopes, &f.index, &q, &p).await.unwrap();
    assert_eq!((hits.len(), total), (1, 3));
    assert_eq!(hits[0].message.id, f.ids["reply"]);
}
