//! Conformance case for the domain account limit under concurrency: creations racing
//! for a domain's last place (`zimbraDomainMaxAccounts`) give exactly one account and
//! `account.TOO_MANY_ACCOUNTS` for the others, through one `Provisioning` and through
//! two opened on the same store in one process (spec 02 §1.3.6).

use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::{AuthRegistry, EntryKey, Provisioning};

use crate::attrs;
use crate::harness::Ctx;

/// How many creations race in each round.
const RACERS: usize = 4;

pub async fn racing_creates_for_the_last_account_place(ctx: &Ctx) {
    let p = ctx.prov.clone();
    let second = Provisioning::new(ctx.reopen().await, AuthRegistry::new());
    p.create_domain("lim.test", attrs(&[("zimbraDomainMaxAccounts", "1")]))
        .await
        .unwrap();
    let handles = [p.clone(), second];
    for round in 0..3usize {
        // One place is left: the domain holds `round` accounts and allows one more.
        let max = (round + 1).to_string();
        let edit = [AttrEdit::Replace(
            "zimbraDomainMaxAccounts".into(),
            vec![max],
        )];
        p.modify_domain(&EntryKey::Name("lim.test".into()), &edit)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let h = handles[i % handles.len()].clone();
            let name = format!("r{round}-{i}@lim.test");
            tasks.push(tokio::spawn(async move {
                h.create_account(&name, None, Attrs::new()).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(_) => won += 1,
                Err(e) => assert_eq!(
                    e.code.as_str(),
                    "account.TOO_MANY_ACCOUNTS",
                    "round {round} on {}: {e}",
                    ctx.label
                ),
            }
        }
        assert_eq!(won, 1, "one winner in round {round} on {}", ctx.label);
        let held = ctx
            .dir
            .list_entries(EntryKind::Account, Some("lim.test"))
            .await
            .unwrap();
        assert_eq!(
            held.len(),
            round + 1,
            "accounts after round {round} on {}",
            ctx.label
        );
    }
    let usage = p
        .domain_account_usage(&EntryKey::Name("lim.test".into()))
        .await
        .unwrap();
    assert_eq!(usage.accounts, 3);
    drop(handles);
}
