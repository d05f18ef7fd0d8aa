//! Conformance of filter search and the GAL on each backend: the same filter gives the
//! same entries, order, limit and attributes on SQLite, MariaDB, PostgreSQL and LDAP.

use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::provisioning::{GalRequest, GalType};
use zcs_directory::{EntryKey, Provisioning, SearchQuery};

use crate::attrs;
use crate::harness::Ctx;

async fn people(p: &Provisioning) {
    p.bootstrap().await.unwrap();
    p.create_domain("s.test", Attrs::new()).await.unwrap();
    p.create_domain("other.test", Attrs::new()).await.unwrap();
    for (n, given, sn, extra) in [
        ("alice@s.test", "Alice", "Archer", None),
        ("bob@s.test", "Bob", "Baker", None),
        (
            "carol@s.test",
            "Carol",
            "Cooper",
            Some(("zimbraHideInGal", "TRUE")),
        ),
        (
            "dave@s.test",
            "Dave",
            "Archer",
            Some(("zimbraAccountStatus", "locked")),
        ),
        ("alfred@other.test", "Alfred", "Archer", None),
    ] {
        let mut a = attrs(&[
            ("givenName", given),
            ("sn", sn),
            ("displayName", &format!("{given} {sn}")),
        ]);
        if let Some((k, v)) = extra {
            a.set_one(k, v);
        }
        p.create_account(n, None, a).await.unwrap();
    }
    p.create_calendar_resource(
        "room-a@s.test",
        None,
        attrs(&[
            ("displayName", "Archer Room"),
            ("zimbraCalResType", "Location"),
        ]),
    )
    .await
    .unwrap();
    p.create_distribution_list("archers@s.test", attrs(&[("displayName", "All Archers")]))
        .await
        .unwrap();
}

fn names(r: &[zcs_core::Entry]) -> Vec<String> {
    r.iter().map(|e| e.name.clone()).collect()
}

pub async fn filter_search_sorts_limits_and_projects(ctx: &Ctx) {
    let p = &ctx.prov;
    people(p).await;
    let filter = Provisioning::parse_search_filter("(sn=archer)").unwrap();
    let q = SearchQuery::new(&[EntryKind::Account]).with_filter(filter.clone());
    let r = p.search_directory(&q).await.unwrap();
    assert_eq!(
        names(&r.entries),
        ["alfred@other.test", "alice@s.test", "dave@s.test"],
        "{}",
        ctx.label
    );
    assert!(!r.more);

    let q = q.in_domain("S.TEST").with_limit(1);
    let r = p.search_directory(&q).await.unwrap();
    assert_eq!(names(&r.entries), ["alice@s.test"], "{}", ctx.label);
    assert!(r.more, "{}", ctx.label);

    let q = SearchQuery::new(&[EntryKind::Account])
        .with_filter(Provisioning::parse_search_filter("(|(gn=c*)(givenName=B*))").unwrap())
        .returning(vec!["GIVENNAME".into()])
        .sorted_by(Some("givenName".into()), false);
    let r = p.search_directory(&q).await.unwrap();
    assert_eq!(
        names(&r.entries),
        ["carol@s.test", "bob@s.test"],
        "{}",
        ctx.label
    );
    assert_eq!(r.entries[0].attrs.get("givenName"), Some("Carol"));
    assert!(r.entries[0].attrs.get("sn").is_none(), "{}", ctx.label);

    // Implied object classes, negation, presence and the id.
    let f = "(&(objectClass=zimbraAccount)(!(objectClass=zimbraCalendarResource))\
             (zimbraAccountStatus=locked))";
    let q = SearchQuery::new(&[EntryKind::Account, EntryKind::CalendarResource])
        .with_filter(Provisioning::parse_search_filter(f).unwrap());
    let r = p.search_directory(&q).await.unwrap();
    assert_eq!(names(&r.entries), ["dave@s.test"], "{}", ctx.label);
    let room = p.get_account("room-a@s.test").await;
    let room_id = match room {
        Ok(e) => e.id,
        Err(_) => {
            let q = SearchQuery::new(&[EntryKind::CalendarResource]);
            p.search_directory(&q).await.unwrap().entries[0].id
        }
    };
    let q = SearchQuery::new(&[EntryKind::CalendarResource])
        .with_filter(Provisioning::parse_search_filter(&format!("(zimbraId={room_id})")).unwrap());
    assert_eq!(
        names(&p.search_directory(&q).await.unwrap().entries),
        ["room-a@s.test"],
        "{}",
        ctx.label
    );

    // Injection: metacharacters in a value are data, never filter structure.
    let q = SearchQuery::new(&[EntryKind::Account]).with_filter(
        Provisioning::parse_search_filter("(displayName=*\\29\\28uid=\\2a*)").unwrap(),
    );
    assert!(p.search_directory(&q).await.unwrap().entries.is_empty());
    assert!(Provisioning::parse_search_filter("(cn=a)(uid=*)").is_err());
    // LIKE wildcards are literal.
    let q = SearchQuery::new(&[EntryKind::Account])
        .with_filter(Provisioning::parse_search_filter("(sn=%rch_r)").unwrap());
    assert!(p.search_directory(&q).await.unwrap().entries.is_empty());
}

pub async fn gal_search_autocomplete_and_hiding(ctx: &Ctx) {
    let p = &ctx.prov;
    people(p).await;
    let req = |text: &str, t: GalType, ac: bool| GalRequest {
        text: text.into(),
        gal_type: t,
        autocomplete: ac,
        limit: None,
    };
    let r = p
        .search_gal("s.test", &req("archer", GalType::All, false))
        .await
        .unwrap();
    // Hidden carol never shows; other.test is another domain.
    assert_eq!(
        names(&r.entries),
        [
            "alice@s.test",
            "archers@s.test",
            "dave@s.test",
            "room-a@s.test"
        ],
        "{}",
        ctx.label
    );
    let r = p
        .search_gal("s.test", &req("archer", GalType::Account, false))
        .await
        .unwrap();
    assert_eq!(
        names(&r.entries),
        ["alice@s.test", "archers@s.test", "dave@s.test"],
        "{}",
        ctx.label
    );
    let r = p
        .search_gal("s.test", &req("arch", GalType::Resource, false))
        .await
        .unwrap();
    assert_eq!(names(&r.entries), ["room-a@s.test"], "{}", ctx.label);
    let r = p
        .search_gal("s.test", &req("ARCH", GalType::Group, true))
        .await
        .unwrap();
    assert_eq!(names(&r.entries), ["archers@s.test"], "{}", ctx.label);

    // Autocomplete is a prefix match on names; search a substring match.
    let r = p
        .search_gal("s.test", &req("ob", GalType::All, true))
        .await
        .unwrap();
    assert!(r.entries.is_empty(), "{}", ctx.label);
    let r = p
        .search_gal("s.test", &req("bo", GalType::All, true))
        .await
        .unwrap();
    assert_eq!(names(&r.entries), ["bob@s.test"], "{}", ctx.label);
    let r = p
        .search_gal("s.test", &req("carol", GalType::All, true))
        .await
        .unwrap();
    assert!(r.entries.is_empty(), "hidden in GAL ({})", ctx.label);

    // zimbraGalMaxResults caps any request.
    p.modify_domain(
        &EntryKey::Name("s.test".into()),
        &[AttrEdit::Replace(
            "zimbraGalMaxResults".into(),
            vec!["2".into()],
        )],
    )
    .await
    .unwrap();
    let mut big = req("", GalType::All, false);
    big.limit = Some(50);
    let r = p.search_gal("s.test", &big).await.unwrap();
    assert_eq!(r.entries.len(), 2, "{}", ctx.label);
    assert!(r.more, "{}", ctx.label);

    // Injection through the GAL text finds nothing and breaks nothing.
    let r = p
        .search_gal(
            "s.test",
            &req("*)(zimbraHideInGal=TRUE", GalType::All, false),
        )
        .await
        .unwrap();
    assert!(r.entries.is_empty(), "{}", ctx.label);

    let all = p.sync_gal("s.test").await.unwrap();
    assert!(!names(&all).contains(&"carol@s.test".to_string()));
    assert!(names(&all).contains(&"room-a@s.test".to_string()));
}

/// The first `limit` numbers below `n` that pass `keep`, and how many pass in all.
fn expected(n: usize, limit: usize, keep: impl Fn(usize) -> bool) -> (Vec<String>, usize) {
    let all: Vec<usize> = (0..n).filter(|i| keep(*i)).collect();
    let first = all
        .iter()
        .take(limit)
        .map(|i| format!("p{i:04}@d.test"))
        .collect();
    (first, all.len())
}

/// A prefix shared by most of a domain (more index rows than the search reads by id)
/// takes the name-order plan; a rare one the by-id plan. Both must give the order,
/// limit and `more` that filtering every entry would.
pub async fn dense_and_sparse_prefixes_agree(ctx: &Ctx) {
    const N: usize = 1_700;
    let dir = ctx.dir.clone();
    dir.create_entry(EntryKind::Domain, "d.test", Attrs::new())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for chunk in 0..8usize {
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            for i in (chunk..N).step_by(8) {
                let given = if i.is_multiple_of(7) { "Zed" } else { "Jo" };
                let mut a = attrs(&[
                    ("givenName", given),
                    ("displayName", &format!("{given} {i}")),
                ]);
                if i.is_multiple_of(3) {
                    a.set_one("zimbraHideInGal", "TRUE");
                }
                let kind = if i.is_multiple_of(50) {
                    EntryKind::DistributionList
                } else {
                    EntryKind::Account
                };
                dir.create_entry(kind, &format!("p{i:04}@d.test"), a)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let search = |f: &str, limit: usize| {
        SearchQuery::new(&[EntryKind::Account])
            .in_domain("D.test")
            .with_filter(Provisioning::parse_search_filter(f).unwrap())
            .with_limit(limit)
    };
    let visible = |i: usize| !i.is_multiple_of(50) && !i.is_multiple_of(3);
    let dense = "(&(|(givenName=jo*)(displayName=JO*))(!(zimbraHideInGal=TRUE)))";
    for limit in [1, 10, 300] {
        let r = dir.search_entries(&search(dense, limit)).await.unwrap();
        let (want, _) = expected(N, limit, |i| !i.is_multiple_of(7) && visible(i));
        assert_eq!(names(&r.entries), want, "{} limit {limit}", ctx.label);
        assert!(r.more, "{}", ctx.label);
    }
    // A limit above the matches reads the whole domain and says no more.
    let r = dir.search_entries(&search(dense, 5_000)).await.unwrap();
    let (want, total) = expected(N, 5_000, |i| !i.is_multiple_of(7) && visible(i));
    assert_eq!(r.entries.len(), total, "{}", ctx.label);
    assert_eq!(names(&r.entries), want, "{}", ctx.label);
    assert!(!r.more, "{}", ctx.label);

    let sparse = "(&(|(givenName=zed)(displayName=zed 1*))(!(zimbraHideInGal=TRUE)))";
    let r = dir.search_entries(&search(sparse, 4)).await.unwrap();
    let (want, _) = expected(N, 4, |i| i.is_multiple_of(7) && visible(i));
    assert_eq!(names(&r.entries), want, "{}", ctx.label);
    assert!(r.more, "{}", ctx.label);
    // No limit: every match, by id.
    let r = dir.search_entries(&search(sparse, 0)).await.unwrap();
    let (_, total) = expected(N, 0, |i| i.is_multiple_of(7) && visible(i));
    assert_eq!(r.entries.len(), total, "{}", ctx.label);

    // The GAL over the same domain: autocomplete by first name.
    let r = ctx
        .prov
        .search_gal(
            "d.test",
            &GalRequest {
                text: "jo".into(),
                gal_type: GalType::Account,
                autocomplete: true,
                limit: Some(20),
            },
        )
        .await
        .unwrap();
    let (want, _) = expected(N, 20, |i| !i.is_multiple_of(7) && !i.is_multiple_of(3));
    assert_eq!(names(&r.entries), want, "{}", ctx.label);
    assert!(r.more, "{}", ctx.label);
}

/// Autocomplete names in the domain, limit 20.
async fn complete(p: &Provisioning, domain: &str, text: &str) -> (Vec<String>, bool) {
    let r = p
        .search_gal(
            domain,
            &GalRequest {
                text: text.into(),
                gal_type: GalType::All,
                autocomplete: true,
                limit: Some(20),
            },
        )
        .await
        .unwrap();
    (names(&r.entries), r.more)
}

/// GAL autocomplete follows every change of the names it matches on (the SQL backends
/// answer it from a table of name prefixes that must be rewritten with the entry), and
/// a long prefix rarer than its first characters still finds its few entries in order.
pub async fn autocomplete_follows_renames_edits_and_deletes(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    for d in ["g.test", "h.test"] {
        p.create_domain(d, Attrs::new()).await.unwrap();
    }
    p.create_account(
        "zq@g.test",
        None,
        attrs(&[("displayName", "Zelda Quinn"), ("sn", "Quinn")]),
    )
    .await
    .unwrap();
    assert_eq!(
        complete(p, "g.test", "zel").await.0,
        ["zq@g.test"],
        "{}",
        ctx.label
    );
    assert_eq!(complete(p, "g.test", "Zelda Q").await.0, ["zq@g.test"]);
    assert!(complete(p, "g.test", "zelda x").await.0.is_empty());
    assert!(
        complete(p, "h.test", "zel").await.0.is_empty(),
        "{}",
        ctx.label
    );

    p.modify_account(
        "zq@g.test",
        &[
            AttrEdit::Replace("displayName".into(), vec!["Yara Quinn".into()]),
            // cn was copied from the display name at creation.
            AttrEdit::Replace("cn".into(), vec!["Yara Quinn".into()]),
        ],
    )
    .await
    .unwrap();
    assert!(
        complete(p, "g.test", "zel").await.0.is_empty(),
        "{}",
        ctx.label
    );
    assert_eq!(complete(p, "g.test", "yar").await.0, ["zq@g.test"]);
    // The address is a name too, and follows a rename into another domain.
    assert_eq!(complete(p, "g.test", "zq@").await.0, ["zq@g.test"]);
    p.rename_account("zq@g.test", "yq@h.test").await.unwrap();
    assert!(
        complete(p, "g.test", "yar").await.0.is_empty(),
        "{}",
        ctx.label
    );
    assert_eq!(
        complete(p, "h.test", "yar").await.0,
        ["yq@h.test"],
        "{}",
        ctx.label
    );
    assert_eq!(complete(p, "h.test", "yq@h").await.0, ["yq@h.test"]);
    assert!(
        complete(p, "h.test", "zq@").await.0.is_empty(),
        "{}",
        ctx.label
    );
    p.delete_account("yq@h.test").await.unwrap();
    assert!(
        complete(p, "h.test", "yar").await.0.is_empty(),
        "{}",
        ctx.label
    );

    // 300 Smiths and three Smithers: "smithe" shares its first characters with every
    // one of them, more than one page of the prefix table.
    let dir = ctx.dir.clone();
    let mut tasks = Vec::new();
    for chunk in 0..4usize {
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            for i in (chunk..303).step_by(4) {
                let sn = if i % 100 == 42 { "Smithers" } else { "Smith" };
                let a = attrs(&[("sn", sn), ("displayName", &format!("Pat {sn}"))]);
                dir.create_entry(EntryKind::Account, &format!("s{i:03}@g.test"), a)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        complete(p, "g.test", "smithe").await,
        (
            vec![
                "s042@g.test".to_string(),
                "s142@g.test".to_string(),
                "s242@g.test".to_string()
            ],
            false
        ),
        "{}",
        ctx.label
    );
    let (first, more) = complete(p, "g.test", "smi").await;
    assert_eq!(first.len(), 20, "{}", ctx.label);
    assert_eq!(first[0], "s000@g.test");
    assert_eq!(first[19], "s019@g.test");
    assert!(more);
}
