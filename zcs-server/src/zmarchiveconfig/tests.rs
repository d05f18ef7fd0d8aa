//! `zmarchiveconfig` against a SQLite directory: spec 05 test ideas 6 (enable without a
//! COS), 7 (a new date template moves the archive and keeps the history), 8 (a bad name
//! template changes nothing), 9 (a third-party address creates no account) and 10
//! (disable keeps the history).

use std::sync::Arc;

use zcs_core::{AttrEdit, Attrs};
use zcs_directory::{AuthRegistry, EntryKey, Provisioning, SqlDirectory};

use super::*;

struct Env {
    _tmp: tempfile::TempDir,
    prov: Provisioning,
}

async fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
        .await
        .expect("open");
    let prov = Provisioning::new(Arc::new(dir), AuthRegistry::new());
    prov.create_domain("example.com", Attrs::new())
        .await
        .expect("domain");
    prov.create_account("user@example.com", Some("Passw0rd!"), Attrs::new())
        .await
        .expect("account");
    Env { _tmp: tmp, prov }
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn may_10() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2007, 5, 10)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("date")
}

async fn go(e: &Env, line: &str) -> ServiceResult<Done> {
    let cmd = parse(&words(line)).expect("parses");
    run(&e.prov, &cmd, may_10()).await
}

async fn attrs(e: &Env, name: &str) -> Attrs {
    e.prov.get_account(name).await.expect("account").attrs
}

#[test]
fn command_words() {
    assert_eq!(
        parse(&words("disable u@x.test")),
        Ok(Command::Disable {
            account: "u@x.test".into()
        })
    );
    let Ok(Command::Enable(en)) = parse(&words(
        "enable u@x.test archive-address a@y.test archive-create FALSE zimbraNotes n",
    )) else {
        panic!("enable parses");
    };
    assert_eq!(en.address.as_deref(), Some("a@y.test"));
    assert!(!en.create);
    assert_eq!(en.attrs, [("zimbraNotes".to_string(), "n".to_string())]);
    assert!(parse(&words("enable")).is_err());
    assert!(parse(&words("enable u@x.test archive-cos")).is_err());
    assert!(parse(&words("enable u@x.test archive-create maybe")).is_err());
    assert!(parse(&words("list u@x.test")).is_err());
}

#[tokio::test]
async fn enable_without_cos_then_new_template_then_disable() {
    let e = env().await;
    let done = go(&e, "enable user@example.com").await.expect("enable");
    let first = "user-20070510@example.com.archive";
    assert_eq!(
        done,
        Done::Enabled {
            account: "user@example.com".into(),
            address: first.into(),
            created: true
        }
    );
    let archive = attrs(&e, first).await;
    for (name, value) in [
        ("zimbraIsSystemResource", "TRUE"),
        ("zimbraMailQuota", "0"),
        ("amavisBypassSpamChecks", "TRUE"),
        ("amavisBypassVirusChecks", "TRUE"),
        ("zimbraHideInGal", "TRUE"),
        ("zimbraArchiveEnabled", "FALSE"),
    ] {
        assert_eq!(archive.get(name), Some(value), "{name}");
    }
    let user = attrs(&e, "user@example.com").await;
    assert_eq!(user.get("zimbraArchiveEnabled"), Some("TRUE"));
    assert_eq!(user.get("amavisArchiveQuarantineTo"), Some(first));
    assert_eq!(user.get_all("zimbraArchiveAccount"), [first]);

    // Idea 7: yyyyMM moves the archive, the history keeps both.
    let edit = [AttrEdit::Replace(
        "zimbraArchiveAccountDateTemplate".into(),
        vec!["yyyyMM".into()],
    )];
    e.prov
        .modify_account("user@example.com", &edit)
        .await
        .expect("template");
    go(&e, "enable user@example.com").await.expect("again");
    let second = "user-200705@example.com.archive";
    let user = attrs(&e, "user@example.com").await;
    assert_eq!(user.get("amavisArchiveQuarantineTo"), Some(second));
    assert_eq!(user.get_all("zimbraArchiveAccount"), [first, second]);
    assert!(e.prov.find_account(second).await.expect("find").is_some());
    // The same run again changes nothing and creates nothing.
    let again = go(&e, "enable user@example.com").await.expect("same");
    assert!(matches!(again, Done::Enabled { created: false, .. }));

    // Idea 10: disable keeps the history.
    go(&e, "disable user@example.com").await.expect("disable");
    let user = attrs(&e, "user@example.com").await;
    assert_eq!(user.get("zimbraArchiveEnabled"), Some("FALSE"));
    assert_eq!(user.get("amavisArchiveQuarantineTo"), None);
    assert_eq!(user.get_all("zimbraArchiveAccount"), [first, second]);
}

#[tokio::test]
async fn bad_template_changes_nothing_and_outside_address_creates_nothing() {
    let e = env().await;
    let edit = [AttrEdit::Replace(
        "zimbraArchiveAccountNameTemplate".into(),
        vec!["${USER} ${DATE}".into()],
    )];
    e.prov
        .modify_account("user@example.com", &edit)
        .await
        .expect("template");
    let err = go(&e, "enable user@example.com")
        .await
        .expect_err("refused");
    assert_eq!(err.code.as_str(), "service.INVALID_REQUEST");
    assert!(err.message.contains("user 20070510"), "{}", err.message);
    let user = attrs(&e, "user@example.com").await;
    assert_eq!(user.get("zimbraArchiveEnabled"), None);
    assert!(
        e.prov
            .get_domain(&EntryKey::Name("example.com.archive".into()))
            .await
            .is_err()
    );

    // Idea 9: a third-party archive.
    let done = go(
        &e,
        "enable user@example.com archive-address x@offsite.test archive-create false",
    )
    .await
    .expect("enable");
    assert!(matches!(done, Done::Enabled { created: false, .. }));
    assert!(
        e.prov
            .find_account("x@offsite.test")
            .await
            .expect("find")
            .is_none()
    );
    let user = attrs(&e, "user@example.com").await;
    assert_eq!(
        user.get("amavisArchiveQuarantineTo"),
        Some("x@offsite.test")
    );
}

#[tokio::test]
async fn archive_cos_and_extra_attributes() {
    let e = env().await;
    e.prov
        .create_cos("archive", Attrs::new())
        .await
        .expect("cos");
    go(
        &e,
        "enable user@example.com archive-address arch@example.com.archive \
         archive-cos archive zimbraNotes legal",
    )
    .await
    .expect("enable");
    let archive = attrs(&e, "arch@example.com.archive").await;
    assert!(archive.get("zimbraCOSId").is_some());
    assert_eq!(archive.get("zimbraMailQuota"), None);
    assert_eq!(archive.get("zimbraNotes"), Some("legal"));
    let err = go(&e, "enable nobody@example.com")
        .await
        .expect_err("no account");
    assert_eq!(err.code.as_str(), "account.NO_SUCH_ACCOUNT");
    let mut out = Vec::new();
    print(
        &Done::Disabled {
            account: "u@x.test".into(),
        },
        &mut out,
    )
    .expect("write");
    assert_eq!(out, b"archiving disabled for u@x.test\n");
}
