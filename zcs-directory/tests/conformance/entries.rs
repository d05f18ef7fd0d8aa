//! Conformance cases on the `Directory` seam itself: lifecycle of every entry kind, name
//! and address uniqueness, edits, listings.

use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode, ZimbraId};
use zcs_directory::EntryKey;

use crate::harness::Ctx;
use crate::{attrs, code};

/// A name of the right shape for `kind`: an address for recipients, a word otherwise.
fn name_for(kind: EntryKind, n: u32) -> String {
    match kind {
        EntryKind::Account
        | EntryKind::CalendarResource
        | EntryKind::DistributionList
        | EntryKind::DynamicGroup
        | EntryKind::Alias => format!("{}-{n}@kinds.test", kind.as_str()),
        EntryKind::Domain => format!("d{n}.kinds.test"),
        _ => format!("{}-{n}", kind.as_str()),
    }
}

pub async fn create_get_modify_rename_delete_every_kind(ctx: &Ctx) {
    let d = &ctx.dir;
    for &kind in EntryKind::ALL {
        let what = format!("{kind} on {}", ctx.label);
        let e = d
            .create_entry(kind, &name_for(kind, 1), attrs(&[("description", "one")]))
            .await
            .unwrap_or_else(|err| panic!("create {what}: {err}"));
        assert_eq!(e.kind, kind);
        assert_eq!(e.attrs.get("zimbraId"), Some(e.id.to_string().as_str()));

        let got = d.get_entry(kind, &EntryKey::Id(e.id)).await.unwrap();
        assert_eq!(got.as_ref(), Some(&e), "get by id: {what}");
        let got = d
            .get_entry(kind, &EntryKey::Name(name_for(kind, 1).to_uppercase()))
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&e), "get by name: {what}");

        let edit = [AttrEdit::Replace("description".into(), vec!["two".into()])];
        let m = d.modify_entry(kind, e.id, &edit).await.unwrap();
        assert_eq!(m.attrs.get("description"), Some("two"), "{what}");

        let r = d
            .rename_entry(kind, e.id, &name_for(kind, 2))
            .await
            .unwrap();
        assert_eq!((r.id, r.name.as_str()), (e.id, name_for(kind, 2).as_str()));
        assert!(
            d.get_entry(kind, &EntryKey::Name(name_for(kind, 1)))
                .await
                .unwrap()
                .is_none(),
            "old name gone: {what}"
        );
        let back = d
            .get_entry(kind, &EntryKey::Id(e.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.attrs.get("description"), Some("two"), "{what}");

        d.delete_entry(kind, e.id).await.unwrap();
        assert!(
            d.get_entry(kind, &EntryKey::Id(e.id))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            d.list_entries(kind, None).await.unwrap().is_empty(),
            "{what}"
        );
    }
}

pub async fn names_compare_case_insensitively_and_keep_spelling(ctx: &Ctx) {
    let d = &ctx.dir;
    let e = d
        .create_entry(EntryKind::Account, "Joe@Ex.test", attrs(&[("cn", "Joe")]))
        .await
        .unwrap();
    let by_name = d
        .get_entry(EntryKind::Account, &EntryKey::Name("JOE@EX.TEST".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name, e);
    assert_eq!(by_name.name, "Joe@Ex.test", "spelling kept");
    assert_eq!(
        d.find_by_address("joe@ex.TEST").await.unwrap(),
        Some(e.clone())
    );
    // An id of another kind, or an unknown id, is not found.
    assert!(
        d.get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
            .await
            .unwrap()
            .is_none()
    );
    let unknown = EntryKey::Id(ZimbraId::new());
    assert!(
        d.get_entry(EntryKind::Account, &unknown)
            .await
            .unwrap()
            .is_none()
    );
    // Accented letters are not folded onto plain ones.
    d.create_entry(EntryKind::Account, "jose@ex.test", Attrs::new())
        .await
        .unwrap();
    d.create_entry(EntryKind::Account, "josé@ex.test", Attrs::new())
        .await
        .unwrap();
    let found = d.find_by_address("JOSÉ@ex.test").await.unwrap().unwrap();
    assert_eq!(found.name, "josé@ex.test");
}

pub async fn names_unique_per_kind_addresses_across_kinds(ctx: &Ctx) {
    let d = &ctx.dir;
    d.create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(d.create_entry(EntryKind::Cos, "GOLD", Attrs::new()).await),
        FaultCode::CosExists
    );
    // Same name, a kind without addresses: fine.
    d.create_entry(EntryKind::Server, "gold", Attrs::new())
        .await
        .unwrap();
    d.create_entry(EntryKind::Domain, "x.test", Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(
            d.create_entry(EntryKind::Domain, "X.Test", Attrs::new())
                .await
        ),
        FaultCode::DomainExists
    );

    d.create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    for (kind, fault) in [
        (
            EntryKind::DistributionList,
            FaultCode::DistributionListExists,
        ),
        (EntryKind::DynamicGroup, FaultCode::DistributionListExists),
        (EntryKind::CalendarResource, FaultCode::AccountExists),
        (EntryKind::Account, FaultCode::AccountExists),
    ] {
        assert_eq!(
            code(d.create_entry(kind, "A@X.TEST", Attrs::new()).await),
            fault,
            "{kind} on {}",
            ctx.label
        );
    }
    // A taken id is refused too.
    let cos = d
        .create_entry(EntryKind::Cos, "silver", Attrs::new())
        .await
        .unwrap();
    let again = d
        .create_entry_with_id(EntryKind::Cos, cos.id, "bronze", Attrs::new())
        .await;
    assert!(again.is_err(), "duplicate id accepted on {}", ctx.label);
}

pub async fn modify_applies_edits_in_order(ctx: &Ctx) {
    let d = &ctx.dir;
    let e = d
        .create_entry(EntryKind::Cos, "c", attrs(&[("description", "one")]))
        .await
        .unwrap();
    let edits = [
        AttrEdit::Add("zimbraZimletAvailableZimlets".into(), "a".into()),
        AttrEdit::Add("zimbraZimletAvailableZimlets".into(), "b".into()),
        AttrEdit::Remove("zimbraZimletAvailableZimlets".into(), "a".into()),
        AttrEdit::Replace("DESCRIPTION".into(), vec!["two".into(), "three".into()]),
    ];
    let out = d.modify_entry(EntryKind::Cos, e.id, &edits).await.unwrap();
    assert_eq!(out.attrs.get_all("zimbraZimletAvailableZimlets"), ["b"]);
    assert_eq!(out.attrs.get_all("description"), ["two", "three"]);
    let again = d
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap();
    assert_eq!(again, Some(out));

    let clear = [AttrEdit::Replace("description".into(), vec![])];
    let out = d.modify_entry(EntryKind::Cos, e.id, &clear).await.unwrap();
    assert!(!out.attrs.contains("description"));

    let bad = [AttrEdit::Replace(
        "zimbraId".into(),
        vec![ZimbraId::new().to_string()],
    )];
    assert_eq!(
        code(d.modify_entry(EntryKind::Cos, e.id, &bad).await),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            d.modify_entry(EntryKind::Cos, ZimbraId::new(), &clear)
                .await
        ),
        FaultCode::NoSuchCos
    );
    assert_eq!(
        code(d.modify_entry(EntryKind::Server, e.id, &clear).await),
        FaultCode::NoSuchServer,
        "an id of another kind is no such entry"
    );
}

pub async fn rename_moves_addresses(ctx: &Ctx) {
    let d = &ctx.dir;
    let e = d
        .create_entry(EntryKind::Account, "old@x.test", Attrs::new())
        .await
        .unwrap();
    let other = d
        .create_entry(EntryKind::Account, "other@x.test", Attrs::new())
        .await
        .unwrap();
    let r = d
        .rename_entry(EntryKind::Account, e.id, "new@x.test")
        .await
        .unwrap();
    assert_eq!((r.id, r.name.as_str()), (e.id, "new@x.test"));
    assert!(d.find_by_address("old@x.test").await.unwrap().is_none());
    assert_eq!(
        d.find_by_address("NEW@x.test").await.unwrap().unwrap().id,
        e.id
    );
    assert_eq!(
        code(
            d.rename_entry(EntryKind::Account, other.id, "New@X.test")
                .await
        ),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(
            d.rename_entry(EntryKind::Account, ZimbraId::new(), "z@x.test")
                .await
        ),
        FaultCode::NoSuchAccount
    );
    // Rename and modify in one change.
    let edit = [AttrEdit::Replace(
        "mail".into(),
        vec!["renamed@y.test".into()],
    )];
    let rm = d
        .rename_and_modify(EntryKind::Account, e.id, "renamed@y.test", &edit)
        .await
        .unwrap();
    assert_eq!(rm.attrs.get("mail"), Some("renamed@y.test"));
    assert_eq!(
        d.list_entries(EntryKind::Account, Some("y.test"))
            .await
            .unwrap(),
        [rm]
    );
}

pub async fn delete_frees_names_and_ids_are_never_reused(ctx: &Ctx) {
    let d = &ctx.dir;
    let e = d
        .create_entry(
            EntryKind::Account,
            "a@x.test",
            attrs(&[("zimbraMailAlias", "al@x.test")]),
        )
        .await
        .unwrap();
    d.delete_entry(EntryKind::Account, e.id).await.unwrap();
    assert!(d.find_by_address("a@x.test").await.unwrap().is_none());
    assert!(d.find_by_address("al@x.test").await.unwrap().is_none());
    assert_eq!(
        code(d.delete_entry(EntryKind::Account, e.id).await),
        FaultCode::NoSuchAccount
    );
    let again = d
        .create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    assert_ne!(again.id, e.id);
    // Nor can the deleted id be handed out explicitly (a restore or a migration names
    // ids): a new entry must never inherit a deleted one's mailbox.
    assert_eq!(
        code(
            d.create_entry_with_id(EntryKind::Account, e.id, "b@x.test", Attrs::new())
                .await
        ),
        FaultCode::InvalidRequest
    );
    // The freed alias is free for another entry.
    d.create_entry(EntryKind::DistributionList, "al@x.test", Attrs::new())
        .await
        .unwrap();
    // Deleting with the wrong kind is "no such" and deletes nothing.
    assert_eq!(
        code(d.delete_entry(EntryKind::Cos, again.id).await),
        FaultCode::NoSuchCos
    );
    assert!(d.find_by_address("a@x.test").await.unwrap().is_some());
}

pub async fn aliases_share_the_address_space(ctx: &Ctx) {
    let d = &ctx.dir;
    let a = d
        .create_entry(
            EntryKind::Account,
            "a@x.test",
            attrs(&[
                ("zimbraMailAlias", "b@x.test"),
                ("zimbraMailAlias", "B2@x.test"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(
        d.find_by_address("b2@X.test").await.unwrap().unwrap().id,
        a.id
    );
    assert_eq!(
        code(
            d.create_entry(EntryKind::Account, "b@x.test", Attrs::new())
                .await
        ),
        FaultCode::AccountExists
    );
    let c = d
        .create_entry(EntryKind::DistributionList, "c@x.test", Attrs::new())
        .await
        .unwrap();
    let add = [AttrEdit::Add("zimbraMailAlias".into(), "B@X.TEST".into())];
    assert_eq!(
        code(
            d.modify_entry(EntryKind::DistributionList, c.id, &add)
                .await
        ),
        FaultCode::DistributionListExists
    );
    // The failed modify left nothing behind.
    let c2 = d
        .get_entry(EntryKind::DistributionList, &EntryKey::Id(c.id))
        .await
        .unwrap()
        .unwrap();
    assert!(!c2.attrs.contains("zimbraMailAlias"));
    // Removing an alias frees it.
    let rm = [AttrEdit::Remove(
        "zimbraMailAlias".into(),
        "b@x.test".into(),
    )];
    d.modify_entry(EntryKind::Account, a.id, &rm).await.unwrap();
    d.modify_entry(EntryKind::DistributionList, c.id, &add)
        .await
        .unwrap();
    assert_eq!(
        d.find_by_address("b@x.test").await.unwrap().unwrap().id,
        c.id
    );
    assert_eq!(d.count_addresses_in_domain("X.TEST").await.unwrap(), 4);
}

pub async fn list_by_kind_and_domain_in_name_order(ctx: &Ctx) {
    let d = &ctx.dir;
    for n in [
        "b@one.test",
        "A@one.test",
        "c@two.test",
        "Zed@one.test",
        "_x@one.test",
    ] {
        d.create_entry(EntryKind::Account, n, attrs(&[("cn", n), ("sn", "s")]))
            .await
            .unwrap();
    }
    d.create_entry(EntryKind::Cos, "z", Attrs::new())
        .await
        .unwrap();
    d.create_entry(EntryKind::DistributionList, "list@one.test", Attrs::new())
        .await
        .unwrap();
    let all = d.list_entries(EntryKind::Account, None).await.unwrap();
    let names: Vec<_> = all.iter().map(|e| e.name.as_str()).collect();
    // Code-point order of the lower-cased names on every engine.
    assert_eq!(
        names,
        [
            "_x@one.test",
            "A@one.test",
            "b@one.test",
            "c@two.test",
            "Zed@one.test"
        ],
        "on {}",
        ctx.label
    );
    assert!(
        all.iter()
            .all(|e| e.attrs.get("cn") == Some(e.name.as_str()))
    );
    assert!(all.iter().all(|e| e.attrs.get("sn") == Some("s")));
    let one = d
        .list_entries(EntryKind::Account, Some("ONE.test"))
        .await
        .unwrap();
    assert_eq!(one.len(), 4);
    assert_eq!(d.count_addresses_in_domain("one.test").await.unwrap(), 5);
    assert!(
        d.list_entries(EntryKind::Domain, None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn long_values_and_unicode_survive(ctx: &Ctx) {
    let d = &ctx.dir;
    // Above MariaDB's 64 KiB TEXT limit.
    let long = "x".repeat(200_000);
    let text = "Grüße, 日本語, emoji 📬, quote ' and ? and $1";
    let e = d
        .create_entry(
            EntryKind::Cos,
            "long",
            attrs(&[("zimbraNotes", &long), ("description", text)]),
        )
        .await
        .unwrap();
    let back = d
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        back.attrs.get("zimbraNotes").map(str::len),
        Some(long.len())
    );
    assert_eq!(back.attrs.get("description"), Some(text));
    // Many values keep their order.
    let values: Vec<String> = (0..50).map(|i| format!("v{:02}", 49 - i)).collect();
    let edit = [AttrEdit::Replace(
        "zimbraZimletAvailableZimlets".into(),
        values.clone(),
    )];
    d.modify_entry(EntryKind::Cos, e.id, &edit).await.unwrap();
    let back = d
        .get_entry(EntryKind::Cos, &EntryKey::Name("LONG".into()))
        .await
        .unwrap();
    assert_eq!(
        back.unwrap().attrs.get_all("zimbraZimletAvailableZimlets"),
        values
    );
}

/// A long run of `+attr`, `-attr` and replace edits on multi-valued attributes, read back
/// through a second handle after each one: the stored values are the model's, in order
/// (as a set on LDAP, whose servers keep no promise of order), and the aliases among them
/// resolve to the entry while removed ones do not.
pub async fn multi_value_edits_read_back_as_applied(ctx: &Ctx) {
    const ZIMLETS: &str = "zimbraZimletAvailableZimlets";
    let d = &ctx.dir;
    // A cached handle serves its own copy of an entry another handle changed.
    let other = if ctx.cached {
        d.clone()
    } else {
        ctx.reopen().await
    };
    let e = d
        .create_entry(EntryKind::Account, "multi@edits.test", Attrs::new())
        .await
        .unwrap();
    let mut model = Attrs::new();
    // A fixed pseudo-random walk (64-bit LCG), the same on every backend.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for step in 0..120 {
        let attr = if next(4) == 0 { A_ALIAS } else { ZIMLETS };
        let value = |k: u64| match attr {
            A_ALIAS => value_of_alias(k),
            _ => format!("z{k}"),
        };
        let mut edits = Vec::new();
        for _ in 0..=next(3) {
            let edit = match next(6) {
                0 => {
                    let mut values: Vec<String> = (0..next(5)).map(|_| value(next(12))).collect();
                    values.dedup();
                    AttrEdit::Replace(attr.into(), values)
                }
                1 | 2 => AttrEdit::Remove(attr.into(), value(next(12))),
                _ => AttrEdit::Add(attr.into(), value(next(12))),
            };
            edits.push(edit);
        }
        for edit in &edits {
            model.apply(edit);
        }
        let out = d.modify_entry(EntryKind::Account, e.id, &edits).await;
        let out = out.unwrap_or_else(|err| panic!("{}: step {step}: {err}", ctx.label));
        let stored = other
            .get_entry(EntryKind::Account, &EntryKey::Id(e.id))
            .await
            .unwrap()
            .expect("entry");
        for name in [A_ALIAS, ZIMLETS] {
            let (mut want, mut got, mut returned) = (
                model.get_all(name).to_vec(),
                stored.attrs.get_all(name).to_vec(),
                out.attrs.get_all(name).to_vec(),
            );
            if ctx.label.starts_with("ldap") {
                want.sort();
                got.sort();
                returned.sort();
            }
            assert_eq!(
                got, want,
                "{}: step {step}: {name} after {edits:?}",
                ctx.label
            );
            assert_eq!(
                returned, want,
                "{}: step {step}: returned {name}",
                ctx.label
            );
        }
        for k in 0..12 {
            let address = value_of_alias(k);
            let found = other.find_by_address(&address).await.unwrap();
            let held = model.get_all(A_ALIAS).contains(&address);
            assert_eq!(
                found.map(|f| f.id),
                held.then_some(e.id),
                "{}: step {step}: {address}",
                ctx.label
            );
        }
    }
}

/// The attribute whose values are addresses of the entry.
const A_ALIAS: &str = "zimbraMailAlias";

/// The `k`th alias address [`multi_value_edits_read_back_as_applied`] uses.
fn value_of_alias(k: u64) -> String {
    format!("alias{k}@edits.test")
}
