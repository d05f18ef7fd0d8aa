//! Distribution lists from the user API (create, subscribe under each policy, owners'
//! actions, members a user may see), SyncGal with its token, and the admin
//! FlushCacheRequest against a server whose directory is cached, over real HTTP on
//! 127.0.0.1.

mod soap_support;

use std::sync::Arc;

use soap_support::*;
use tokio::net::TcpListener;
use zcs_core::{AttrEdit, ItemId};
use zcs_directory::{AuthRegistry, CacheSettings, EntryKey, Provisioning, SqlDirectory};
use zcs_index::TantivyIndex;
use zcs_server::frontends::http::{router, serve_plain};
use zcs_server::indexer::Indexer;
use zcs_server::soap::SoapService;

/// Sends an account request as `token`; returns the reply.
async fn user(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
}

/// `body` with the account namespace on its first element.
fn acct(body: &str) -> String {
    let end = body[1..]
        .find([' ', '/', '>'])
        .map_or(body.len(), |i| i + 1);
    format!(
        "{} xmlns=\"urn:zimbraAccount\"{}",
        &body[..end],
        &body[end..]
    )
}

#[tokio::test]
async fn users_create_subscribe_and_own_lists() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let create = acct(
        "<CreateDistributionListRequest><name>team@example.test</name>\
         <a n=\"zimbraDistributionListSubscriptionPolicy\">ACCEPT</a>\
         <a n=\"zimbraIsAdminGroup\">TRUE</a></CreateDistributionListRequest>",
    );
    // Without createDistList on the domain: refused.
    let r = user(&f, &alice, &create).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    let alice_entry = f.prov.get_account(ALICE).await.unwrap();
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Add(
                "zimbraACE".into(),
                format!("{} usr createDistList", alice_entry.id),
            )],
        )
        .await
        .unwrap();
    let r = user(&f, &alice, &create).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("name=\"team@example.test\""), "{}", r.body);
    let list = f.prov.get_group("team@example.test").await.unwrap();
    // The owner cannot make the list an admin group.
    assert!(list.attrs.get("zimbraIsAdminGroup").is_none());

    // Bob joins (ACCEPT), sees it among his lists and among its members.
    let sub = acct(
        "<SubscribeDistributionListRequest op=\"subscribe\">\
         <dl by=\"name\">team@example.test</dl></SubscribeDistributionListRequest>",
    );
    let r = user(&f, &bob, &sub).await;
    assert!(r.body.contains("status=\"subscribed\""), "{}", r.body);
    let r = user(&f, &bob, &acct("<GetAccountDistributionListsRequest/>")).await;
    assert!(r.body.contains("name=\"team@example.test\""), "{}", r.body);
    assert!(r.body.contains("isMember=\"1\""), "{}", r.body);
    let members = acct(
        "<GetDistributionListMembersRequest><dl>team@example.test</dl>\
         </GetDistributionListMembersRequest>",
    );
    let r = user(&f, &bob, &members).await;
    assert!(r.body.contains(&format!("<dlm>{BOB}</dlm>")), "{}", r.body);

    // Leaving is refused while the unsubscription policy is unset (REJECT).
    let unsub = sub.replace("op=\"subscribe\"", "op=\"unsubscribe\"");
    let r = user(&f, &bob, &unsub).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // Bob is not an owner: his actions are refused; the owner's succeed.
    let add = |who: &str| {
        acct(&format!(
            "<DistributionListActionRequest><dl by=\"name\">team@example.test</dl>\
             <action op=\"addMembers\"><dlm>{who}</dlm></action>\
             </DistributionListActionRequest>"
        ))
    };
    let r = user(&f, &bob, &add("x@remote.test")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    let r = user(&f, &alice, &add("x@remote.test")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set_policy = acct(
        "<DistributionListActionRequest><dl by=\"name\">team@example.test</dl>\
         <action op=\"modify\">\
         <a n=\"zimbraDistributionListUnsubscriptionPolicy\">APPROVAL</a></action>\
         </DistributionListActionRequest>",
    );
    let r = user(&f, &alice, &set_policy).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let grant_admin = set_policy.replace(
        "zimbraDistributionListUnsubscriptionPolicy\">APPROVAL",
        "zimbraIsAdminGroup\">TRUE",
    );
    let r = user(&f, &alice, &grant_admin).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // APPROVAL: nothing changes, the owner gets a request in her Inbox.
    let r = user(&f, &bob, &unsub).await;
    assert!(
        r.body.contains("status=\"awaiting_approval\""),
        "{}",
        r.body
    );
    let mb = f.store.mailbox(alice_entry.id).await.unwrap();
    let inbox = mb.messages(ItemId(2)).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let raw = String::from_utf8(mb.read_message(inbox[0].id).await.unwrap()).unwrap();
    assert!(
        raw.contains("Unsubscription request for team@example.test"),
        "{raw}"
    );
    assert!(raw.contains(BOB), "{raw}");
    let accept = acct(&format!(
        "<DistributionListActionRequest><dl by=\"name\">team@example.test</dl>\
         <action op=\"acceptSubsReq\"><subsReq op=\"unsubscribe\">{BOB}</subsReq></action>\
         </DistributionListActionRequest>"
    ));
    let r = user(&f, &alice, &accept).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = f.prov.get_group("team@example.test").await.unwrap();
    assert_eq!(
        f.prov.group_members(&list).await.unwrap(),
        vec!["x@remote.test".to_string()]
    );

    // Owners: add Bob, who may then act; GetDistributionList lists both.
    let owners = acct(&format!(
        "<DistributionListActionRequest><dl by=\"id\">{}</dl><action op=\"addOwners\">\
         <owner type=\"usr\" by=\"name\">{BOB}</owner></action>\
         </DistributionListActionRequest>",
        list.id
    ));
    let r = user(&f, &alice, &owners).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = user(&f, &bob, &add(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let get = acct(
        "<GetDistributionListRequest needOwners=\"1\" needRights=\"sendToDistList\">\
         <dl by=\"name\">team@example.test</dl></GetDistributionListRequest>",
    );
    let r = user(&f, &bob, &get).await;
    assert!(r.body.contains(&format!("name=\"{ALICE}\"")), "{}", r.body);
    assert!(r.body.contains(&format!("name=\"{BOB}\"")), "{}", r.body);
    assert!(r.body.contains("isOwner=\"1\""), "{}", r.body);
    assert!(
        !r.body.contains("zimbraMailForwardingAddress"),
        "{}",
        r.body
    );
    // Rights an owner grants show up; ownDistList cannot be granted that way.
    let grant = acct(&format!(
        "<DistributionListActionRequest><dl by=\"name\">team@example.test</dl>\
         <action op=\"grantRights\"><right right=\"sendToDistList\">\
         <grantee type=\"email\" by=\"name\">{ALICE}</grantee></right></action>\
         </DistributionListActionRequest>"
    ));
    let r = user(&f, &bob, &grant).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = user(&f, &bob, &get).await;
    assert!(
        r.body
            .contains("<right right=\"sendToDistList\"><grantee type=\"usr\""),
        "{}",
        r.body
    );
    let r = user(&f, &bob, &grant.replace("sendToDistList", "ownDistList")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );

    // Hidden from the GAL: Bob (an owner) still sees it; after leaving the owners a
    // non-member non-owner cannot find it.
    f.prov
        .modify_group(
            "team@example.test",
            &[AttrEdit::Replace(
                "zimbraHideInGal".into(),
                vec!["TRUE".into()],
            )],
        )
        .await
        .unwrap();
    let r = user(&f, &bob, &members).await;
    assert_eq!(r.status, 200, "{}", r.body);
    f.prov
        .remove_list_owner("team@example.test", BOB)
        .await
        .unwrap();
    let r = user(&f, &bob, &get).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.NO_SUCH_DISTRIBUTION_LIST"),
        "{}",
        r.body
    );

    // Rename and delete by the owner.
    let rename = acct(
        "<DistributionListActionRequest><dl by=\"name\">team@example.test</dl>\
         <action op=\"rename\"><newName>crew@example.test</newName></action>\
         </DistributionListActionRequest>",
    );
    let r = user(&f, &alice, &rename).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let delete = acct(
        "<DistributionListActionRequest><dl by=\"name\">crew@example.test</dl>\
         <action op=\"delete\"/></DistributionListActionRequest>",
    );
    let r = user(&f, &alice, &delete).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        f.prov
            .find_group("crew@example.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn sync_gal_returns_everything_then_only_changes() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let r = user(&f, &alice, &acct("<SyncGalRequest/>")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(BOB), "{}", r.body);
    let token_of = |body: &str| {
        let start = body.find("token=\"").expect("token") + 7;
        body[start..start + body[start..].find('"').expect("end")].to_string()
    };
    let token = token_of(&r.body);
    let again = acct(&format!("<SyncGalRequest token=\"{token}\"/>"));
    let r = user(&f, &alice, &again).await;
    assert!(!r.body.contains("<cn"), "{}", r.body);
    f.prov
        .modify_account(
            BOB,
            &[AttrEdit::Replace(
                "displayName".into(),
                vec!["Bob B".into()],
            )],
        )
        .await
        .unwrap();
    // A remembered token gets the delta: Bob changed, nobody else is sent.
    let r = user(&f, &alice, &again).await;
    assert!(r.body.contains("Bob B"), "{}", r.body);
    assert_eq!(r.body.matches("<cn").count(), 1, "{}", r.body);
    assert!(!r.body.contains("fullSyncRecommended"), "{}", r.body);
    // A removed entry is a <deleted id=>.
    let token = token_of(&r.body);
    let bob_id = f.prov.find_account(BOB).await.unwrap().expect("bob").id;
    f.prov.delete_account(BOB).await.unwrap();
    let r = user(
        &f,
        &alice,
        &acct(&format!("<SyncGalRequest token=\"{token}\"/>")),
    )
    .await;
    assert!(!r.body.contains("<cn"), "{}", r.body);
    assert!(
        r.body.contains(&format!("<deleted id=\"{bob_id}\"")),
        "{}",
        r.body
    );
    // A token this server does not remember: everything, with a full sync recommended.
    let r = user(
        &f,
        &alice,
        &acct("<SyncGalRequest token=\"zcs1:1:00ff00ff00ff00ff00ff00ff\"/>"),
    )
    .await;
    assert!(r.body.contains("fullSyncRecommended=\"1\""), "{}", r.body);
    assert!(r.body.contains(ALICE), "{}", r.body);
    // The COS switch turns it off.
    f.prov
        .modify_account(
            ALICE,
            &[AttrEdit::Replace(
                "zimbraFeatureGalSyncEnabled".into(),
                vec!["FALSE".into()],
            )],
        )
        .await
        .unwrap();
    let r = user(&f, &alice, &acct("<SyncGalRequest/>")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn flush_cache_request_shows_an_out_of_band_change() {
    let f = fixture().await;
    // A second server over the same directory file, with a cache in front.
    let path = f._tmp.path().join("directory.db");
    let cached = Arc::new(
        Provisioning::new(
            Arc::new(SqlDirectory::open_sqlite(&path).await.unwrap()),
            AuthRegistry::with_builtins(),
        )
        .with_cache(CacheSettings::new()),
    );
    let index = Arc::new(TantivyIndex::open(&f._tmp.path().join("index2")).unwrap());
    let (indexer, _task) = Indexer::start(f.store.clone(), index.clone());
    let svc = Arc::new(SoapService::new(
        cached.clone(),
        f.store.clone(),
        index,
        indexer,
        None,
        "cached.example.test",
    ));
    let user_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let user_addr = user_l.local_addr().unwrap();
    let admin_addr = admin_l.local_addr().unwrap();
    tokio::spawn(serve_plain(
        user_l,
        router(svc.clone(), false),
        f.shutdown_rx.clone(),
    ));
    tokio::spawn(serve_plain(
        admin_l,
        router(svc.clone(), true),
        f.shutdown_rx.clone(),
    ));

    let admin_auth = format!(
        "<AuthRequest xmlns=\"urn:zimbraAdmin\"><name>{ADMIN}</name>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(
        admin_addr,
        "/service/admin/soap",
        &soap12(None, &admin_auth),
        "",
    )
    .await;
    let admin = xml_text(&r.body, "authToken").expect("token");
    let get = format!(
        "<GetAccountRequest xmlns=\"urn:zimbraAdmin\" attrs=\"displayName\">\
         <account by=\"name\">{BOB}</account></GetAccountRequest>"
    );
    let ask = || async {
        post(
            admin_addr,
            "/service/admin/soap",
            &soap12(Some(&admin), &get),
            "",
        )
        .await
        .body
    };
    assert!(!ask().await.contains("Out Of Band"));
    // Changed by "another process": the cached server does not see it.
    f.prov
        .modify_account(
            BOB,
            &[AttrEdit::Replace(
                "displayName".into(),
                vec!["Out Of Band".into()],
            )],
        )
        .await
        .unwrap();
    assert!(!ask().await.contains("Out Of Band"));
    let flush = format!(
        "<FlushCacheRequest xmlns=\"urn:zimbraAdmin\"><cache type=\"account\">\
         <entry by=\"name\">{BOB}</entry></cache></FlushCacheRequest>"
    );
    let r = post(
        admin_addr,
        "/service/admin/soap",
        &soap12(Some(&admin), &flush),
        "",
    )
    .await;
    assert!(r.body.contains("FlushCacheResponse"), "{}", r.body);
    assert!(ask().await.contains("Out Of Band"));
    // A user token cannot flush; an unknown type is refused.
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAccount\"><account by=\"name\">{ALICE}</account>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(user_addr, "/service/soap", &soap12(None, &body), "").await;
    let alice = xml_text(&r.body, "authToken").expect("token");
    let r = post(
        admin_addr,
        "/service/admin/soap",
        &soap12(Some(&alice), &flush),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    let bad = flush.replace("type=\"account\"", "type=\"bogus\"");
    let r = post(
        admin_addr,
        "/service/admin/soap",
        &soap12(Some(&admin), &bad),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.INVALID_REQUEST"),
        "{}",
        r.body
    );
    // A change made through the cached server is seen at once.
    let modify = format!(
        "<ModifyAccountRequest xmlns=\"urn:zimbraAdmin\" id=\"{}\">\
         <a n=\"displayName\">Through Me</a></ModifyAccountRequest>",
        cached.get_account(BOB).await.unwrap().id
    );
    let r = post(
        admin_addr,
        "/service/admin/soap",
        &soap12(Some(&admin), &modify),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(ask().await.contains("Through Me"));
}
