//! `CachedDirectory`: hits, per-kind max age, write-through invalidation and
//! `flushCache`, including spec 01 §6 test ideas 16 and 17 (two servers sharing one
//! directory, each with its own cache).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::fixture;
use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::{
    AuthContext, AuthRegistry, CacheKind, CacheSettings, CachedDirectory, Directory, EntryKey,
    Provisioning, SqlDirectory,
};

/// Account entries expire after this in the short-lived caches of these tests.
const SHORT: Duration = Duration::from_millis(300);

fn short_settings() -> CacheSettings {
    CacheSettings::new()
        .with_max_age(CacheKind::Account, Some(SHORT))
        .with_max_age(CacheKind::Domain, Some(SHORT))
}

fn cached(dir: &Arc<SqlDirectory>) -> Arc<CachedDirectory> {
    let inner: Arc<dyn Directory> = dir.clone();
    Arc::new(CachedDirectory::new(inner, short_settings()))
}

fn set(name: &str, value: &str) -> [AttrEdit; 1] {
    [AttrEdit::Replace(name.into(), vec![value.into()])]
}

async fn display_name(d: &CachedDirectory, key: &str) -> Option<String> {
    d.get_entry(EntryKind::Account, &EntryKey::Name(key.into()))
        .await
        .unwrap()
        .and_then(|e| e.attrs.get("displayName").map(str::to_string))
}

#[tokio::test]
async fn reads_are_served_from_memory_by_id_name_and_address() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let mut a = Attrs::new();
    a.add("zimbraMailAlias", "joe.smith@x.test");
    let e = f
        .dir
        .create_entry(EntryKind::Account, "joe@x.test", a)
        .await
        .unwrap();
    let by_id = EntryKey::Id(e.id);
    assert_eq!(
        c.get_entry(EntryKind::Account, &by_id).await.unwrap(),
        Some(e.clone())
    );
    assert_eq!(c.stats().misses, 1);
    assert_eq!(
        c.get_entry(EntryKind::Account, &by_id).await.unwrap(),
        Some(e.clone())
    );
    let by_name = EntryKey::Name("JOE@x.test".into());
    assert_eq!(
        c.get_entry(EntryKind::Account, &by_name).await.unwrap(),
        Some(e.clone())
    );
    assert_eq!(
        c.find_by_address("Joe.Smith@X.test").await.unwrap(),
        Some(e.clone())
    );
    assert_eq!(c.stats().hits, 3, "{:?}", c.stats());
    // Another kind with that id or name is not served from the account cache.
    assert_eq!(
        c.get_entry(EntryKind::DistributionList, &by_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(c.get_entry(EntryKind::Cos, &by_name).await.unwrap(), None);
    // Unknown names are not cached as absent: a later create is seen at once.
    assert_eq!(c.find_by_address("new@x.test").await.unwrap(), None);
    f.dir
        .create_entry(EntryKind::Account, "new@x.test", Attrs::new())
        .await
        .unwrap();
    assert!(c.find_by_address("new@x.test").await.unwrap().is_some());
}

/// Spec 01 §6 idea 16: a change through server A shows on A at once; B shows the old
/// value until its copy expires or `flushCache account <name>` runs on B.
#[tokio::test]
async fn a_change_on_one_server_reaches_the_other_after_max_age_or_flush() {
    let f = fixture().await;
    let (a, b) = (cached(&f.dir), cached(&f.dir));
    f.dir
        .create_entry(EntryKind::Account, "u@x.test", Attrs::new())
        .await
        .unwrap();
    let id = a
        .get_entry(EntryKind::Account, &EntryKey::Name("u@x.test".into()))
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(display_name(&b, "u@x.test").await, None);

    a.modify_entry(EntryKind::Account, id, &set("displayName", "One"))
        .await
        .unwrap();
    assert_eq!(display_name(&a, "u@x.test").await.as_deref(), Some("One"));
    assert_eq!(
        display_name(&b, "u@x.test").await,
        None,
        "B still has its copy"
    );
    assert_eq!(
        b.flush_cache(CacheKind::Account, Some(&EntryKey::Name("U@X.TEST".into()))),
        1
    );
    assert_eq!(display_name(&b, "u@x.test").await.as_deref(), Some("One"));

    a.modify_entry(EntryKind::Account, id, &set("displayName", "Two"))
        .await
        .unwrap();
    assert_eq!(display_name(&b, "u@x.test").await.as_deref(), Some("One"));
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    assert_eq!(
        display_name(&b, "u@x.test").await.as_deref(),
        Some("Two"),
        "expired"
    );
}

/// Spec 01 §6 idea 17: a global config change through A stays invisible on B however
/// long one waits, until `flushCache config` on B.
#[tokio::test]
async fn the_global_config_never_expires() {
    let f = fixture().await;
    let (a, b) = (cached(&f.dir), cached(&f.dir));
    let g = f
        .dir
        .create_entry(EntryKind::GlobalConfig, "config", Attrs::new())
        .await
        .unwrap();
    let key = EntryKey::Id(g.id);
    let read = async |d: &CachedDirectory| {
        d.get_entry(EntryKind::GlobalConfig, &key)
            .await
            .unwrap()
            .unwrap()
            .attrs
            .get("zimbraMtaMaxMessageSize")
            .map(str::to_string)
    };
    assert_eq!(read(&b).await, None);
    a.modify_entry(
        EntryKind::GlobalConfig,
        g.id,
        &set("zimbraMtaMaxMessageSize", "1"),
    )
    .await
    .unwrap();
    assert_eq!(read(&a).await.as_deref(), Some("1"));
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    assert_eq!(read(&b).await, None, "B keeps the old global config");
    assert_eq!(b.flush_cache(CacheKind::Config, None), 1);
    assert_eq!(read(&b).await.as_deref(), Some("1"));
}

#[tokio::test]
async fn writes_through_the_cache_update_it() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let e = c
        .create_entry(EntryKind::Account, "old@x.test", Attrs::new())
        .await
        .unwrap();
    // Rename: the old name and address are gone at once, the new ones resolve.
    c.rename_entry(EntryKind::Account, e.id, "new@x.test")
        .await
        .unwrap();
    let old = EntryKey::Name("old@x.test".into());
    assert_eq!(c.get_entry(EntryKind::Account, &old).await.unwrap(), None);
    assert_eq!(c.find_by_address("old@x.test").await.unwrap(), None);
    assert_eq!(
        c.find_by_address("NEW@x.test").await.unwrap().unwrap().id,
        e.id
    );
    // Aliases added and removed through the cache.
    let add = [AttrEdit::Add("zimbraMailAlias".into(), "al@x.test".into())];
    c.modify_entry(EntryKind::Account, e.id, &add)
        .await
        .unwrap();
    assert_eq!(
        c.find_by_address("al@x.test").await.unwrap().unwrap().id,
        e.id
    );
    let rm = [AttrEdit::Remove(
        "zimbraMailAlias".into(),
        "al@x.test".into(),
    )];
    c.modify_entry(EntryKind::Account, e.id, &rm).await.unwrap();
    assert_eq!(c.find_by_address("al@x.test").await.unwrap(), None);
    // A failed write leaves no stale copy: the next read goes to the backend.
    let bad = set("zimbraId", "nope");
    assert!(
        c.modify_entry(EntryKind::Account, e.id, &bad)
            .await
            .is_err()
    );
    let misses = c.stats().misses;
    c.get_entry(EntryKind::Account, &EntryKey::Id(e.id))
        .await
        .unwrap();
    assert_eq!(c.stats().misses, misses + 1);
    // Delete.
    c.delete_entry(EntryKind::Account, e.id).await.unwrap();
    assert_eq!(
        c.get_entry(EntryKind::Account, &EntryKey::Id(e.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(c.find_by_address("new@x.test").await.unwrap(), None);
}

#[tokio::test]
async fn flush_by_kind_id_and_name_and_zero_max_age() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let mut ids = Vec::new();
    for n in ["a@x.test", "b@x.test", "c@x.test"] {
        let e = f
            .dir
            .create_entry(EntryKind::Account, n, Attrs::new())
            .await
            .unwrap();
        c.get_entry(EntryKind::Account, &EntryKey::Id(e.id))
            .await
            .unwrap();
        ids.push(e.id);
    }
    let cos = f
        .dir
        .create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    c.get_entry(EntryKind::Cos, &EntryKey::Id(cos.id))
        .await
        .unwrap();
    assert_eq!(
        c.flush_cache(CacheKind::Account, Some(&EntryKey::Id(ids[0]))),
        1
    );
    assert_eq!(
        c.flush_cache(CacheKind::Account, Some(&EntryKey::Id(ids[0]))),
        0
    );
    assert_eq!(c.flush_cache(CacheKind::Account, None), 2);
    assert_eq!(
        c.flush_cache(CacheKind::Cos, Some(&EntryKey::Name("GOLD".into()))),
        1
    );

    // Max age zero: nothing is kept.
    let inner: Arc<dyn Directory> = f.dir.clone();
    let off = CachedDirectory::new(
        inner,
        CacheSettings::new().with_max_age(CacheKind::Account, Some(Duration::ZERO)),
    );
    for _ in 0..3 {
        off.get_entry(EntryKind::Account, &EntryKey::Id(ids[1]))
            .await
            .unwrap();
    }
    assert_eq!((off.stats().hits, off.stats().misses), (0, 3));
}

#[tokio::test]
async fn provisioning_and_login_run_over_the_cache() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let prov = Provisioning::new(c.clone(), AuthRegistry::new()).with_local_server("mail.test");
    prov.bootstrap().await.unwrap();
    prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    prov.create_account("joe@ex.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    let ctx = AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    };
    prov.authenticate("joe@ex.test", "s3cret!", &ctx)
        .await
        .unwrap();
    let before = c.stats();
    for _ in 0..5 {
        prov.authenticate("joe@ex.test", "s3cret!", &ctx)
            .await
            .unwrap();
    }
    let after = c.stats();
    assert_eq!(after.misses, before.misses, "logins served from memory");
    assert!(after.hits > before.hits);
    // A password change through the same cache applies at once.
    prov.set_password("joe@ex.test", "n3w-pass").await.unwrap();
    assert!(
        prov.authenticate("joe@ex.test", "s3cret!", &ctx)
            .await
            .is_err()
    );
    prov.authenticate("joe@ex.test", "n3w-pass", &ctx)
        .await
        .unwrap();
}

/// Writes and reads racing through one cache: whatever order they finish in, the
/// cache never keeps a copy older than the last write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_reads_and_writes_leave_no_stale_copy() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let e = f
        .dir
        .create_entry(EntryKind::Cos, "busy", Attrs::new())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                c.get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
                    .await
                    .map(|_| ())
            } else {
                let add = [AttrEdit::Add(
                    "zimbraZimletAvailableZimlets".into(),
                    format!("z{i}"),
                )];
                c.modify_entry(EntryKind::Cos, e.id, &add).await.map(|_| ())
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let back = c
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.attrs.get_all("zimbraZimletAvailableZimlets").len(), 16);
}

#[tokio::test]
async fn a_modify_through_the_cache_is_read_back_at_once() {
    let f = fixture().await;
    let c = cached(&f.dir);
    let e = f
        .dir
        .create_entry(EntryKind::Account, "kept@x.test", Attrs::new())
        .await
        .unwrap();
    let by_id = EntryKey::Id(e.id);
    c.get_entry(EntryKind::Account, &by_id).await.unwrap();
    let mut edits = set("displayName", "After").to_vec();
    edits.push(AttrEdit::Add(
        "zimbraMailAlias".into(),
        "kept.alias@x.test".into(),
    ));
    let written = c
        .modify_entry(EntryKind::Account, e.id, &edits)
        .await
        .unwrap();
    // The next reads by id, name and the new alias see what was written; a removed
    // alias is not answered from an older copy.
    let got = c.get_entry(EntryKind::Account, &by_id).await.unwrap();
    assert_eq!(got.as_ref(), Some(&written));
    assert_eq!(
        display_name(&c, "kept@x.test").await.as_deref(),
        Some("After")
    );
    let by_alias = c.find_by_address("kept.alias@x.test").await.unwrap();
    assert_eq!(by_alias.map(|a| a.id), Some(e.id));
    let drop_alias = [AttrEdit::Remove(
        "zimbraMailAlias".into(),
        "kept.alias@x.test".into(),
    )];
    c.modify_entry(EntryKind::Account, e.id, &drop_alias)
        .await
        .unwrap();
    assert!(
        c.find_by_address("kept.alias@x.test")
            .await
            .unwrap()
            .is_none()
    );
}
