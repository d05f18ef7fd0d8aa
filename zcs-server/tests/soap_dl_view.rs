//! Who may expand a distribution list with GetDistributionListMembersRequest, over real
//! HTTP on 127.0.0.1: `viewDistList` (spec 03 §6 idea 36: granted to one user, that
//! user expands the list and another is refused; everybody holds it while nobody is
//! granted it; a domain grant counts), and a list hidden from the GAL, which only its
//! owners may expand (Zimbra's GetDistributionListMembers: to others, members
//! included, it does not exist).

mod soap_support;

use soap_support::*;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::EntryKey;

const CAROL: &str = "carol@example.test";

/// Asks for the members of `list` as `token`.
async fn expand(f: &Fixture, token: &str, list: &str) -> Reply {
    let body = format!(
        "<GetDistributionListMembersRequest xmlns=\"urn:zimbraAccount\"><dl>{list}</dl>\
         </GetDistributionListMembersRequest>"
    );
    post(f.user, "/service/soap", &soap12(Some(token), &body), "").await
}

#[tokio::test]
async fn view_dist_list_decides_who_expands_a_list() {
    let f = fixture().await;
    f.prov
        .create_account(CAROL, Some(PASSWORD), Attrs::new())
        .await
        .unwrap();
    let (alice, bob, carol) = (
        login(&f, ALICE).await,
        login(&f, BOB).await,
        login(&f, CAROL).await,
    );
    let list = "team@example.test";
    f.prov
        .create_distribution_list(list, Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_group_members(list, &[BOB.to_string(), "x@remote.test".to_string()])
        .await
        .unwrap();

    // Nobody is granted viewDistList: everybody may expand.
    for token in [&alice, &bob, &carol] {
        let r = expand(&f, token, list).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains(&format!("<dlm>{BOB}</dlm>")), "{}", r.body);
    }

    // Idea 36: granted to alice, alice expands, bob (even a member) and carol do not.
    let alice_id = f.prov.get_account(ALICE).await.unwrap().id;
    f.prov
        .modify_group(
            list,
            &[AttrEdit::Add(
                "zimbraACE".into(),
                format!("{alice_id} usr viewDistList"),
            )],
        )
        .await
        .unwrap();
    let r = expand(&f, &alice, list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<dlm>x@remote.test</dlm>"), "{}", r.body);
    for token in [&bob, &carol] {
        let r = expand(&f, token, list).await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.PERM_DENIED"),
            "{}",
            r.body
        );
    }

    // A grant on the domain reaches every list there that grants nothing itself.
    let other = "other@example.test";
    f.prov
        .create_distribution_list(other, Attrs::new())
        .await
        .unwrap();
    let carol_id = f.prov.get_account(CAROL).await.unwrap().id;
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Add(
                "zimbraACE".into(),
                format!("{carol_id} usr viewDistList"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(expand(&f, &carol, other).await.status, 200);
    assert_eq!(
        expand(&f, &bob, other).await.fault_code().as_deref(),
        Some("service.PERM_DENIED")
    );
    // The list's own grant wins over the domain's: carol still cannot expand `team`.
    assert_eq!(
        expand(&f, &carol, list).await.fault_code().as_deref(),
        Some("service.PERM_DENIED")
    );
}

#[tokio::test]
async fn a_hidden_list_expands_only_for_its_owners() {
    let f = fixture().await;
    f.prov
        .create_account(CAROL, Some(PASSWORD), Attrs::new())
        .await
        .unwrap();
    let (alice, bob, carol) = (
        login(&f, ALICE).await,
        login(&f, BOB).await,
        login(&f, CAROL).await,
    );
    let admin = login(&f, ADMIN).await;
    let list = "secret@example.test";
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraHideInGal", "TRUE");
    f.prov.create_distribution_list(list, attrs).await.unwrap();
    f.prov
        .add_group_members(list, &[BOB.to_string()])
        .await
        .unwrap();
    f.prov.add_list_owner(list, ALICE).await.unwrap();

    let r = expand(&f, &alice, list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&format!("<dlm>{BOB}</dlm>")), "{}", r.body);
    let r = expand(&f, &admin, list).await;
    assert_eq!(r.status, 200, "the domain's administrator: {}", r.body);
    // A member who is not an owner, and a stranger: no such list.
    for token in [&bob, &carol] {
        let r = expand(&f, token, list).await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("account.NO_SUCH_DISTRIBUTION_LIST"),
            "{}",
            r.body
        );
    }
}
