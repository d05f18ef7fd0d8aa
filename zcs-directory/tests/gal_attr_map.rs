//! The contact a GAL entry becomes (spec 01 §6 ideas 14 and 15): the default
//! `zimbraGalLdapAttrMap` fills firstName, lastName, fullName, workPhone, jobTitle and the
//! rest from the directory attributes, and a domain's own map changes which attribute
//! fills which field.

mod common;

use common::fixture;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::EntryKey;
use zcs_directory::provisioning::gal::{GalRequest, GalType, attr_map, contact_attrs};

#[tokio::test]
async fn default_and_domain_attribute_maps() {
    let f = fixture().await;
    let p = &f.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("map.test", Attrs::new()).await.unwrap();
    let mut a = Attrs::new();
    for (n, v) in [
        ("givenName", "Jo"),
        ("sn", "Brown"),
        ("cn", "Jo Brown"),
        ("displayName", "Dr. Jo Brown"),
        ("telephoneNumber", "+1 555 0100"),
        ("title", "Chief Tester"),
        ("company", "Zed Corp"),
        ("mobile", "+1 555 0199"),
    ] {
        a.set_one(n, v);
    }
    p.create_account("jo@map.test", Some("pw-123456"), a)
        .await
        .unwrap();
    let domain = p
        .get_domain(&EntryKey::Name("map.test".into()))
        .await
        .unwrap();
    let hit = async || {
        let req = GalRequest {
            text: "jo".into(),
            gal_type: GalType::Account,
            autocomplete: false,
            limit: None,
        };
        let found = p.search_gal("map.test", &req).await.unwrap();
        assert_eq!(found.entries.len(), 1, "one match for jo");
        let domain = p
            .get_domain(&EntryKey::Name("map.test".into()))
            .await
            .unwrap();
        let map = attr_map(&p.effective_domain_attrs(&domain).await.unwrap());
        contact_attrs(&found.entries[0], &map)
    };

    // Idea 14: the default map.
    let c = hit().await;
    for (field, want) in [
        ("email", "jo@map.test"),
        ("firstName", "Jo"),
        ("lastName", "Brown"),
        ("fullName", "Dr. Jo Brown"),
        ("workPhone", "+1 555 0100"),
        ("jobTitle", "Chief Tester"),
        ("company", "Zed Corp"),
        ("mobilePhone", "+1 555 0199"),
    ] {
        assert_eq!(c.get(field), Some(want), "{field} under the default map");
    }

    // Idea 15: the domain fills fullName from cn alone instead (Zimbra's default reads
    // displayName first).
    let mut map = attr_map(&p.effective_domain_attrs(&domain).await.unwrap());
    map.retain(|l| {
        let fields = l.split_once('=').map_or("", |(_, f)| f);
        !fields
            .split(',')
            .any(|f| f.trim().eq_ignore_ascii_case("fullName"))
    });
    map.push("cn=fullName".into());
    p.modify_domain(
        &EntryKey::Name("map.test".into()),
        &[AttrEdit::Replace("zimbraGalLdapAttrMap".into(), map)],
    )
    .await
    .unwrap();
    let c = hit().await;
    assert_eq!(c.get("fullName"), Some("Jo Brown"));
    assert_eq!(c.get("firstName"), Some("Jo"), "the other fields stay");
}
