//! The query terms the store's metadata answers, each searched end to end on a real
//! store and tantivy index (the parser and planner have their own tests): `is:` flags
//! beyond read/flagged, `is:solo`, the `is:` tests of the account's own addresses,
//! `conv-count:`/`conv-minm:`/`conv-maxm:`, `modseq:`, `item:` lists and ranges,
//! `message:`, `day:`/`week:`/`month:`, `mdate:`, `conv-start:`/`conv-end:`, plus the
//! index fields new this session (`envto:`, `envfrom:`) and a stop-word wildcard
//! through the evaluator.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_index::{IndexBackend, TantivyIndex, document_from_message};
use zcs_server::search::{SearchParams, search_text};
use zcs_store::{Mailbox, Store, StoreConfig};

fn ms(y: i32, m: u32, d: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
        .single()
        .expect("valid date")
        .timestamp_millis()
}

struct Fixture {
    _dir: tempfile::TempDir,
    index: Arc<dyn IndexBackend>,
    mb: Mailbox,
    ids: HashMap<&'static str, ItemId>,
}

async fn add(
    f: &mut Fixture,
    name: &'static str,
    folder_id: i32,
    raw: &str,
    flags: u32,
    date: i64,
) {
    let raw = raw.replace('\n', "\r\n");
    let meta =
        f.mb.append(ItemId(folder_id), raw.as_bytes(), Flags(flags), date)
            .await
            .expect("append");
    let mut doc = document_from_message(meta.id, raw.as_bytes());
    doc.date_ms = date;
    f.index.index(f.mb.id(), vec![doc]).expect("index");
    f.ids.insert(name, meta.id);
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open(StoreConfig::under(dir.path()))
            .await
            .expect("store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&dir.path().join("index")).expect("index"));
    let mb = store.mailbox(ZimbraId::new()).await.expect("mailbox");
    let mut f = Fixture {
        _dir: dir,
        index,
        mb,
        ids: HashMap::new(),
    };
    add(
        &mut f,
        "report",
        folder::INBOX,
        "From: alice@example.com\nTo: me@x.test\nSubject: Quarterly report\n\
         Message-ID: <r1@example.com>\n\nThe budget numbers are in.\n",
        Flags::ANSWERED,
        ms(2020, 1, 10),
    )
    .await;
    add(
        &mut f,
        "reply",
        folder::SENT,
        "From: me@x.test\nTo: alice@example.com\nSubject: Re: Quarterly report\n\
         In-Reply-To: <r1@example.com>\nReferences: <r1@example.com>\n\nBudget approved.\n",
        Flags::SENT,
        ms(2020, 1, 11),
    )
    .await;
    add(
        &mut f,
        "lunch",
        folder::INBOX,
        "From: bob@example.org\nTo: me@x.test\nSubject: Lunch plans\n\nPizza on friday?\n",
        Flags::FORWARDED,
        ms(2020, 2, 1),
    )
    .await;
    add(
        &mut f,
        "draft",
        folder::DRAFTS,
        "From: me@x.test\nTo: dave@example.net\nSubject: unfinished thoughts\n\n\
         Things to say.\n",
        Flags::DRAFT,
        ms(2020, 3, 1),
    )
    .await;
    add(
        &mut f,
        "archived",
        folder::INBOX,
        "X-Envelope-From: <outside@elsewhere.example>\nX-Envelope-To: <b@example.com>\n\
         From: outside@elsewhere.example\nTo: list@example.com\nSubject: New License Key\n\n\
         This is the key.\n",
        Flags::INVITE,
        ms(2020, 3, 1),
    )
    .await;
    f.index.commit().expect("commit");
    f
}

fn params() -> SearchParams {
    SearchParams {
        my_addresses: vec!["me@x.test".into()],
        now: zcs_server::search::zone::now_in_zone(
            None,
            Utc.with_ymd_and_hms(2020, 3, 2, 9, 0, 0)
                .single()
                .expect("valid"),
        ),
        ..SearchParams::default()
    }
}

impl Fixture {
    async fn names(&self, q: &str) -> Vec<&'static str> {
        let r = search_text(&self.mb, &self.index, q, &params())
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut v: Vec<&'static str> = r
            .hits
            .iter()
            .map(|m| {
                self.ids
                    .iter()
                    .find(|(_, id)| **id == m.id)
                    .map_or("?", |(k, _)| *k)
            })
            .collect();
        v.sort_unstable();
        v
    }
}

#[tokio::test]
async fn state_terms_find_what_the_store_says() {
    let f = fixture().await;
    let id = |n: &str| f.ids[n].0;
    let report = f.mb.message(f.ids["report"]).await.expect("report");
    let reply = f.mb.message(f.ids["reply"]).await.expect("reply");
    let lunch = f.mb.message(f.ids["lunch"]).await.expect("lunch");
    assert_eq!(
        report.conv, reply.conv,
        "the reply joins the report's conversation"
    );

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("is:replied".into(), vec!["report"]),
        (
            "is:unreplied".into(),
            vec!["archived", "draft", "lunch", "reply"],
        ),
        ("is:forwarded".into(), vec!["lunch"]),
        (
            "is:unforwarded".into(),
            vec!["archived", "draft", "reply", "report"],
        ),
        ("is:draft".into(), vec!["draft"]),
        ("is:invite".into(), vec!["archived"]),
        (
            "is:local".into(),
            vec!["archived", "draft", "lunch", "reply", "report"],
        ),
        ("is:solo".into(), vec!["archived", "draft", "lunch"]),
        // The account's own addresses in the headers.
        ("is:tome".into(), vec!["lunch", "report"]),
        ("is:fromme".into(), vec!["draft", "reply"]),
        ("is:ccme".into(), vec![]),
        (
            "is:tofromme".into(),
            vec!["draft", "lunch", "reply", "report"],
        ),
        ("is:toccme".into(), vec!["lunch", "report"]),
        ("is:fromccme".into(), vec!["draft", "reply"]),
        (
            "is:tofromccme".into(),
            vec!["draft", "lunch", "reply", "report"],
        ),
        ("conv-count:2".into(), vec!["reply", "report"]),
        ("conv-count:>1".into(), vec!["reply", "report"]),
        ("conv-count:<2".into(), vec!["archived", "draft", "lunch"]),
        ("conv-minm:2".into(), vec!["reply", "report"]),
        ("conv-maxm:1".into(), vec!["archived", "draft", "lunch"]),
        (format!("conv:{}", report.conv.0), vec!["reply", "report"]),
        (
            format!("-conv:{}", report.conv.0),
            vec!["archived", "draft", "lunch"],
        ),
        // (The reply's arrival touched the report: they share its change number.)
        (format!("modseq:<{}", lunch.modseq), vec!["reply", "report"]),
        (format!("modseq:{}", lunch.modseq), vec!["lunch"]),
        (
            format!("modseq:>={}", lunch.modseq),
            vec!["archived", "draft", "lunch"],
        ),
        (
            format!("modseq:>{}", lunch.modseq),
            vec!["archived", "draft"],
        ),
        (
            format!("item:{{{},{}}}", id("report"), id("lunch")),
            vec!["lunch", "report"],
        ),
        (
            format!("item:{{{}--{}}}", id("reply"), id("draft")),
            vec!["draft", "lunch", "reply"],
        ),
        (
            "item:all".into(),
            vec!["archived", "draft", "lunch", "reply", "report"],
        ),
        (format!("message:{}", id("lunch")), vec!["lunch"]),
        // Dates read at 2020-03-02 09:00 UTC.
        ("day:-1d".into(), vec!["archived", "draft"]),
        ("month:0m".into(), vec!["archived", "draft"]),
        // Weeks start on Sunday: 2020-03-01 to 03-07.
        ("week:0w".into(), vec!["archived", "draft"]),
        ("week:-1w".into(), vec![]),
        ("month:-1m".into(), vec!["lunch"]),
        ("date:-2m".into(), vec!["reply", "report"]),
        (
            "mdate:>=02/01/2020".into(),
            vec!["archived", "draft", "lunch"],
        ),
        ("conv-start:01/10/2020".into(), vec!["reply", "report"]),
        ("conv-end:01/11/2020".into(), vec!["reply", "report"]),
        ("conv-end:<01/11/2020".into(), vec![]),
        // Envelope fields and a stop-word wildcard, through the evaluator.
        ("envto:b@example.com".into(), vec!["archived"]),
        ("envfrom:elsewhere.example".into(), vec!["archived"]),
        ("to:b@example.com".into(), vec![]),
        ("thi*".into(), vec!["archived", "draft"]),
        ("subject:th*".into(), vec!["draft"]),
        // "The budget numbers are in." holds the stop word "the".
        ("th* -in:drafts".into(), vec!["archived", "report"]),
    ];
    let mut wrong = Vec::new();
    for (q, want) in &cases {
        let got = f.names(q).await;
        if got != *want {
            wrong.push(format!("{q}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
