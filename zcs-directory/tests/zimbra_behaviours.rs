//! Zimbra behaviours its clients and QA harness rely on, on every backend: an
//! internationalised domain is stored in its `xn--` form and found by either form
//! (accounts in it too); a new domain carries `zimbraMailStatus: enabled`; spaces at the
//! ends of a substring filter's parts are insignificant, as OpenLDAP treats them; a
//! `zimbraMailMessageLifetime` under 30 days is accepted; GAL sync accounts are set up
//! (hidden system account, `gal` data sources, the domain's `zimbraGalAccountId`) and
//! removed.
//!
//! Every case runs on SQLite (bare and cached), on MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set, and on OpenLDAP when the
//! `ZCS_TEST_LDAP_*` variables are set (each skipped loudly otherwise).

#[allow(dead_code)]
#[path = "conformance/harness.rs"]
mod harness;
mod ldap_env;

use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::search::SearchQuery;
use zcs_directory::{EntryKey, Provisioning};

/// `schäfer.de` and its ASCII form (RFC 3492 Punycode of `schäfer` is `schfer-dua`).
const IDN: &str = "sch\u{e4}fer.de";
const ACE: &str = "xn--schfer-dua.de";

async fn idn_domains_are_stored_ascii_and_found_by_either_form(p: &Provisioning) {
    let d = p.create_domain(IDN, Attrs::new()).await.unwrap();
    assert_eq!(d.name, ACE);
    assert_eq!(d.attrs.get("zimbraDomainName"), Some(ACE));
    let by_ace = p.get_domain(&EntryKey::Name(ACE.into())).await.unwrap();
    let by_unicode = p
        .get_domain(&EntryKey::Name("SCH\u{c4}FER.de".into()))
        .await
        .unwrap();
    assert_eq!(by_ace.id, d.id);
    assert_eq!(by_unicode.id, d.id);
    let a = p
        .create_account(&format!("german1@{IDN}"), Some("Passw0rd!"), Attrs::new())
        .await
        .unwrap();
    assert_eq!(a.name, format!("german1@{ACE}"));
    assert_eq!(
        p.get_account(&format!("German1@{IDN}")).await.unwrap().id,
        a.id
    );
    assert_eq!(
        p.get_account(&format!("german1@{ACE}")).await.unwrap().id,
        a.id
    );
    // A creation under the other spelling is the same name.
    assert!(p.create_domain(ACE, Attrs::new()).await.is_err());
}

async fn new_domains_have_mail_enabled(p: &Provisioning) {
    let d = p.create_domain("status.test", Attrs::new()).await.unwrap();
    assert_eq!(d.attrs.get("zimbraMailStatus"), Some("enabled"));
    let q = SearchQuery::new(&[EntryKind::Domain])
        .with_filter(Provisioning::parse_search_filter("(zimbraMailStatus=*)").unwrap());
    let found = p.search_directory(&q).await.unwrap();
    assert!(
        found.entries.iter().any(|e| e.id == d.id),
        "{:?}",
        found.entries
    );
}

async fn substring_spaces_are_insignificant(p: &Provisioning) {
    p.create_domain("spaces.test", Attrs::new()).await.unwrap();
    let mut attrs = Attrs::new();
    attrs.set_one("displayName", "Search Dir Person");
    let a = p
        .create_account("searchdir.1@spaces.test", None, attrs)
        .await
        .unwrap();
    for f in [
        "(|(cn=*  searchdir  *)(zimbraMailDeliveryAddress=*   searchdir   *))",
        "(displayName=*dir   person *)",
        "(displayName=  search*)",
    ] {
        let q = SearchQuery::new(&[EntryKind::Account])
            .with_filter(Provisioning::parse_search_filter(f).unwrap());
        let found = p.search_directory(&q).await.unwrap();
        assert!(found.entries.iter().any(|e| e.id == a.id), "{f}");
    }
}

async fn short_message_lifetimes_are_accepted(p: &Provisioning) {
    p.create_domain("life.test", Attrs::new()).await.unwrap();
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraMailMessageLifetime", "10d");
    let a = p
        .create_account("life@life.test", None, attrs)
        .await
        .unwrap();
    assert_eq!(a.attrs.get("zimbraMailMessageLifetime"), Some("10d"));
    let edit = [AttrEdit::Replace(
        "zimbraMailMessageLifetime".into(),
        vec!["1d".into()],
    )];
    let a = p.modify_account("life@life.test", &edit).await.unwrap();
    assert_eq!(a.attrs.get("zimbraMailMessageLifetime"), Some("1d"));
}

async fn gal_sync_accounts_are_set_up_and_removed(p: &Provisioning) {
    use zcs_directory::provisioning::{Child, GalSyncSpec};
    p.create_domain("gs.test", Attrs::new()).await.unwrap();
    let spec = GalSyncSpec {
        account: "galsync@gs.test",
        domain: "gs.test",
        source: "internal",
        gal_type: "zimbra",
        folder: Some("_InternalGAL"),
        password: None,
    };
    let a = p.create_gal_sync_account(&spec).await.unwrap();
    assert_eq!(a.attrs.get("zimbraHideInGal"), Some("TRUE"));
    assert_eq!(a.attrs.get("zimbraIsSystemResource"), Some("TRUE"));
    let d = p
        .get_domain(&EntryKey::Name("gs.test".into()))
        .await
        .unwrap();
    assert_eq!(d.attrs.get_all("zimbraGalAccountId"), [a.id.to_string()]);
    // Spec 02 §6 idea 24: the GAL sync account cannot be renamed.
    let renamed = p
        .rename_account("galsync@gs.test", "galsync2@gs.test")
        .await;
    assert_eq!(
        renamed.expect_err("refused").code,
        zcs_core::FaultCode::InvalidRequest
    );
    let ds = p
        .get_child(Child::DataSource, "galsync@gs.test", "internal")
        .await
        .unwrap();
    assert_eq!(ds.attrs.get("zimbraDataSourceType"), Some("gal"));
    assert_eq!(ds.attrs.get("zimbraGalType"), Some("zimbra"));
    // A second source on the same account: listed once.
    let ldap = GalSyncSpec {
        source: "external",
        gal_type: "ldap",
        ..spec
    };
    p.create_gal_sync_account(&ldap).await.unwrap();
    let d = p
        .get_domain(&EntryKey::Name("gs.test".into()))
        .await
        .unwrap();
    assert_eq!(d.attrs.get_all("zimbraGalAccountId").len(), 1);
    assert!(
        p.create_gal_sync_account(&ldap).await.is_err(),
        "same source twice"
    );
    let bad = GalSyncSpec {
        gal_type: "ad",
        ..spec
    };
    assert!(p.create_gal_sync_account(&bad).await.is_err());
    assert_eq!(p.gal_sync_accounts("gs.test").await.unwrap().len(), 1);
    p.delete_gal_sync_account("galsync@gs.test").await.unwrap();
    let d = p
        .get_domain(&EntryKey::Name("gs.test".into()))
        .await
        .unwrap();
    assert!(d.attrs.get_all("zimbraGalAccountId").is_empty());
    assert!(p.find_account("galsync@gs.test").await.unwrap().is_none());
}

/// The sync plan of a GAL sync account: the domain's GAL entries (not hidden, not the
/// account itself) as contact fields for its enabled internal source and folder; then
/// the outcome is stamped on the source.
async fn gal_sync_plan_lists_the_gal_as_contacts(p: &Provisioning) {
    use zcs_directory::provisioning::{Child, GalSyncSpec};
    p.create_domain("plan.test", Attrs::new()).await.unwrap();
    let mut joe = Attrs::new();
    joe.set_one("displayName", "Joe Bloggs");
    joe.set_one("givenName", "Joe");
    let joe = p.create_account("joe@plan.test", None, joe).await.unwrap();
    let mut hidden = Attrs::new();
    hidden.set_one("zimbraHideInGal", "TRUE");
    p.create_account("hid@plan.test", None, hidden)
        .await
        .unwrap();
    p.create_distribution_list("team@plan.test", Attrs::new())
        .await
        .unwrap();
    let spec = GalSyncSpec {
        account: "galsync@plan.test",
        domain: "plan.test",
        source: "internal",
        gal_type: "zimbra",
        folder: Some("_InternalGAL"),
        password: None,
    };
    p.create_gal_sync_account(&spec).await.unwrap();
    let ldap = GalSyncSpec {
        source: "external",
        gal_type: "ldap",
        folder: None,
        ..spec
    };
    p.create_gal_sync_account(&ldap).await.unwrap();

    let plan = p.gal_sync_plan("galsync@plan.test").await.unwrap();
    assert_eq!(plan.len(), 1, "only the internal source: {plan:?}");
    let src = &plan[0];
    assert_eq!(src.name, "internal");
    assert_eq!(src.folder.as_deref(), Some("_InternalGAL"));
    let mut emails: Vec<&str> = src
        .contacts
        .iter()
        .filter_map(|(_, c)| c.get("email"))
        .collect();
    emails.sort();
    assert_eq!(emails, ["joe@plan.test", "team@plan.test"]);
    let (id, c) = src
        .contacts
        .iter()
        .find(|(_, c)| c.get("email") == Some("joe@plan.test"))
        .unwrap();
    assert_eq!(id, &joe.id.to_string());
    assert_eq!(c.get("fullName"), Some("Joe Bloggs"));
    assert_eq!(c.get("firstName"), Some("Joe"));

    // A disabled source is left out; the outcome is stamped on the source.
    p.record_gal_sync("galsync@plan.test", "internal", true)
        .await
        .unwrap();
    let ds = p
        .get_child(Child::DataSource, "galsync@plan.test", "internal")
        .await
        .unwrap();
    assert!(ds.attrs.contains("zimbraGalLastSuccessfulSyncTimestamp"));
    let off = [AttrEdit::Replace(
        "zimbraDataSourceEnabled".into(),
        vec!["FALSE".into()],
    )];
    p.modify_child(Child::DataSource, "galsync@plan.test", "internal", &off)
        .await
        .unwrap();
    assert!(
        p.gal_sync_plan("galsync@plan.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        p.gal_sync_plan("joe@plan.test").await.is_err(),
        "not a GAL sync account"
    );
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                harness::run(stringify!($case), async |ctx: &harness::Ctx| {
                    super::$case(&ctx.prov).await
                })
                .await;
            }
        )*
    };
}

mod cases {
    use super::*;
    on_every_backend!(
        idn_domains_are_stored_ascii_and_found_by_either_form,
        new_domains_have_mail_enabled,
        substring_spaces_are_insignificant,
        short_message_lifetimes_are_accepted,
        gal_sync_accounts_are_set_up_and_removed,
        gal_sync_plan_lists_the_gal_as_contacts,
    );
}
