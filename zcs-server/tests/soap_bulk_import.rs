//! BulkImportAccountsRequest (the Account Migration Wizard's back end) over real
//! sockets on 127.0.0.1: the password policy and the CSV, missing domains skipped or
//! created, the preview that writes nothing, split-domain transport, must-change, the
//! session's status and dismissal. An LDAP source test runs against the customer slapd
//! of `.ci/setup.d/21-slapd-customer.sh` when `ZCS_TEST_EXT_LDAP_URL` is set.

mod soap_support;

use soap_support::*;
use zcs_core::Attrs;

const NS: &str = "urn:zimbraAdmin";

/// Uploads `file` as the admin and sends a bulkxml import `op` with extra `opts`.
async fn import(f: &Fixture, token: &str, op: &str, file: &str, opts: &str) -> Reply {
    let admin = f.prov.get_account(ADMIN).await.expect("admin");
    let aid = f
        .svc
        .uploads
        .put(
            admin.id,
            Some("import.xml".into()),
            None,
            file.as_bytes().to_vec(),
        )
        .expect("upload");
    let body = format!(
        "<BulkImportAccountsRequest xmlns=\"{NS}\" op=\"{op}\" sourceType=\"bulkxml\">\
         <aid>{aid}</aid>{opts}</BulkImportAccountsRequest>"
    );
    post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(token), &body),
        "",
    )
    .await
}

async fn op(f: &Fixture, token: &str, op: &str) -> Reply {
    let body = format!(r#"<BulkImportAccountsRequest xmlns="{NS}" op="{op}"/>"#);
    post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(token), &body),
        "",
    )
    .await
}

/// A ZCSImport file of `users` (address, extra user elements) with `globals`.
fn file(globals: &str, users: &[(&str, &str)]) -> String {
    let mut x =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZCSImport>{globals}<ImportUsers>");
    for (a, extra) in users {
        x.push_str(&format!(
            "<User><sn>S</sn><RemoteEmailAddress>{a}</RemoteEmailAddress>{extra}</User>"
        ));
    }
    x.push_str("</ImportUsers></ZCSImport>");
    x
}

/// The `account,password` lines of the response's CSV, header dropped.
fn csv(r: &Reply) -> Vec<(String, String)> {
    let text = xml_text(&r.body, "csv").expect("csv in the response");
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("account,password"));
    lines
        .map(|l| {
            let (a, p) = l.split_once(',').expect("two fields");
            (a.to_string(), p.to_string())
        })
        .collect()
}

fn count(r: &Reply, tag: &str) -> usize {
    xml_text(&r.body, tag)
        .unwrap_or_else(|| panic!("no <{tag}> in {}", r.body))
        .parse()
        .expect("number")
}

#[tokio::test]
async fn random_passwords_are_six_to_sixty_four_long_and_listed_in_the_csv() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    for bad in [5, 65] {
        let x = file("", &[("r1@example.test", "")]);
        let opts = format!(
            "<generatePassword>TRUE</generatePassword><genPasswordLength>{bad}</genPasswordLength>"
        );
        let r = import(&f, &token, "startImport", &x, &opts).await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.INVALID_REQUEST"),
            "{bad}"
        );
        assert!(
            f.prov
                .find_account("r1@example.test")
                .await
                .expect("find")
                .is_none()
        );
    }
    for (len, users) in [
        (Some(6), ["six1@example.test", "six2@example.test"]),
        (Some(64), ["sf1@example.test", "sf2@example.test"]),
        (None, ["d1@example.test", "d2@example.test"]),
    ] {
        let x = file(
            "",
            &[(users[0], ""), (users[1], "<password>ignored1</password>")],
        );
        let opts = match len {
            Some(n) => format!(
                "<generatePassword>TRUE</generatePassword>\
                 <genPasswordLength>{n}</genPasswordLength>"
            ),
            None => "<generatePassword>TRUE</generatePassword>".to_string(),
        };
        let r = import(&f, &token, "startImport", &x, &opts).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(xml_text(&r.body, "status").as_deref(), Some("finished"));
        assert_eq!(count(&r, "provisionedCount"), 2);
        let lines = csv(&r);
        assert_eq!(lines.len(), 2, "every account is listed");
        for (i, (a, p)) in lines.iter().enumerate() {
            assert_eq!(a, users[i]);
            assert_eq!(p.len(), len.unwrap_or(8), "{a}");
            // The listed password is the account's.
            f.prov.get_account(a).await.expect("created");
            let auth = f.prov.authenticate(a, p, &Default::default()).await;
            assert!(auth.is_ok(), "{a}: {auth:?}");
        }
        assert_ne!(lines[0].1, lines[1].1);
    }
}

#[tokio::test]
async fn missing_domains_are_skipped_or_created() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    f.prov
        .create_domain("y.test", Attrs::new())
        .await
        .expect("y.test");
    let x = file(
        "",
        &[
            ("a@x.test", ""),
            ("b@x.test", ""),
            ("c@y.test", "<password>pass1234</password>"),
        ],
    );
    let r = import(
        &f,
        &token,
        "startImport",
        &x,
        "<createDomains>FALSE</createDomains>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&r, "provisionedCount"), 1);
    assert_eq!(count(&r, "skippedDomainAccountCount"), 2);
    assert_eq!(count(&r, "skippedAccountCount"), 2);
    assert!(
        f.prov
            .find_account("c@y.test")
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        f.prov
            .find_account("a@x.test")
            .await
            .expect("find")
            .is_none()
    );
    let gone = f
        .prov
        .get_domain(&zcs_directory::EntryKey::Name("x.test".into()))
        .await;
    assert!(gone.is_err(), "x.test was not created");

    let r = import(
        &f,
        &token,
        "startImport",
        &x,
        "<createDomains>TRUE</createDomains>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&r, "provisionedCount"), 2);
    assert_eq!(count(&r, "createdDomainCount"), 1);
    assert_eq!(count(&r, "existingAccountCount"), 1, "c@y.test exists now");
    f.prov
        .get_domain(&zcs_directory::EntryKey::Name("x.test".into()))
        .await
        .expect("x.test created");
    assert!(
        f.prov
            .find_account("b@x.test")
            .await
            .expect("find")
            .is_some()
    );
}

#[tokio::test]
async fn preview_counts_and_writes_nothing() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    let names: Vec<String> = (0..10).map(|i| format!("p{i}@example.test")).collect();
    for n in &names[..3] {
        f.prov
            .create_account(n, Some(PASSWORD), Attrs::new())
            .await
            .expect("existing");
    }
    let users: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
    let x = file("", &users);
    let r = import(
        &f,
        &token,
        "preview",
        &x,
        "<generatePassword>TRUE</generatePassword>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&r, "totalCount"), 10);
    assert_eq!(count(&r, "existingAccountCount"), 3);
    assert_eq!(count(&r, "domainCount"), 1);
    assert_eq!(count(&r, "missingDomainCount"), 0);
    assert_eq!(
        xml_text(&r.body, "generatePassword").as_deref(),
        Some("TRUE")
    );
    assert_eq!(xml_text(&r.body, "genPasswordLength").as_deref(), Some("8"));
    assert!(r.body.contains(r#"name="example.test""#), "{}", r.body);
    assert!(!r.body.contains("<csv>"));
    for n in &names[3..] {
        assert!(
            f.prov.find_account(n).await.expect("find").is_none(),
            "{n} not created"
        );
    }
    // A preview leaves no run behind.
    let s = op(&f, &token, "getStatus").await;
    assert_eq!(
        xml_text(&s.body, "status").as_deref(),
        Some("idle"),
        "{}",
        s.body
    );

    let r = import(
        &f,
        &token,
        "startImport",
        &x,
        "<generatePassword>TRUE</generatePassword>",
    )
    .await;
    assert_eq!(count(&r, "provisionedCount"), 7);
    assert_eq!(count(&r, "existingAccountCount"), 3);
    assert_eq!(csv(&r).len(), 7);
}

#[tokio::test]
async fn smtp_host_sets_the_mail_transport() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    let x = file(
        "<SMTPHost>smtp.example.com</SMTPHost><SMTPPort>25</SMTPPort>",
        &[("sam@example.test", ""), ("zak@example.test", "")],
    );
    let r = import(&f, &token, "startImport", &x, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&r, "provisionedCount"), 2);
    for a in ["sam@example.test", "zak@example.test"] {
        let e = f.prov.get_account(a).await.expect("created");
        assert_eq!(
            e.attrs.get("zimbraMailTransport"),
            Some("smtp:smtp.example.com:25"),
            "{a}"
        );
    }
}

#[tokio::test]
async fn must_change_is_set_and_asked_at_login() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    let x = file(
        "",
        &[
            (
                "mc@example.test",
                "<password>first-pass1</password>\
                 <zimbraPasswordMustChange>TRUE</zimbraPasswordMustChange>",
            ),
            ("plain@example.test", "<password>second-pass1</password>"),
        ],
    );
    let r = import(&f, &token, "startImport", &x, "").await;
    assert_eq!(count(&r, "provisionedCount"), 2, "{}", r.body);
    let mc = f.prov.get_account("mc@example.test").await.expect("mc");
    assert_eq!(mc.attrs.get("zimbraPasswordMustChange"), Some("TRUE"));
    let plain = f
        .prov
        .get_account("plain@example.test")
        .await
        .expect("plain");
    assert_ne!(plain.attrs.get("zimbraPasswordMustChange"), Some("TRUE"));
    // The right password is accepted and the user is sent to change it; a wrong one
    // is a plain failure.
    let login = |pw: &str| {
        format!(
            "<AuthRequest xmlns=\"urn:zimbraAccount\"><account by=\"name\">mc@example.test\
             </account><password>{pw}</password></AuthRequest>"
        )
    };
    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &login("first-pass1")),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.CHANGE_PASSWORD"),
        "{}",
        r.body
    );
    let r = post(
        f.user,
        "/service/soap",
        &soap12(None, &login("wrong-pass1")),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.AUTH_FAILED"),
        "{}",
        r.body
    );

    // The request's mustChangePassword applies to every account.
    let x = file("", &[("all@example.test", "")]);
    let opts = "<password>same-pass1</password><mustChangePassword>TRUE</mustChangePassword>";
    let r = import(&f, &token, "startImport", &x, opts).await;
    assert_eq!(
        csv(&r),
        vec![("all@example.test".into(), "same-pass1".into())]
    );
    let all = f.prov.get_account("all@example.test").await.expect("all");
    assert_eq!(all.attrs.get("zimbraPasswordMustChange"), Some("TRUE"));
}

#[tokio::test]
async fn status_dismiss_and_refusals() {
    let f = fixture().await;
    let token = admin_login(&f).await;
    let r = op(&f, &token, "getStatus").await;
    assert_eq!(
        xml_text(&r.body, "status").as_deref(),
        Some("idle"),
        "{}",
        r.body
    );
    let x = file("", &[("st@example.test", "")]);
    let r = import(
        &f,
        &token,
        "startImport",
        &x,
        "<generatePassword>1</generatePassword>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = op(&f, &token, "getStatus").await;
    assert_eq!(xml_text(&s.body, "status").as_deref(), Some("finished"));
    assert_eq!(csv(&s), csv(&r), "the CSV stays for the session");
    let d = op(&f, &token, "dismissImport").await;
    assert_eq!(d.status, 200, "{}", d.body);
    let s = op(&f, &token, "getStatus").await;
    assert_eq!(xml_text(&s.body, "status").as_deref(), Some("idle"));
    assert!(!s.body.contains("<csv>"), "dismissed: the CSV is gone");

    for (bad_file, opts) in [
        (
            "<ZCSImport><ImportUsers><User><sn>x</sn></User></ImportUsers>",
            "",
        ),
        ("not xml", ""),
        ("<ZCSImport/>", "<importMails>TRUE</importMails>"),
        ("<ZCSImport/>", "<SMTPPort>abc</SMTPPort>"),
    ] {
        let r = import(&f, &token, "preview", bad_file, opts).await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.INVALID_REQUEST"),
            "{bad_file}"
        );
    }
    let body = format!(
        "<BulkImportAccountsRequest xmlns=\"{NS}\" op=\"preview\" sourceType=\"bulkxml\">\
         <aid>nope</aid></BulkImportAccountsRequest>"
    );
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&token), &body),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    let r = op(&f, &token, "explode").await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    let user = login(&f, ALICE).await;
    let body = format!(r#"<BulkImportAccountsRequest xmlns="{NS}" op="getStatus"/>"#);
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&user), &body),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
}

/// The customer directory of `.ci/setup.d/21-slapd-customer.sh`: (url, base, bind DN,
/// bind password), or `None` (the test then skips loudly).
fn customer_ldap() -> Option<(String, String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some((
        get("ZCS_TEST_EXT_LDAP_URL")?,
        get("ZCS_TEST_EXT_LDAP_BASE")?,
        get("ZCS_TEST_EXT_LDAP_BIND_DN")?,
        get("ZCS_TEST_EXT_LDAP_BIND_PASSWORD")?,
    ))
}

#[tokio::test]
async fn an_ldap_source_is_previewed_and_imported() {
    let Some((url, base, dn, pw)) = customer_ldap() else {
        eprintln!("SKIP an_ldap_source_is_previewed_and_imported: ZCS_TEST_EXT_LDAP_URL unset");
        return;
    };
    // A branch of our own, so other suites' people do not count.
    let ou = format!("ou=bulk-{},ou=people,{base}", uuid::Uuid::new_v4().simple());
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&dn, &pw)
        .await
        .and_then(|r| r.success())
        .expect("bind");
    let ou_name = ou
        .split(',')
        .next()
        .and_then(|r| r.strip_prefix("ou="))
        .expect("rdn")
        .to_string();
    let ou_classes = std::collections::HashSet::from(["organizationalUnit"]);
    let ou_value = std::collections::HashSet::from([ou_name.as_str()]);
    ldap.add(&ou, vec![("objectClass", ou_classes), ("ou", ou_value)])
        .await
        .and_then(|r| r.success())
        .expect("add ou");
    let people = [
        ("l1", Some("l1@example.test")),
        ("l2", Some("l2@example.test")),
        ("l3", Some("l3@ldapnew.test")),
        ("nomail", None),
    ];
    for (uid, mail) in people {
        let mut attrs = vec![
            (
                "objectClass",
                std::collections::HashSet::from(["inetOrgPerson"]),
            ),
            ("uid", std::collections::HashSet::from([uid])),
            ("cn", std::collections::HashSet::from([uid])),
            ("sn", std::collections::HashSet::from(["Ldapson"])),
            ("givenName", std::collections::HashSet::from(["Lee"])),
        ];
        if let Some(m) = mail {
            attrs.push(("mail", std::collections::HashSet::from([m])));
        }
        ldap.add(&format!("uid={uid},{ou}"), attrs)
            .await
            .and_then(|r| r.success())
            .expect("add person");
    }
    let _ = ldap.unbind().await;

    let f = fixture().await;
    let token = admin_login(&f).await;
    f.prov
        .create_account("l1@example.test", Some(PASSWORD), Attrs::new())
        .await
        .expect("existing");
    let req = |op: &str, pw: &str, extra: &str| {
        format!(
            "<BulkImportAccountsRequest xmlns=\"{NS}\" op=\"{op}\" sourceType=\"ldap\">\
             <GALLDAPURL>{url}</GALLDAPURL><GALLDAPBINDDN>{dn}</GALLDAPBINDDN>\
             <GALLDAPBINDPWD>{pw}</GALLDAPBINDPWD><GALLDAPSEARCHBASE>{ou}</GALLDAPSEARCHBASE>\
             <generatePassword>TRUE</generatePassword>{extra}</BulkImportAccountsRequest>"
        )
    };
    let send = |body: String| {
        let token = token.clone();
        let addr = f.admin;
        async move {
            post(
                addr,
                "/service/admin/soap",
                &soap12(Some(&token), &body),
                "",
            )
            .await
        }
    };
    let r = send(req("preview", &pw, "")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        count(&r, "totalCount"),
        3,
        "the entry without mail is not an account"
    );
    assert_eq!(count(&r, "existingAccountCount"), 1);
    assert_eq!(count(&r, "domainCount"), 2);
    assert_eq!(count(&r, "missingDomainCount"), 1);
    assert!(
        f.prov
            .find_account("l2@example.test")
            .await
            .expect("find")
            .is_none()
    );

    let r = send(req("preview", &pw, "<maxResults>1</maxResults>")).await;
    assert_eq!(count(&r, "totalCount"), 1, "{}", r.body);

    let r = send(req("preview", "wrong", "")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.FAILURE"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(&pw), "the bind password is never echoed");

    let r = send(req("startImport", &pw, "")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count(&r, "provisionedCount"), 1);
    assert_eq!(count(&r, "existingAccountCount"), 1);
    assert_eq!(count(&r, "skippedDomainAccountCount"), 1);
    let l2 = f.prov.get_account("l2@example.test").await.expect("l2");
    assert_eq!(l2.attrs.get("sn"), Some("Ldapson"));
    assert_eq!(l2.attrs.get("givenName"), Some("Lee"));
    assert_eq!(csv(&r).len(), 1);
}
