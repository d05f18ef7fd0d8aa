//! `zmprov` commands added after the first set, run end to end against a SQLite
//! directory: `sac`, `ds`, `cta`, `cto`, `gdi`, `cabulk`, `gamau`, `gamcs`, `pacc`,
//! `attr=value` filters on get commands, `desc` forms and `syg` with a token.

use super::tests::{Env, env};
use super::{Outcome, format_fault, run, split_line};

/// Runs one line; `Ok(stdout)` or `Err(stdout so far + fault line / usage)`.
async fn z(e: &Env, line: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let r = run(&e.prov, &split_line(line), &mut out)
        .await
        .expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    match r {
        Outcome::Done => Ok(text),
        Outcome::Usage(c) => Err(format!("{text}usage: {}", c.long)),
        Outcome::Fault(f) => Err(format!("{text}{}", format_fault(&f))),
    }
}

async fn ok(e: &Env, line: &str) -> String {
    z(e, line)
        .await
        .unwrap_or_else(|err| panic!("{line}: {err}"))
}

// spec/06 §5 idea 14: sac sets zimbraCOSId; cta counts per COS.
#[tokio::test]
async fn set_account_cos_and_count_account() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    let field = ok(&e, "cc FieldTechnician").await.trim().to_string();
    for u in ["a", "b", "c"] {
        ok(&e, &format!("ca {u}@ex.test Passw0rd!")).await;
    }
    ok(&e, "sac a@ex.test FieldTechnician").await;
    ok(&e, &format!("setAccountCOS b@ex.test {field}")).await;
    let ga = ok(&e, "ga a@ex.test zimbraCOSId").await;
    assert_eq!(ga, format!("# name a@ex.test\nzimbraCOSId: {field}\n"));
    assert!(
        z(&e, "sac a@ex.test NoSuchCos")
            .await
            .unwrap_err()
            .contains("account.NO_SUCH_COS")
    );
    assert!(
        z(&e, "sac nobody@ex.test FieldTechnician")
            .await
            .unwrap_err()
            .contains("account.NO_SUCH_ACCOUNT")
    );

    let default = ok(&e, "gc default zimbraId").await;
    let default = default
        .lines()
        .find_map(|l| l.strip_prefix("zimbraId: "))
        .expect("default COS id")
        .to_string();
    let cta = ok(&e, "cta ex.test").await;
    let expected = format!(
        "{:<20} {:<40} {}\n{} {} {}\n{:<20} {:<40} 1\n{:<20} {:<40} 2\n\n",
        "cos name",
        "cos id",
        "# of accounts",
        "-".repeat(20),
        "-".repeat(40),
        "-".repeat(20),
        "default",
        default,
        "FieldTechnician",
        field
    );
    assert_eq!(cta, expected);
    assert_eq!(ok(&e, "countAccount ex.test").await, expected);
    assert!(
        z(&e, "cta nosuch.test")
            .await
            .unwrap_err()
            .contains("account.NO_SUCH_DOMAIN")
    );
}

#[tokio::test]
async fn delete_server() {
    let e = env().await;
    let id = ok(&e, "cs mta2.ex.test").await.trim().to_string();
    assert!(ok(&e, "gas").await.contains("mta2.ex.test\n"));
    ok(&e, "ds mta2.ex.test").await;
    assert!(!ok(&e, "gas").await.contains("mta2.ex.test"));
    let again = z(&e, &format!("deleteServer {id}")).await.unwrap_err();
    assert!(again.contains("account.NO_SUCH_SERVER"), "{again}");
}

#[tokio::test]
async fn count_objects() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    ok(&e, "cd other.test").await;
    for u in ["a@ex.test", "b@ex.test", "c@other.test"] {
        ok(&e, &format!("ca {u} Passw0rd!")).await;
    }
    ok(&e, "ma b@ex.test zimbraIsSystemAccount TRUE").await;
    ok(
        &e,
        "ccr room@ex.test '' displayName Room zimbraCalResType Location",
    )
    .await;
    ok(&e, "cdl l@ex.test").await;
    ok(&e, "aaa a@ex.test a2@ex.test").await;
    assert_eq!(ok(&e, "cto userAccount").await, "2\n");
    assert_eq!(ok(&e, "cto userAccount -d ex.test").await, "1\n");
    assert_eq!(ok(&e, "countObjects account").await, "4\n");
    assert_eq!(ok(&e, "cto account -d ex.test").await, "3\n");
    assert_eq!(ok(&e, "cto calresource").await, "1\n");
    assert_eq!(ok(&e, "cto dl").await, "1\n");
    assert_eq!(ok(&e, "cto domain").await, "2\n");
    assert_eq!(ok(&e, "cto internalUserAccount").await, "2\n");
    assert_eq!(ok(&e, "cto internalArchivingAccount").await, "0\n");
    assert_eq!(ok(&e, "cto alias -d ex.test").await, "1\n");
    ok(
        &e,
        "md ex.test zimbraUCServiceId 0b5e0b8e-1c7e-4c43-9a61-6a1f6f1a2b3c",
    )
    .await;
    assert_eq!(
        ok(
            &e,
            "cto domainOnUCService -u 0b5e0b8e-1c7e-4c43-9a61-6a1f6f1a2b3c"
        )
        .await,
        "1\n"
    );
    assert!(z(&e, "cto domainOnUCService").await.is_err());
    assert!(z(&e, "cto server -d ex.test").await.is_err());
    assert!(
        z(&e, "cto widgets")
            .await
            .unwrap_err()
            .contains("service.INVALID_REQUEST")
    );
    assert!(z(&e, "cto account -d").await.unwrap_err().contains("usage"));
}

#[tokio::test]
async fn get_domain_info_prints_the_public_attributes() {
    let e = env().await;
    ok(
        &e,
        "cd ex.test zimbraVirtualHostname mail.ex.test zimbraSkinLogoURL http://logo \
         zimbraGalMaxResults 50",
    )
    .await;
    let by_name = ok(&e, "gdi name ex.test").await;
    assert!(by_name.starts_with("# name ex.test\n"), "{by_name}");
    assert!(
        by_name.contains("zimbraSkinLogoURL: http://logo\n"),
        "{by_name}"
    );
    assert!(
        !by_name.contains("zimbraGalMaxResults"),
        "private: {by_name}"
    );
    assert!(!by_name.contains("zimbraId:"), "private: {by_name}");
    assert_eq!(
        ok(&e, "getDomainInfo virtualHostname MAIL.ex.test").await,
        by_name
    );
    assert_eq!(
        ok(&e, "gdi name ex.test zimbraSkinLogoURL").await,
        "# name ex.test\nzimbraSkinLogoURL: http://logo\n"
    );
    assert!(
        z(&e, "gdi virtualHostname nowhere.test")
            .await
            .unwrap_err()
            .contains("account.NO_SUCH_DOMAIN")
    );
    assert!(
        z(&e, "gdi color ex.test")
            .await
            .unwrap_err()
            .contains("usage")
    );
}

#[tokio::test]
async fn create_bulk_accounts() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    let out = ok(&e, "cabulk ex.test user 3").await;
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| i.len() == 36));
    assert_eq!(
        ok(&e, "ga user2@ex.test displayName zimbraId").await,
        format!(
            "# name user2@ex.test\ndisplayName: user N. 2\nzimbraId: {}\n",
            ids[2]
        )
    );
    assert_eq!(
        ok(&e, "gaa ex.test").await,
        "user0@ex.test\nuser1@ex.test\nuser2@ex.test\n"
    );
    // A clash stops the run after printing what was made.
    let err = z(&e, "createBulkAccounts ex.test user 3")
        .await
        .unwrap_err();
    assert!(err.starts_with("ERROR: account.ACCOUNT_EXISTS"), "{err}");
    ok(&e, "ca bulk2@ex.test Passw0rd!").await;
    let err = z(&e, "cabulk ex.test bulk 4").await.unwrap_err();
    let (made, fault) = err.rsplit_once('\n').expect("ids then fault");
    assert_eq!(made.lines().count(), 2, "{err}");
    assert!(fault.contains("account.ACCOUNT_EXISTS"), "{err}");
    assert!(z(&e, "cabulk ex.test u many").await.is_err());
    // A password of the operator's own, as newer Zimbra takes it.
    ok(&e, "cabulk ex.test own 1 Own-Secret-9").await;
    let own = e
        .prov
        .authenticate("own0@ex.test", "Own-Secret-9", &Default::default())
        .await;
    assert!(own.is_ok(), "{own:?}");
    assert!(
        z(&e, "cabulk nosuch.test u 1")
            .await
            .unwrap_err()
            .contains("NO_SUCH_DOMAIN")
    );
}

#[tokio::test]
async fn mta_auth_urls_and_memcached_servers() {
    let e = env().await;
    ok(
        &e,
        "cs a.ex.test zimbraMtaAuthTarget TRUE zimbraMtaAuthPort 7073 \
         zimbraServiceEnabled mailbox zimbraServiceEnabled memcached \
         zimbraMemcachedBindAddress 10.0.0.1 zimbraMemcachedBindPort 11211",
    )
    .await;
    ok(
        &e,
        "cs b.ex.test zimbraMtaAuthTarget FALSE zimbraServiceEnabled mta",
    )
    .await;
    assert_eq!(
        ok(&e, "gamau").await,
        "https://a.ex.test:7073/service/admin/soap/ \n"
    );
    assert_eq!(ok(&e, "getAllMemcachedServers").await, "10.0.0.1:11211 \n");
    ok(
        &e,
        "ms b.ex.test zimbraMtaAuthTarget TRUE zimbraAdminPort 9071",
    )
    .await;
    let urls = ok(&e, "getAllMtaAuthURLs").await;
    assert!(urls.contains("https://b.ex.test:"), "{urls}");
    assert!(z(&e, "gamcs extra").await.unwrap_err().contains("usage"));
}

#[tokio::test]
async fn purge_account_calendar_cache_checks_accounts() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    ok(&e, "ca a@ex.test Passw0rd!").await;
    ok(&e, "ca b@ex.test Passw0rd!").await;
    assert_eq!(ok(&e, "pacc a@ex.test b@ex.test").await, "");
    assert!(
        z(&e, "purgeAccountCalendarCache a@ex.test nobody@ex.test")
            .await
            .unwrap_err()
            .contains("account.NO_SUCH_ACCOUNT")
    );
}

// spec/06 §5 idea 7: `gs host zimbraServiceEnabled=ldap` answers whether ldap is one of
// the values.
#[tokio::test]
async fn get_commands_filter_by_attr_value() {
    let e = env().await;
    ok(
        &e,
        "cs s.ex.test zimbraServiceEnabled ldap zimbraServiceEnabled mta \
         zimbraServiceEnabled mailbox",
    )
    .await;
    assert_eq!(
        ok(&e, "gs s.ex.test zimbraServiceEnabled=ldap").await,
        "# name s.ex.test\nzimbraServiceEnabled: ldap\n"
    );
    assert_eq!(
        ok(&e, "gs s.ex.test zimbraServiceEnabled=proxy").await,
        "# name s.ex.test\n"
    );
    assert_eq!(
        ok(
            &e,
            "gs s.ex.test zimbraserviceenabled=mta zimbraServiceEnabled=mailbox"
        )
        .await,
        "# name s.ex.test\nzimbraServiceEnabled: mta\nzimbraServiceEnabled: mailbox\n"
    );
    let mixed = ok(
        &e,
        "gs s.ex.test zimbraServiceEnabled=ldap zimbraServiceHostname",
    )
    .await;
    assert_eq!(
        mixed,
        "# name s.ex.test\nzimbraServiceEnabled: ldap\nzimbraServiceHostname: s.ex.test\n"
    );
    ok(&e, "cd ex.test").await;
    ok(&e, "ca a@ex.test Passw0rd!").await;
    assert_eq!(
        ok(&e, "ga a@ex.test zimbraAccountStatus=active").await,
        "# name a@ex.test\nzimbraAccountStatus: active\n"
    );
}

#[tokio::test]
async fn describe_forms() {
    let e = env().await;
    let all = ok(&e, "desc").await;
    let names: Vec<&str> = all.lines().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "name order");
    assert!(names.contains(&"zimbraAccountStatus"));
    let account = ok(&e, "desc account").await;
    assert!(account.lines().any(|l| l == "zimbraAccountStatus"));
    assert!(!account.lines().any(|l| l == "zimbraServiceEnabled"));
    assert!(account.lines().count() < names.len());
    // Non-inherited account attributes are not on COS.
    let ni = ok(&e, "desc -ni account").await;
    assert!(ni.lines().any(|l| l == "zimbraAccountStatus"));
    assert!(!ni.lines().any(|l| l == "zimbraMailQuota"), "on COS too");
    let ni_domain = ok(&e, "describe -ni domain").await;
    assert!(
        !ni_domain.lines().any(|l| l == "zimbraGalMaxResults"),
        "on config too"
    );
    let verbose = ok(&e, "desc -v server").await;
    let at = verbose
        .find("zimbraImapBindPort\n")
        .expect("server attribute");
    assert!(
        verbose[at..].starts_with("zimbraImapBindPort\n    port the IMAP server listens on\n\n"),
        "{}",
        &verbose[at..at + 80]
    );
    let one = ok(&e, "desc -a zimbraImapBindPort").await;
    assert!(one.starts_with("zimbraImapBindPort\n"));
    assert!(one.contains("requiresRestart : mailbox\n"));
    assert!(one.ends_with("\n\n"));
    assert_eq!(
        ok(&e, "desc -a noSuchAttr").await,
        "no attribute info for noSuchAttr\n\n"
    );
    assert!(
        z(&e, "desc account -a zimbraId")
            .await
            .unwrap_err()
            .contains("either an entry type or a specific attribute")
    );
    assert!(
        z(&e, "desc widget")
            .await
            .unwrap_err()
            .contains("valid entry types")
    );
}

#[tokio::test]
async fn sync_gal_takes_a_token() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    ok(&e, "ca a@ex.test Passw0rd!").await;
    let first = ok(&e, "syg ex.test").await;
    let token = first
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# token = "))
        .expect("token line")
        .to_string();
    assert_eq!(token.len(), 15, "GeneralizedTime: {token}");
    assert!(first.contains("\n\n# name a@ex.test\n"), "{first}");
    let again = ok(&e, &format!("syncGal ex.test {token}")).await;
    assert!(again.starts_with("# token = "));
    assert!(again.contains("# name a@ex.test\n"));
    assert!(
        z(&e, "syg ex.test a b")
            .await
            .unwrap_err()
            .contains("usage")
    );
}

/// Runs one line as the delegated admin `admin`.
async fn z_as(e: &Env, admin: &str, line: &str) -> Result<String, String> {
    let admin = e.prov.get_account(admin).await.expect("admin");
    let mut out = Vec::new();
    let r = super::run_as(&e.prov, Some(&admin), &split_line(line), &mut out)
        .await
        .expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    match r {
        Outcome::Done => Ok(text),
        Outcome::Usage(c) => Err(format!("{text}usage: {}", c.long)),
        Outcome::Fault(f) => Err(format!("{text}{}", format_fault(&f))),
    }
}

#[tokio::test]
async fn delegated_admins_need_rights_for_set_account_cos() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    ok(&e, "cc FieldTechnician").await;
    ok(
        &e,
        "ca da@ex.test Passw0rd! zimbraIsDelegatedAdminAccount TRUE",
    )
    .await;
    ok(&e, "ca u@ex.test Passw0rd!").await;
    let denied = z_as(&e, "da@ex.test", "sac u@ex.test FieldTechnician").await;
    assert!(denied.unwrap_err().contains("service.PERM_DENIED"));
    ok(
        &e,
        "grr domain ex.test usr da@ex.test set.account.zimbraCOSId",
    )
    .await;
    let no_assign = z_as(&e, "da@ex.test", "sac u@ex.test FieldTechnician").await;
    assert!(no_assign.unwrap_err().contains("service.PERM_DENIED"));
    ok(&e, "grr cos FieldTechnician usr da@ex.test assignCos").await;
    assert_eq!(
        z_as(&e, "da@ex.test", "sac u@ex.test FieldTechnician").await,
        Ok(String::new())
    );
    // Public domain info is open; deleting a server is not.
    assert!(z_as(&e, "da@ex.test", "gdi name ex.test").await.is_ok());
    ok(&e, "cs s.ex.test").await;
    let ds = z_as(&e, "da@ex.test", "ds s.ex.test").await;
    assert!(ds.unwrap_err().contains("service.PERM_DENIED"));
}

#[tokio::test]
async fn an_attr_filter_needs_a_value() {
    let e = env().await;
    ok(&e, "cs s.ex.test").await;
    assert_eq!(
        z(&e, "gs s.ex.test zimbraServiceEnabled=").await,
        Err("ERROR: service.INVALID_REQUEST (missing value for zimbraServiceEnabled=)".into())
    );
    assert!(z(&e, "gacf zimbraDefaultDomainName=").await.is_err());
}
