use std::sync::Arc;
use std::time::Duration;

use zcs_core::{Attrs, Entry};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};

use super::TokenLedger;
use crate::soap::token::{self, TokenData};

async fn prov(dir: &std::path::Path) -> Arc<Provisioning> {
    let sql = SqlDirectory::open_sqlite(&dir.join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(Arc::new(sql), AuthRegistry::new()));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("ledger.test", Attrs::new())
        .await
        .expect("domain");
    prov
}

async fn account(prov: &Provisioning, name: &str) -> Entry {
    prov.create_account(name, Some("test123"), Attrs::new())
        .await
        .expect("account")
}

fn data(account: &Entry, tid: u32, expires_ms: i64) -> TokenData {
    TokenData {
        account: account.id,
        expires_ms,
        admin: false,
        tid,
    }
}

fn later() -> i64 {
    chrono::Utc::now().timestamp_millis() + 3_600_000
}

/// The account as a second process would read it: straight from the directory.
async fn stored(prov: &Provisioning, a: &Entry) -> Entry {
    prov.directory()
        .get_entry(
            zcs_core::EntryKind::Account,
            &zcs_directory::EntryKey::Id(a.id),
        )
        .await
        .expect("read")
        .expect("entry")
}

/// Waits until the writer has written everything.
async fn settled(ledger: &TokenLedger) {
    for _ in 0..500 {
        if ledger.waiting_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the writer never wrote the waiting ids");
}

#[tokio::test]
async fn an_issued_id_is_live_at_once_and_written_soon() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prov = prov(tmp.path()).await;
    let a = account(&prov, "one@ledger.test").await;
    let ledger = TokenLedger::new(prov.clone());

    ledger.issue(&data(&a, 7, later()));
    assert!(ledger.is_registered(&a, 7), "live before any write");
    assert!(!ledger.is_registered(&a, 8));
    settled(&ledger).await;
    let written = stored(&prov, &a).await;
    assert!(token::is_registered(&written, 7), "recorded on the account");
    assert!(ledger.is_registered(&written, 7));
}

#[tokio::test]
async fn many_logins_share_batches_and_expired_ids_are_dropped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prov = prov(tmp.path()).await;
    let a = account(&prov, "many@ledger.test").await;
    let b = account(&prov, "other@ledger.test").await;
    // An id that expired long ago, recorded the old way.
    token::register(&prov, &a, &data(&a, 1, 1_000), 0)
        .await
        .expect("register");
    let ledger = TokenLedger::new(prov.clone());
    for tid in 100..160 {
        ledger.issue(&data(&a, tid, later()));
        ledger.issue(&data(&b, tid + 1000, later()));
    }
    settled(&ledger).await;
    let (sa, sb) = (stored(&prov, &a).await, stored(&prov, &b).await);
    assert!((100..160).all(|t| token::is_registered(&sa, t)));
    assert!((1100..1160).all(|t| token::is_registered(&sb, t)));
    assert!(!token::is_registered(&sa, 1), "the expired id went");
    assert_eq!(sa.attrs.get_all("zimbraAuthTokens").len(), 60);
}

#[tokio::test]
async fn ending_a_waiting_or_written_id_voids_it_for_good() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prov = prov(tmp.path()).await;
    let a = account(&prov, "end@ledger.test").await;
    let ledger = TokenLedger::new(prov.clone());

    ledger.issue(&data(&a, 11, later()));
    settled(&ledger).await;
    ledger.end(a.id, 11).await.expect("end written");
    let s = stored(&prov, &a).await;
    assert!(!ledger.is_registered(&s, 11));

    // Ended while (possibly) still waiting: the writer must not bring it back.
    ledger.issue(&data(&a, 12, later()));
    ledger.issue(&data(&a, 13, later()));
    ledger.end(a.id, 12).await.expect("end waiting");
    ledger.flush().await.expect("flush");
    let s = stored(&prov, &a).await;
    assert!(!ledger.is_registered(&s, 12), "ended id stays ended");
    assert!(ledger.is_registered(&s, 13), "the other id lives");

    // A reset ends them all, waiting or written.
    ledger.issue(&data(&a, 14, later()));
    ledger.end_all(a.id).await.expect("end all");
    ledger.flush().await.expect("flush");
    let s = stored(&prov, &a).await;
    for tid in [13, 14] {
        assert!(!ledger.is_registered(&s, tid), "{tid} ended by the reset");
    }
    assert!(!s.attrs.contains("zimbraAuthTokens"));
}

#[tokio::test]
async fn a_deleted_account_loses_its_waiting_ids_without_failing_the_batch() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prov = prov(tmp.path()).await;
    let gone = account(&prov, "gone@ledger.test").await;
    let kept = account(&prov, "kept@ledger.test").await;
    let ledger = TokenLedger::new(prov.clone());
    prov.delete_account(&gone.id.to_string())
        .await
        .expect("delete");
    ledger.issue(&data(&gone, 21, later()));
    ledger.issue(&data(&kept, 22, later()));
    ledger.flush().await.expect("the batch succeeds");
    assert_eq!(ledger.waiting_count(), 0);
    assert!(token::is_registered(&stored(&prov, &kept).await, 22));
}

#[tokio::test]
async fn services_on_one_directory_share_their_ledger() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prov = prov(tmp.path()).await;
    let a = account(&prov, "shared@ledger.test").await;
    let one = TokenLedger::shared(prov.clone());
    let two = TokenLedger::shared(prov.clone());
    assert!(Arc::ptr_eq(&one, &two));
    one.issue(&data(&a, 31, later()));
    assert!(
        two.is_registered(&a, 31),
        "live on the other service at once"
    );
    let other_tmp = tempfile::tempdir().expect("tmp");
    let other = TokenLedger::shared(self::prov(other_tmp.path()).await);
    assert!(!Arc::ptr_eq(&one, &other), "another directory has its own");
}
