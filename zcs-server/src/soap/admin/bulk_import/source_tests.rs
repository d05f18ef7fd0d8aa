//! Tests of the ZCSImport file parser and the LDAP entry mapping.

use proptest::prelude::*;

use super::*;

const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ZCSImport>
<SMTPHost>smtp.example.com</SMTPHost>
<SMTPPort>25</SMTPPort>
<ImportUsers>
<User>
<sn>Sample</sn>
<givenName>Sam</givenName>
<displayName>Sam Sample</displayName>
<RemoteEmailAddress>SSample@Example.com</RemoteEmailAddress>
<password>test123</password>
<zimbraPasswordMustChange>TRUE</zimbraPasswordMustChange>
</User>
<User>
<sn>Zackry</sn>
<RemoteEmailAddress>zzackry@example.com</RemoteEmailAddress>
<RemoteIMAPLogin>zz</RemoteIMAPLogin>
</User>
</ImportUsers>
</ZCSImport>"#;

#[test]
fn the_guide_example_parses() {
    let f = parse_file(EXAMPLE.as_bytes()).expect("parses");
    assert_eq!(f.smtp_host.as_deref(), Some("smtp.example.com"));
    assert_eq!(f.smtp_port, Some(25));
    assert_eq!(f.users.len(), 2);
    let u = &f.users[0];
    assert_eq!(u.address, "ssample@example.com");
    assert_eq!(u.domain(), "example.com");
    assert_eq!(u.attrs.get("sn"), Some("Sample"));
    assert_eq!(u.attrs.get("givenName"), Some("Sam"));
    assert_eq!(u.attrs.get("displayName"), Some("Sam Sample"));
    assert_eq!(u.password.as_deref(), Some("test123"));
    assert_eq!(u.must_change, Some(true));
    let z = &f.users[1];
    assert_eq!(z.password, None);
    assert_eq!(z.must_change, None);
    assert_eq!(z.attrs.get("givenName"), None);
    assert!(
        !format!("{u:?}").contains("test123"),
        "Debug hides the password"
    );
}

/// The guide's third example: mail import only, from an SSL IMAP server.
#[test]
fn the_mail_import_example_parses_in_any_case() {
    let x = "<ZCSImport><IMAPHost>imap.gmail.com</IMAPHost><IMAPPort>993</IMAPPort>\
             <ConnectionType>ssl</ConnectionType><UseAdminLogin>0</UseAdminLogin>\
             <imapadminpassword>adm pw</imapadminpassword><ImportUsers><User>\
             <RemoteEmailAddress>a@x.test</RemoteEmailAddress>\
             <LocalEmailAddress>A@Here.test</LocalEmailAddress>\
             <RemoteIMAPLogin>a@gmail.test</RemoteIMAPLogin>\
             <remoteIMAPPassword> sp ace </remoteIMAPPassword></User>\
             <User><remoteemailaddress>b@x.test</remoteemailaddress>\
             <RemoteIMAPPassword>pw2</RemoteIMAPPassword></User></ImportUsers></ZCSImport>";
    let f = parse_file(x.as_bytes()).expect("parses");
    assert_eq!(f.imap.host.as_deref(), Some("imap.gmail.com"));
    assert_eq!(f.imap.port.as_deref(), Some("993"));
    assert_eq!(f.imap.connection_type.as_deref(), Some("ssl"));
    assert_eq!(f.imap.use_admin_login.as_deref(), Some("0"));
    assert_eq!(f.imap.admin_password.as_deref(), Some("adm pw"));
    assert!(!format!("{:?}", f.imap).contains("adm pw"));
    let a = &f.users[0];
    assert_eq!(a.local_address.as_deref(), Some("a@here.test"));
    assert_eq!(a.imap_login.as_deref(), Some("a@gmail.test"));
    assert_eq!(a.imap_password.as_deref(), Some(" sp ace "));
    assert!(!format!("{a:?}").contains("sp ace"));
    let b = &f.users[1];
    assert_eq!(b.address, "b@x.test");
    assert_eq!(
        (b.local_address.as_deref(), b.imap_login.as_deref()),
        (None, None)
    );
    assert_eq!(b.imap_password.as_deref(), Some("pw2"));
    let bad = "<ZCSImport><ImportUsers><User><RemoteEmailAddress>a@x.test</RemoteEmailAddress>\
               <LocalEmailAddress>nope</LocalEmailAddress></User></ImportUsers></ZCSImport>";
    assert!(matches!(
        parse_file(bad.as_bytes()),
        Err(SourceError::BadAddress { index: 1, .. })
    ));
}

#[test]
fn entities_and_a_bom_are_read() {
    let x = "\u{feff}<ZCSImport><ImportUsers><User><displayName>A &amp; B</displayName>\
             <RemoteEmailAddress>a@b.test</RemoteEmailAddress></User></ImportUsers>\
             </ZCSImport>";
    let f = parse_file(x.as_bytes()).expect("parses");
    assert_eq!(f.users[0].attrs.get("displayName"), Some("A & B"));
}

#[test]
fn bad_files_are_named_errors() {
    let cases: &[(&str, SourceError)] = &[
        ("<ZCSImport>", SourceError::Xml(String::new())),
        ("<Other/>", SourceError::Root("Other".into())),
        (
            "<ZCSImport><ImportUsers><User><sn>x</sn></User></ImportUsers></ZCSImport>",
            SourceError::NoAddress(1),
        ),
        (
            "<ZCSImport><ImportUsers><User><RemoteEmailAddress>nobody</RemoteEmailAddress>\
             </User></ImportUsers></ZCSImport>",
            SourceError::BadAddress {
                index: 1,
                address: "nobody".into(),
            },
        ),
        (
            "<ZCSImport><ImportUsers><User><RemoteEmailAddress>a@b.t</RemoteEmailAddress>\
             </User><User><RemoteEmailAddress>A@b.t</RemoteEmailAddress></User>\
             </ImportUsers></ZCSImport>",
            SourceError::Duplicate {
                index: 2,
                address: "a@b.t".into(),
            },
        ),
        (
            "<ZCSImport><SMTPPort>70000</SMTPPort></ZCSImport>",
            SourceError::BadPort("70000".into()),
        ),
        (
            "<ZCSImport><ImportUsers><User><RemoteEmailAddress>a@b.t</RemoteEmailAddress>\
             <zimbraPasswordMustChange>maybe</zimbraPasswordMustChange></User>\
             </ImportUsers></ZCSImport>",
            SourceError::BadBool {
                index: 1,
                value: "maybe".into(),
            },
        ),
    ];
    for (text, want) in cases {
        let got = parse_file(text.as_bytes()).expect_err(text);
        match (want, &got) {
            (SourceError::Xml(_), SourceError::Xml(_)) => {}
            _ => assert_eq!(&got, want, "{text}"),
        }
        let fault: ServiceError = got.into();
        assert_eq!(fault.code, zcs_core::FaultCode::InvalidRequest);
    }
    assert_eq!(
        parse_file(&[0xff, 0xfe, 0x00]).expect_err("binary"),
        SourceError::NotUtf8
    );
    let doctype = "<!DOCTYPE z [<!ENTITY x \"y\">]><ZCSImport/>";
    assert!(matches!(
        parse_file(doctype.as_bytes()),
        Err(SourceError::Xml(_))
    ));
}

#[test]
fn an_empty_import_has_no_users() {
    let f = parse_file(b"<ZCSImport/>").expect("parses");
    assert!(f.users.is_empty());
    assert_eq!(f.smtp_host, None);
}

#[test]
fn addresses_are_checked() {
    assert_eq!(check_address(" A@B.test ").as_deref(), Some("a@b.test"));
    for bad in [
        "", "a", "@b", "a@", "a@b@c", "a b@c", "a@.b", "a@b.", "a@b..c", "a@<b>",
    ] {
        assert_eq!(check_address(bad), None, "{bad}");
    }
}

#[test]
fn ldap_entries_map_to_users() {
    let entry = |attrs: &[(&str, &str)]| SearchEntry {
        dn: "uid=x,dc=t".into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
        bin_attrs: Default::default(),
    };
    let e = entry(&[
        ("mail", "Jo@Y.test"),
        ("sn", "Doe"),
        ("cn", "x"),
        ("bogus", "1"),
    ]);
    let u = user_of_entry(LdapKind::Generic, &e).expect("user");
    assert_eq!(u.address, "jo@y.test");
    assert_eq!(u.attrs.get("sn"), Some("Doe"));
    assert_eq!(u.attrs.get("bogus"), None);
    assert!(user_of_entry(LdapKind::Generic, &entry(&[("sn", "x")])).is_none());
    let z = entry(&[
        ("zimbraMailDeliveryAddress", "z@y.test"),
        ("mail", "other@y.test"),
    ]);
    let u = user_of_entry(LdapKind::Zimbra, &z).expect("user");
    assert_eq!(u.address, "z@y.test");
}

#[test]
fn ldap_filters_default_by_kind() {
    let mut s = LdapSource {
        kind: LdapKind::Generic,
        url: "ldap://127.0.0.1".into(),
        bind_dn: None,
        bind_password: "pw".into(),
        filter: None,
        search_base: String::new(),
        max_results: 0,
    };
    assert_eq!(s.filter(), GENERIC_FILTER);
    s.kind = LdapKind::Zimbra;
    assert_eq!(s.filter(), ZCS_FILTER);
    s.filter = Some("(uid=*)".into());
    assert_eq!(s.filter(), "(uid=*)");
    assert!(!format!("{s:?}").contains("pw"));
}

proptest! {
    #[test]
    fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_file(&data);
    }

    #[test]
    fn any_text_in_fields_never_panics(
        addr in "\\PC{0,40}",
        sn in "\\PC{0,40}",
        port in "\\PC{0,8}",
    ) {
        let mut esc = String::new();
        let mut x = String::from("<ZCSImport><SMTPPort>");
        crate::soap::xml::escape(&port, &mut esc);
        x.push_str(&esc);
        x.push_str("</SMTPPort><ImportUsers><User><sn>");
        esc.clear();
        crate::soap::xml::escape(&sn, &mut esc);
        x.push_str(&esc);
        x.push_str("</sn><RemoteEmailAddress>");
        esc.clear();
        crate::soap::xml::escape(&addr, &mut esc);
        x.push_str(&esc);
        x.push_str("</RemoteEmailAddress></User></ImportUsers></ZCSImport>");
        if let Ok(f) = parse_file(x.as_bytes()) {
            prop_assert_eq!(f.users.len(), 1);
            prop_assert!(f.users[0].address.contains('@'));
        }
    }

    #[test]
    fn well_formed_users_round_trip(n in 0usize..20, local in "[a-z][a-z0-9]{0,10}") {
        let mut x = String::from("<ZCSImport><ImportUsers>");
        for i in 0..n {
            x.push_str(&format!(
                "<User><RemoteEmailAddress>{local}{i}@d.test</RemoteEmailAddress></User>"
            ));
        }
        x.push_str("</ImportUsers></ZCSImport>");
        let f = parse_file(x.as_bytes()).expect("parses");
        prop_assert_eq!(f.users.len(), n);
    }
}
