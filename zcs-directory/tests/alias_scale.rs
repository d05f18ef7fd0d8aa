//! Aliases at scale and alias moves (spec 03 §6 ideas 25 and 26): a thousand aliases on
//! one account all resolve to it, and an alias removed from one account (`zmprov raa`)
//! and added to another (`zmprov aaa`) resolves to the second.

mod common;

use std::time::Instant;

use common::{code, fixture};
use zcs_core::{Attrs, FaultCode};
use zcs_directory::provisioning::aliases_of;

#[tokio::test]
async fn a_thousand_aliases_on_one_account_all_resolve() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("big.test", Attrs::new()).await.unwrap();
    let acct = p
        .create_account("many@big.test", None, Attrs::new())
        .await
        .unwrap();

    let started = Instant::now();
    let mut lap = Instant::now();
    for i in 1..=1000 {
        p.add_account_alias("many@big.test", &format!("alias{i}@big.test"))
            .await
            .unwrap();
        if i % 250 == 0 {
            eprintln!(
                "aliases {}-{i}: {:.1} ms per add",
                i - 249,
                lap.elapsed().as_secs_f64() * 1000.0 / 250.0
            );
            lap = Instant::now();
        }
    }
    eprintln!("1000 aliases added in {:.2?}", started.elapsed());

    let a = p.get_account("many@big.test").await.unwrap();
    assert_eq!(aliases_of(&a).len(), 1000);
    assert_eq!(a.attrs.get_all("mail").len(), 1001, "name plus every alias");
    for i in 1..=1000 {
        let e = p
            .resolve_address(&format!("ALIAS{i}@big.test"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("alias{i} resolves"));
        assert_eq!(e.id, acct.id);
    }
    // The 1001st is refused when another entry holds the address, as the first was.
    p.create_account("other@big.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(
            p.add_account_alias("other@big.test", "alias500@big.test")
                .await
        ),
        FaultCode::AccountExists
    );
    // Removing one from the middle frees just that address.
    p.remove_account_alias("many@big.test", "alias500@big.test")
        .await
        .unwrap();
    assert!(
        p.resolve_address("alias500@big.test")
            .await
            .unwrap()
            .is_none()
    );
    let e = p
        .resolve_address("alias501@big.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.id, acct.id);
    let a = p.get_account("many@big.test").await.unwrap();
    assert_eq!(aliases_of(&a).len(), 999);
}

#[tokio::test]
async fn a_moved_alias_resolves_to_its_new_account() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("mv.test", Attrs::new()).await.unwrap();
    p.create_account("a@mv.test", None, Attrs::new())
        .await
        .unwrap();
    let b = p
        .create_account("b@mv.test", None, Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("a@mv.test", "sales@mv.test")
        .await
        .unwrap();

    // Zimbra has no move: while A holds it, B cannot take it.
    assert_eq!(
        code(p.add_account_alias("b@mv.test", "sales@mv.test").await),
        FaultCode::AccountExists
    );
    p.remove_account_alias("a@mv.test", "sales@mv.test")
        .await
        .unwrap();
    p.add_account_alias("b@mv.test", "sales@mv.test")
        .await
        .unwrap();

    let e = p.resolve_address("Sales@MV.test").await.unwrap().unwrap();
    assert_eq!(e.id, b.id);
    let a = p.get_account("a@mv.test").await.unwrap();
    assert!(aliases_of(&a).is_empty());
    assert!(!a.attrs.get_all("mail").iter().any(|m| m == "sales@mv.test"));
    let b = p.get_account("b@mv.test").await.unwrap();
    assert_eq!(aliases_of(&b), ["sales@mv.test"]);
}
