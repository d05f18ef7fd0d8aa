//! What a domain entry imposes on provisioning inside it, on SQLite: `suspended` and
//! `shutdown` freeze accounts, resources and lists (spec 02 test idea 13), the account
//! limits `zimbraDomainMaxAccounts` / `zimbraDomainCOSMaxAccounts` (test idea 19),
//! `renameDomain` shutting the domain down and resuming after a failure midway (test
//! idea 17), and `zimbraMailSignatureMaxLength`.

mod common;
mod ldap_env;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{code, fixture};
use ldap_env::ldap_provisioning;
use zcs_core::{
    AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId,
};
use zcs_directory::provisioning::Child;
use zcs_directory::{
    AuthContext, AuthRegistry, Directory, EntryKey, Provisioning, SearchQuery, SearchResults,
    SqlDirectory,
};

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.set_one(n, *v);
    }
    a
}

fn dom(name: &str) -> EntryKey {
    EntryKey::Name(name.into())
}

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

/// A failed result with Zimbra's `account.TOO_MANY_ACCOUNTS`.
fn assert_too_many<T: std::fmt::Debug>(r: ServiceResult<T>) {
    let e = r.expect_err("expected account.TOO_MANY_ACCOUNTS");
    assert_eq!(e.code.as_str(), "account.TOO_MANY_ACCOUNTS", "{e}");
}

#[tokio::test]
async fn suspended_and_shutdown_domains_refuse_provisioning() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    p.create_domain("other.test", Attrs::new()).await.unwrap();
    p.create_account("a@ex.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    p.create_account("o@other.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    p.create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("a@ex.test", "al@ex.test")
        .await
        .unwrap();
    p.create_child(Child::Signature, "a@ex.test", "sig", None, Attrs::new())
        .await
        .unwrap();

    for status in ["suspended", "shutdown"] {
        p.modify_domain(&dom("ex.test"), &set("zimbraDomainStatus", status))
            .await
            .unwrap();
        let denied = FaultCode::PermDenied;
        let res = attrs(&[("displayName", "Room"), ("zimbraCalResType", "Location")]);
        assert_eq!(
            code(p.create_account("b@ex.test", None, Attrs::new()).await),
            denied
        );
        assert_eq!(
            code(p.create_calendar_resource("r@ex.test", None, res).await),
            denied
        );
        assert_eq!(
            code(p.modify_account("a@ex.test", &set("sn", "x")).await),
            denied
        );
        assert_eq!(
            code(p.rename_account("a@ex.test", "a2@ex.test").await),
            denied
        );
        assert_eq!(
            code(p.rename_account("a@ex.test", "a@other.test").await),
            denied
        );
        assert_eq!(
            code(p.rename_account("o@other.test", "o@ex.test").await),
            denied
        );
        assert_eq!(
            code(p.add_account_alias("a@ex.test", "x@ex.test").await),
            denied
        );
        assert_eq!(
            code(p.add_account_alias("o@other.test", "y@ex.test").await),
            denied
        );
        assert_eq!(
            code(p.remove_account_alias("a@ex.test", "al@ex.test").await),
            denied
        );
        assert_eq!(code(p.delete_account("a@ex.test").await), denied);
        assert_eq!(
            code(p.create_distribution_list("l2@ex.test", Attrs::new()).await),
            denied
        );
        assert_eq!(
            code(p.create_dynamic_group("g@ex.test", Attrs::new()).await),
            denied
        );
        assert_eq!(
            code(p.modify_group("l@ex.test", &set("description", "d")).await),
            denied
        );
        let m = vec!["o@other.test".to_string()];
        assert_eq!(code(p.add_group_members("l@ex.test", &m).await), denied);
        assert_eq!(
            code(p.rename_group("l@ex.test", "l3@ex.test").await),
            denied
        );
        assert_eq!(
            code(p.add_group_alias("l@ex.test", "la@ex.test").await),
            denied
        );
        assert_eq!(code(p.delete_group("l@ex.test").await), denied);
        let sig = attrs(&[("zimbraPrefMailSignature", "hi")]);
        assert_eq!(
            code(
                p.create_child(Child::Signature, "a@ex.test", "s2", None, sig)
                    .await
            ),
            denied
        );
        assert_eq!(
            code(p.delete_child(Child::Signature, "a@ex.test", "sig").await),
            denied
        );
        let e = p
            .create_account("b@ex.test", None, Attrs::new())
            .await
            .unwrap_err();
        assert!(e.message.contains(status), "{e}");
        // Entries elsewhere are untouched, and reads still work.
        p.modify_account("o@other.test", &set("sn", "o"))
            .await
            .unwrap();
        p.get_account("a@ex.test").await.unwrap();
    }

    // The other statuses block logins or delivery, not provisioning.
    for status in ["locked", "maintenance", "closed", "active"] {
        p.modify_domain(&dom("ex.test"), &set("zimbraDomainStatus", status))
            .await
            .unwrap();
        p.modify_account("a@ex.test", &set("sn", status))
            .await
            .unwrap();
    }
    p.create_account("b@ex.test", None, Attrs::new())
        .await
        .unwrap();
    p.delete_group("l@ex.test").await.unwrap();
    p.delete_account("a@ex.test").await.unwrap();
}

#[tokio::test]
async fn domain_max_accounts_leaves_out_resources_and_system_accounts() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("ex.test", attrs(&[("zimbraDomainMaxAccounts", "2")]))
        .await
        .unwrap();
    p.create_domain("other.test", Attrs::new()).await.unwrap();
    p.create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    p.create_account("b@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_too_many(p.create_account("c@ex.test", None, Attrs::new()).await);

    // Calendar resources and system accounts (spam, ham, GAL sync) are not counted.
    let res = attrs(&[("displayName", "Room"), ("zimbraCalResType", "Location")]);
    p.create_calendar_resource("room@ex.test", None, res)
        .await
        .unwrap();
    let system = attrs(&[("zimbraIsSystemResource", "TRUE")]);
    p.create_account("spam.x@ex.test", None, system)
        .await
        .unwrap();

    // Moving an account in counts too; moving one out frees a place.
    p.create_account("o@other.test", None, Attrs::new())
        .await
        .unwrap();
    assert_too_many(p.rename_account("o@other.test", "o@ex.test").await);
    p.rename_account("b@ex.test", "b@other.test").await.unwrap();
    p.create_account("c@ex.test", None, Attrs::new())
        .await
        .unwrap();
    // Renaming inside the domain is not a new account.
    p.rename_account("c@ex.test", "c2@ex.test").await.unwrap();

    let usage = p.domain_account_usage(&dom("ex.test")).await.unwrap();
    assert_eq!(usage.accounts, 2);
    assert_eq!(usage.max_accounts, Some(2));

    // Raising the limit lets the next one in; unset is no limit.
    p.modify_domain(&dom("ex.test"), &set("zimbraDomainMaxAccounts", "3"))
        .await
        .unwrap();
    p.create_account("d@ex.test", None, Attrs::new())
        .await
        .unwrap();
    p.modify_domain(&dom("ex.test"), &set("zimbraDomainMaxAccounts", ""))
        .await
        .unwrap();
    p.create_account("e@ex.test", None, Attrs::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn per_cos_limits_hold_at_creation_and_on_a_cos_change() {
    let f = fixture().await;
    let p = &f.prov;
    let x = p.create_cos("cosX", Attrs::new()).await.unwrap();
    let y = p.create_cos("cosY", Attrs::new()).await.unwrap();
    let limit = format!("{}:1", x.id);
    p.create_domain(
        "ex.test",
        attrs(&[("zimbraDomainCOSMaxAccounts", limit.as_str())]),
    )
    .await
    .unwrap();
    let on_x = attrs(&[("zimbraCOSId", x.id.to_string().as_str())]);
    p.create_account("a@ex.test", None, on_x.clone())
        .await
        .unwrap();
    assert_too_many(p.create_account("b@ex.test", None, on_x.clone()).await);
    // COS without a limit, and the default COS, are not limited.
    let on_y = attrs(&[("zimbraCOSId", y.id.to_string().as_str())]);
    p.create_account("b@ex.test", None, on_y).await.unwrap();
    p.create_account("c@ex.test", None, Attrs::new())
        .await
        .unwrap();
    // Changing an account's COS to the full one is refused; re-setting the same is not.
    let to_x = set("zimbraCOSId", &x.id.to_string());
    assert_too_many(p.modify_account("b@ex.test", &to_x).await);
    p.modify_account("a@ex.test", &to_x).await.unwrap();
    // Accounts that name no COS are on the domain's default COS.
    p.modify_domain(
        &dom("ex.test"),
        &set("zimbraDomainDefaultCOSId", &x.id.to_string()),
    )
    .await
    .unwrap();
    p.modify_account("a@ex.test", &set("zimbraCOSId", &y.id.to_string()))
        .await
        .unwrap();
    // c (no COS) now counts on X, so a new account without a COS is refused.
    assert_too_many(p.create_account("d@ex.test", None, Attrs::new()).await);
    let usage = p.domain_account_usage(&dom("ex.test")).await.unwrap();
    assert_eq!(usage.per_cos, vec![(x.id, 1, 1)]);
    assert_eq!(usage.accounts, 3);
    assert_eq!(usage.max_accounts, None);
}

#[tokio::test]
async fn rename_domain_restores_the_previous_status() {
    let f = fixture().await;
    let p = &f.prov;
    let d = p
        .create_domain("old.test", attrs(&[("zimbraDomainStatus", "locked")]))
        .await
        .unwrap();
    p.create_account("a@old.test", None, Attrs::new())
        .await
        .unwrap();
    let out = p.rename_domain(&dom("old.test"), "new.test").await.unwrap();
    assert_eq!(out.id, d.id);
    assert_eq!(out.name, "new.test");
    assert_eq!(out.attrs.get("zimbraDomainStatus"), Some("locked"));
    assert_eq!(out.attrs.get("zimbraMailStatus"), Some("enabled"));
    assert_eq!(out.attrs.get("zimbraDomainRenameInfo"), None);
    p.get_account("a@new.test").await.unwrap();
    // A name already taken is refused before anything changes.
    p.create_domain("taken.test", Attrs::new()).await.unwrap();
    assert_eq!(
        code(p.rename_domain(&dom("new.test"), "taken.test").await),
        FaultCode::DomainExists
    );
    let still = p.get_domain(&dom("new.test")).await.unwrap();
    assert_eq!(still.attrs.get("zimbraDomainStatus"), Some("locked"));
}

/// A directory that fails the move of one entry while `armed`, to stop a domain
/// rename midway: a rename to the name `victim`, or any modification of the entry
/// `modify_victim` (OpenLDAP moves a domain's entries with the domain entry, so there
/// only their attributes are left to change).
struct FailOneMove {
    inner: Arc<dyn Directory>,
    victim: String,
    modify_victim: Mutex<Option<ZimbraId>>,
    armed: AtomicBool,
}

impl FailOneMove {
    fn check(&self, new_name: &str) -> ServiceResult<()> {
        if self.armed.load(Ordering::SeqCst) && new_name.eq_ignore_ascii_case(&self.victim) {
            return Err(ServiceError::failure("injected failure"));
        }
        Ok(())
    }

    fn check_modify(&self, id: ZimbraId) -> ServiceResult<()> {
        let victim = *self.modify_victim.lock().expect("lock");
        if self.armed.load(Ordering::SeqCst) && victim == Some(id) {
            return Err(ServiceError::failure("injected failure"));
        }
        Ok(())
    }
}

#[async_trait]
impl Directory for FailOneMove {
    async fn create_entry_with_id(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        name: &str,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        self.inner.create_entry_with_id(kind, id, name, attrs).await
    }
    async fn get_entry(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Option<Entry>> {
        self.inner.get_entry(kind, key).await
    }
    async fn modify_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.check_modify(id)?;
        self.inner.modify_entry(kind, id, edits).await
    }
    async fn rename_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
    ) -> ServiceResult<Entry> {
        self.check(new_name)?;
        self.inner.rename_entry(kind, id, new_name).await
    }
    async fn rename_and_modify(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.check(new_name)?;
        self.check_modify(id)?;
        self.inner
            .rename_and_modify(kind, id, new_name, edits)
            .await
    }
    async fn delete_entry(&self, kind: EntryKind, id: ZimbraId) -> ServiceResult<()> {
        self.inner.delete_entry(kind, id).await
    }
    async fn list_entries(
        &self,
        kind: EntryKind,
        domain: Option<&str>,
    ) -> ServiceResult<Vec<Entry>> {
        self.inner.list_entries(kind, domain).await
    }
    async fn search_entries(&self, q: &SearchQuery) -> ServiceResult<SearchResults> {
        self.inner.search_entries(q).await
    }
    async fn find_by_address(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        self.inner.find_by_address(addr).await
    }
    async fn count_addresses_in_domain(&self, domain: &str) -> ServiceResult<u64> {
        self.inner.count_addresses_in_domain(domain).await
    }
}

/// Provisioning over `inner` failing the move of `victim` until disarmed.
fn flaky(inner: Arc<dyn Directory>, victim: &str) -> (Arc<FailOneMove>, Provisioning) {
    let dir = Arc::new(FailOneMove {
        inner,
        victim: victim.into(),
        modify_victim: Mutex::new(None),
        armed: AtomicBool::new(true),
    });
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new());
    (dir, prov)
}

/// Runs an interrupted-rename case on SQLite and, when a test slapd is configured, on
/// OpenLDAP (skipped loudly otherwise).
macro_rules! on_sqlite_and_ldap {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let tmp = tempfile::tempdir().expect("tempdir");
                    let dir = super::SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
                        .await
                        .expect("open");
                    super::$case(std::sync::Arc::new(dir)).await;
                }
            )*
        }
        mod ldap {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(env) = super::ldap_provisioning(stringify!($case)).await else {
                        return;
                    };
                    super::$case(env.dir.clone()).await;
                }
            )*
        }
    };
}

on_sqlite_and_ldap!(
    interrupted_rename_is_shut_down_and_finished_by_a_rerun_with_the_old_name,
    interrupted_rename_is_finished_by_a_rerun_with_the_new_name,
    rename_stopped_before_the_domain_entry_moved_resumes,
);

/// A domain with two accounts (one with an alias), a list holding both, and a login
/// password; returns the accounts' ids.
async fn populate(p: &Provisioning) -> (ZimbraId, ZimbraId) {
    p.create_domain("old.test", Attrs::new()).await.unwrap();
    let a = p
        .create_account("a@old.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    let b = p
        .create_account("b@old.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("b@old.test", "bee@old.test")
        .await
        .unwrap();
    p.create_distribution_list("z-list@old.test", Attrs::new())
        .await
        .unwrap();
    let members = vec!["a@old.test".to_string(), "b@old.test".to_string()];
    p.add_group_members("z-list@old.test", &members)
        .await
        .unwrap();
    (a.id, b.id)
}

/// Checks a rename that went to the end.
async fn assert_renamed(p: &Provisioning, a: ZimbraId, b: ZimbraId) {
    assert_eq!(p.get_account("a@new.test").await.unwrap().id, a);
    let bb = p.get_account("b@new.test").await.unwrap();
    assert_eq!(bb.id, b);
    assert_eq!(p.get_account("bee@new.test").await.unwrap().id, b);
    let l = p.get_group("z-list@new.test").await.unwrap();
    let mut m = p.group_members(&l).await.unwrap();
    m.sort();
    assert_eq!(m, vec!["a@new.test", "b@new.test"]);
    let d = p.get_domain(&dom("new.test")).await.unwrap();
    assert_eq!(d.attrs.get("zimbraDomainStatus"), Some("active"));
    assert_eq!(d.attrs.get("zimbraMailStatus"), Some("enabled"));
    assert_eq!(d.attrs.get("zimbraDomainRenameInfo"), None);
    assert_eq!(
        code(p.get_domain(&dom("old.test")).await),
        FaultCode::NoSuchDomain
    );
    p.authenticate("a@new.test", "s3cret!", &ctx())
        .await
        .unwrap();
    p.create_account("c@new.test", None, Attrs::new())
        .await
        .unwrap();
}

async fn interrupted_rename_is_shut_down_and_finished_by_a_rerun_with_the_old_name(
    inner: Arc<dyn Directory>,
) {
    let (dir, p) = flaky(inner, "b@new.test");
    let (a, b) = populate(&p).await;
    *dir.modify_victim.lock().unwrap() = Some(b);
    let err = p
        .rename_domain(&dom("old.test"), "new.test")
        .await
        .unwrap_err();
    assert!(err.message.contains("injected"), "{err}");

    // Stopped midway: a moved, b did not, and the domain is shut down meanwhile.
    p.get_account("a@new.test").await.unwrap();
    assert_eq!(p.get_account("bee@old.test").await.unwrap().id, b);
    assert!(p.resolve_address("bee@new.test").await.unwrap().is_none());
    let d = p.get_domain(&dom("new.test")).await.unwrap();
    assert_eq!(d.attrs.get("zimbraDomainStatus"), Some("shutdown"));
    assert_eq!(d.attrs.get("zimbraMailStatus"), Some("disabled"));
    assert!(d.attrs.get("zimbraDomainRenameInfo").is_some());
    assert!(
        p.authenticate("a@new.test", "s3cret!", &ctx())
            .await
            .is_err()
    );
    assert_eq!(
        code(p.create_account("c@new.test", None, Attrs::new()).await),
        FaultCode::PermDenied
    );
    // A rerun towards another name is refused.
    assert_eq!(
        code(p.rename_domain(&dom("old.test"), "third.test").await),
        FaultCode::InvalidRequest
    );

    dir.armed.store(false, Ordering::SeqCst);
    let out = p.rename_domain(&dom("old.test"), "new.test").await.unwrap();
    assert_eq!(out.name, "new.test");
    assert_renamed(&p, a, b).await;
}

async fn interrupted_rename_is_finished_by_a_rerun_with_the_new_name(inner: Arc<dyn Directory>) {
    let (dir, p) = flaky(inner, "b@new.test");
    let (a, b) = populate(&p).await;
    *dir.modify_victim.lock().unwrap() = Some(b);
    p.rename_domain(&dom("old.test"), "new.test")
        .await
        .unwrap_err();
    dir.armed.store(false, Ordering::SeqCst);
    p.rename_domain(&dom("new.test"), "new.test").await.unwrap();
    assert_renamed(&p, a, b).await;
}

async fn rename_stopped_before_the_domain_entry_moved_resumes(inner: Arc<dyn Directory>) {
    // The domain entry itself fails to move: everything is still under the old name,
    // but the domain is already shut down with the rename recorded.
    let (dir, p) = flaky(inner, "new.test");
    let (a, b) = populate(&p).await;
    p.rename_domain(&dom("old.test"), "new.test")
        .await
        .unwrap_err();
    let d = p.get_domain(&dom("old.test")).await.unwrap();
    assert_eq!(d.attrs.get("zimbraDomainStatus"), Some("shutdown"));
    assert!(
        p.authenticate("a@old.test", "s3cret!", &ctx())
            .await
            .is_err()
    );
    dir.armed.store(false, Ordering::SeqCst);
    p.rename_domain(&dom("new.test"), "new.test").await.unwrap();
    assert_renamed(&p, a, b).await;
}

#[tokio::test]
async fn signature_length_is_capped_by_the_inherited_limit() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    p.create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    // The registry default (10240) applies until the COS lowers it.
    p.modify_account(
        "a@ex.test",
        &set("zimbraPrefMailSignature", &"x".repeat(10240)),
    )
    .await
    .unwrap();
    let long = "x".repeat(10241);
    assert_eq!(
        code(
            p.modify_account("a@ex.test", &set("zimbraPrefMailSignature", &long))
                .await
        ),
        FaultCode::InvalidRequest
    );
    p.modify_cos(&dom("default"), &set("zimbraMailSignatureMaxLength", "10"))
        .await
        .unwrap();
    let eleven = "12345678901";
    assert_eq!(
        code(
            p.modify_account("a@ex.test", &set("zimbraPrefMailSignatureHTML", eleven))
                .await
        ),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            p.create_account(
                "b@ex.test",
                None,
                attrs(&[("zimbraPrefMailSignature", eleven)])
            )
            .await
        ),
        FaultCode::InvalidRequest
    );
    let sig = attrs(&[("zimbraPrefMailSignature", eleven)]);
    assert_eq!(
        code(
            p.create_child(Child::Signature, "a@ex.test", "s", None, sig)
                .await
        ),
        FaultCode::InvalidRequest
    );
    let ok = attrs(&[("zimbraPrefMailSignature", "1234567890")]);
    p.create_child(Child::Signature, "a@ex.test", "s", None, ok)
        .await
        .unwrap();
    assert_eq!(
        code(
            p.modify_child(
                Child::Signature,
                "a@ex.test",
                "s",
                &set("zimbraPrefMailSignatureHTML", eleven)
            )
            .await
        ),
        FaultCode::InvalidRequest
    );
    // The account's own value wins over the COS; 0 is unlimited.
    p.modify_account("a@ex.test", &set("zimbraMailSignatureMaxLength", "0"))
        .await
        .unwrap();
    p.modify_account("a@ex.test", &set("zimbraPrefMailSignature", &long))
        .await
        .unwrap();
}
