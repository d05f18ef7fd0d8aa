//! Conformance cases for concurrency: two independent handles (two pools, as two
//! processes would have) racing on one database.

use std::sync::Arc;

use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode};
use zcs_directory::{Directory, EntryKey};

use crate::harness::Ctx;

pub async fn two_handles_see_each_other(ctx: &Ctx) {
    if ctx.cached {
        // A cache serves its copy until it expires or is flushed, by design; tests/cache.rs
        // covers what another server's change looks like through it.
        return;
    }
    let other = ctx.reopen().await;
    let e = ctx
        .dir
        .create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    let seen = other.find_by_address("A@X.TEST").await.unwrap().unwrap();
    assert_eq!(seen.id, e.id);
    let edit = [AttrEdit::Replace(
        "displayName".into(),
        vec!["From zmprov".into()],
    )];
    other
        .modify_entry(EntryKind::Account, e.id, &edit)
        .await
        .unwrap();
    let back = ctx
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.attrs.get("displayName"), Some("From zmprov"));
    drop(other);
}

/// Spawns `n` creates alternating between two handles; returns the results.
async fn race(
    a: &Arc<dyn Directory>,
    b: &Arc<dyn Directory>,
    n: usize,
    make: impl Fn(usize) -> (EntryKind, String, Attrs),
) -> Vec<zcs_core::ServiceResult<zcs_core::Entry>> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let d = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (kind, name, attrs) = make(i);
        tasks.push(tokio::spawn(async move {
            d.create_entry(kind, &name, attrs).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

pub async fn racing_creates_of_one_name_yield_one_entry(ctx: &Ctx) {
    let a = ctx.dir.clone();
    let other = ctx.reopen().await;
    let b = other.clone();
    for round in 0..3 {
        let name = format!("race{round}@x.test");
        let results = race(&a, &b, 8, |_| {
            (EntryKind::Account, name.clone(), Attrs::new())
        })
        .await;
        let mut ok = 0;
        for r in results {
            match r {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.code, FaultCode::AccountExists, "on {}: {e}", ctx.label),
            }
        }
        assert_eq!(ok, 1, "exactly one winner on {}", ctx.label);
    }
    let all = a
        .list_entries(EntryKind::Account, Some("x.test"))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    drop(other);
}

pub async fn racing_creates_of_one_address_across_kinds(ctx: &Ctx) {
    let a = ctx.dir.clone();
    let other = ctx.reopen().await;
    let b = other.clone();
    // An account named x, a list named y with alias x, a resource named z with alias x:
    // different entry names, one contested address.
    let results = race(&a, &b, 6, |i| {
        let mut attrs = Attrs::new();
        let (kind, name) = match i % 3 {
            0 => (EntryKind::Account, format!("shared{i}@x.test")),
            1 => (EntryKind::DistributionList, format!("list{i}@x.test")),
            _ => (EntryKind::CalendarResource, format!("room{i}@x.test")),
        };
        if i > 0 {
            attrs.add("zimbraMailAlias", "shared0@x.test");
        }
        (kind, name, attrs)
    })
    .await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "one owner of the address on {}", ctx.label);
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(
                    e.code,
                    FaultCode::AccountExists | FaultCode::DistributionListExists
                ),
                "on {}: {e}",
                ctx.label
            );
        }
    }
    let owner = a.find_by_address("shared0@x.test").await.unwrap().unwrap();
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    assert_eq!(owner.id, winner.id);
    // Losers left no rows behind.
    let expected = if winner.name == "shared0@x.test" {
        1
    } else {
        2
    };
    assert_eq!(
        a.count_addresses_in_domain("x.test").await.unwrap(),
        expected
    );
    let mut entries = 0;
    for kind in [
        EntryKind::Account,
        EntryKind::DistributionList,
        EntryKind::CalendarResource,
    ] {
        entries += a.list_entries(kind, None).await.unwrap().len();
    }
    assert_eq!(entries, 1, "on {}", ctx.label);
    drop(other);
}

pub async fn concurrent_modifies_of_one_entry_lose_nothing(ctx: &Ctx) {
    let other = ctx.reopen().await;
    let e = ctx
        .dir
        .create_entry(EntryKind::Cos, "busy", Attrs::new())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let d: Arc<dyn Directory> = if i % 2 == 0 {
            ctx.dir.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let add = [AttrEdit::Add(
                "zimbraZimletAvailableZimlets".into(),
                format!("z{i}"),
            )];
            d.modify_entry(EntryKind::Cos, e.id, &add).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("modify");
    }
    let back = ctx
        .dir
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        back.attrs.get_all("zimbraZimletAvailableZimlets").len(),
        16,
        "every concurrent add kept on {}",
        ctx.label
    );
    drop(other);
}
