//! `zmprov` commands run end to end against a SQLite directory: lists, dynamic groups,
//! resources, identities, signatures, data sources, preauth, renameDomain and rights,
//! checking Zimbra's output forms.

use std::sync::Arc;

use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};

use super::{Outcome, format_fault, run, split_line};

/// A fresh SQLite directory with provisioning on top (shared with `tests_more`).
pub(super) struct Env {
    _tmp: tempfile::TempDir,
    pub(super) prov: Provisioning,
}

pub(super) async fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
        .await
        .expect("open");
    let prov = Provisioning::new(Arc::new(dir), AuthRegistry::new());
    Env { _tmp: tmp, prov }
}

/// Runs one line; `Ok(stdout)` or `Err(fault line / usage)`.
pub(super) async fn z(e: &Env, line: &str) -> Result<String, String> {
    let mut out = Vec::new();
    match run(&e.prov, &split_line(line), &mut out)
        .await
        .expect("write")
    {
        Outcome::Done => Ok(String::from_utf8(out).expect("utf-8")),
        Outcome::Usage(c) => Err(format!("usage: {}", c.long)),
        Outcome::Fault(f) => Err(format_fault(&f)),
    }
}

pub(super) async fn ok(e: &Env, line: &str) -> String {
    z(e, line)
        .await
        .unwrap_or_else(|err| panic!("{line}: {err}"))
}

async fn seed(e: &Env) {
    ok(e, "cd ex.test").await;
    for u in ["a", "b", "c"] {
        ok(e, &format!("ca {u}@ex.test Passw0rd!")).await;
    }
}

#[tokio::test]
async fn distribution_list_commands() {
    let e = env().await;
    seed(&e).await;
    let id = ok(&e, "cdl l@ex.test").await;
    assert_eq!(id.trim().len(), 36);
    ok(&e, "createDistributionList p@ex.test zimbraHideInGal TRUE").await;
    ok(&e, "adlm l@ex.test a@ex.test b@ex.test").await;
    ok(&e, "adlm p@ex.test l@ex.test c@ex.test").await;
    let gdl = ok(&e, "gdl l@ex.test").await;
    assert!(
        gdl.starts_with("# distributionList l@ex.test memberCount=2\n"),
        "{gdl}"
    );
    assert!(gdl.ends_with("\nmembers\na@ex.test\nb@ex.test\n"), "{gdl}");
    assert!(gdl.contains("zimbraMailStatus: enabled\n"));
    let gdl = ok(&e, "gdl p@ex.test zimbraHideInGal").await;
    assert_eq!(
        gdl,
        "# distributionList p@ex.test memberCount=2\nzimbraHideInGal: TRUE\n\n\
         members\nl@ex.test\nc@ex.test\n"
    );
    assert_eq!(ok(&e, "gadl").await, "l@ex.test\np@ex.test\n");
    assert_eq!(
        ok(&e, "gdlm a@ex.test").await,
        "l@ex.test\np@ex.test (via l@ex.test)\n"
    );
    assert_eq!(
        ok(&e, "gam a@ex.test").await,
        "l@ex.test\np@ex.test (via l@ex.test)\n"
    );
    ok(&e, "rdlm l@ex.test b@ex.test").await;
    let err = z(&e, "rdlm l@ex.test b@ex.test").await.unwrap_err();
    assert!(
        err.starts_with("ERROR: account.NO_SUCH_MEMBER (NO_SUCH_MEMBER"),
        "{err}"
    );
    ok(&e, "adla l@ex.test team@ex.test").await;
    assert!(
        ok(&e, "gdl team@ex.test")
            .await
            .contains("zimbraMailAlias: team@ex.test")
    );
    ok(&e, "rdla l@ex.test team@ex.test").await;
    ok(
        &e,
        "mdl l@ex.test zimbraDistributionListSubscriptionPolicy ACCEPT",
    )
    .await;
    ok(&e, "rdl l@ex.test crew@ex.test").await;
    assert!(ok(&e, "gdl p@ex.test").await.contains("\ncrew@ex.test\n"));
    ok(&e, "ddl crew@ex.test").await;
    assert_eq!(
        z(&e, "gdl crew@ex.test").await.unwrap_err(),
        "ERROR: account.NO_SUCH_DISTRIBUTION_LIST (no such distribution list: crew@ex.test)"
    );
    assert_eq!(
        z(&e, "cdl 'my list@ex.test'").await.unwrap_err()[..31].to_string(),
        "ERROR: service.INVALID_REQUEST "
    );
}

#[tokio::test]
async fn dynamic_group_commands() {
    let e = env().await;
    seed(&e).await;
    ok(
        &e,
        "cddl all@ex.test memberURL 'ldap:///??sub?(objectClass=zimbraAccount)' \
         zimbraIsACLGroup FALSE",
    )
    .await;
    let gdl = ok(&e, "gdl all@ex.test").await;
    assert!(
        gdl.starts_with("# distributionList all@ex.test memberCount=3\n"),
        "{gdl}"
    );
    ok(&e, "cdl -d acl@ex.test").await;
    ok(&e, "adlm acl@ex.test a@ex.test").await;
    assert!(
        ok(&e, "gdl acl@ex.test")
            .await
            .ends_with("members\na@ex.test\n")
    );
    let err = z(&e, "cddl bad@ex.test zimbraIsACLGroup FALSE")
        .await
        .unwrap_err();
    assert!(err.starts_with("ERROR: service.INVALID_REQUEST"), "{err}");
}

#[tokio::test]
async fn calendar_resource_commands() {
    let e = env().await;
    seed(&e).await;
    let id = ok(
        &e,
        "ccr room@ex.test '' displayName 'Room 1' zimbraCalResType Location",
    )
    .await;
    assert_eq!(id.trim().len(), 36);
    ok(
        &e,
        "ccr van@ex.test displayName Van zimbraCalResType Equipment",
    )
    .await;
    assert_eq!(ok(&e, "gacr ex.test").await, "room@ex.test\nvan@ex.test\n");
    let g = ok(&e, "gcr room@ex.test zimbraCalResType displayName").await;
    assert_eq!(
        g,
        "# name room@ex.test\ndisplayName: Room 1\nzimbraCalResType: Location\n"
    );
    ok(&e, "mcr room@ex.test zimbraCalResCapacity 10").await;
    ok(&e, "rcr room@ex.test hall@ex.test").await;
    assert!(
        ok(&e, "gcr hall@ex.test zimbraCalResCapacity")
            .await
            .contains(": 10\n")
    );
    ok(&e, "dcr hall@ex.test").await;
    assert!(z(&e, "gcr a@ex.test").await.is_err());
    let err = z(&e, "ccr x@ex.test displayName X").await.unwrap_err();
    assert!(err.contains("zimbraCalResType"), "{err}");
}

#[tokio::test]
async fn identity_signature_data_source_commands() {
    let e = env().await;
    seed(&e).await;
    assert_eq!(
        ok(&e, "cid a@ex.test work zimbraPrefFromDisplay Work").await,
        ""
    );
    let gid = ok(&e, "gid a@ex.test").await;
    assert!(gid.starts_with("# name DEFAULT\n"), "{gid}");
    assert!(gid.contains("# name work\n"), "{gid}");
    assert!(gid.contains("zimbraPrefFromDisplay: Work\n"));
    ok(&e, "mid a@ex.test work zimbraPrefFromDisplay Office").await;
    assert!(
        ok(&e, "gid a@ex.test zimbraPrefFromDisplay")
            .await
            .contains("Office")
    );
    ok(&e, "did a@ex.test work").await;
    assert!(!ok(&e, "gid a@ex.test").await.contains("# name work"));

    let sid = ok(&e, "csig a@ex.test sig1 zimbraPrefMailSignature '-- a'").await;
    assert_eq!(sid.trim().len(), 36);
    ok(
        &e,
        &format!(
            "msig a@ex.test {} zimbraPrefMailSignature '-- b'",
            sid.trim()
        ),
    )
    .await;
    assert!(
        ok(&e, "gsig a@ex.test")
            .await
            .contains("zimbraPrefMailSignature: -- b\n")
    );
    ok(&e, "dsig a@ex.test sig1").await;
    assert_eq!(ok(&e, "gsig a@ex.test").await, "");

    ok(
        &e,
        "cds a@ex.test pop3 mypop zimbraDataSourceEnabled TRUE zimbraDataSourceFolderId 2 \
         zimbraDataSourceHost pop.far.test zimbraDataSourcePassword secret",
    )
    .await;
    let gds = ok(&e, "gds a@ex.test").await;
    assert!(gds.starts_with("# name mypop\n# type pop3\n"), "{gds}");
    assert!(
        gds.contains("zimbraDataSourcePassword: VALUE-BLOCKED\n"),
        "{gds}"
    );
    ok(&e, "mds a@ex.test mypop zimbraDataSourcePort 995").await;
    ok(&e, "dds a@ex.test mypop").await;
    assert_eq!(ok(&e, "gds a@ex.test").await, "");
}

#[tokio::test]
async fn preauth_password_strength_and_rename_domain() {
    let e = env().await;
    seed(&e).await;
    let k = ok(&e, "gdpak ex.test").await;
    assert!(
        k.starts_with("preAuthKey: ") && k.trim().len() == 12 + 64,
        "{k}"
    );
    let out = ok(&e, "gdpa ex.test a@ex.test name 1135280708088 0").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "account: a@ex.test",
            "by: name",
            "timestamp: 1135280708088",
            "expires: 0"
        ]
    );
    assert!(lines[4].starts_with("preAuth: ") && lines[4].len() == 9 + 40);

    assert_eq!(
        ok(&e, "cps a@ex.test Passw0rd!").await,
        "Password passed strength check.\n"
    );
    assert_eq!(
        z(&e, "cps a@ex.test abc").await.unwrap_err(),
        "ERROR: account.INVALID_PASSWORD (invalid password: too short)"
    );

    ok(&e, "cad alias.test ex.test").await;
    ok(&e, "rd ex.test new.test").await;
    assert!(
        ok(&e, "ga a@new.test mail")
            .await
            .contains("mail: a@new.test\n")
    );
    assert!(z(&e, "ga a@ex.test").await.is_err());
}

#[tokio::test]
async fn right_commands() {
    let e = env().await;
    seed(&e).await;
    ok(&e, "cdl l@ex.test").await;
    ok(&e, "grr dl l@ex.test usr a@ex.test sendToDistList").await;
    ok(&e, "grr dl l@ex.test pub -viewDistList").await;
    ok(&e, "grr dl l@ex.test gst x@far.test '' sendToDistList").await;
    ok(&e, "grr dl l@ex.test usr b@ex.test ownDistList").await;
    let gg = ok(&e, "gg -t dl l@ex.test").await;
    let has = |gt: &str, id: &str, right: &str| {
        gg.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.contains(&gt) && w.contains(&id) && w.last() == Some(&right)
        })
    };
    assert!(
        has(
            "pub",
            "99999999-9999-9999-9999-999999999999",
            "-viewDistList"
        ),
        "{gg}"
    );
    assert!(has("gst", "x@far.test", "sendToDistList"), "{gg}");
    assert!(
        e.prov
            .can_send_to_list("l@ex.test", "a@ex.test", true)
            .await
            .unwrap()
    );
    assert!(
        !e.prov
            .can_send_to_list("l@ex.test", "c@ex.test", true)
            .await
            .unwrap()
    );
    assert_eq!(
        e.prov.list_owners("l@ex.test").await.unwrap(),
        vec!["b@ex.test"]
    );
    ok(&e, "rvr dl l@ex.test usr a@ex.test sendToDistList").await;
    ok(&e, "rvr dl l@ex.test gst x@far.test sendToDistList").await;
    assert!(
        e.prov
            .can_send_to_list("l@ex.test", "c@ex.test", true)
            .await
            .unwrap()
    );
    assert!(
        z(&e, "grr dl l@ex.test usr a@ex.test noSuchRight")
            .await
            .is_err()
    );
    assert_eq!(
        z(&e, "grr dl l@ex.test usr").await.unwrap_err(),
        "usage: grantRight"
    );
}

#[test]
fn every_command_has_unique_names() {
    let mut seen = std::collections::HashSet::new();
    for c in super::COMMANDS {
        assert!(seen.insert(c.long.to_ascii_lowercase()), "{}", c.long);
        assert!(seen.insert(c.short.to_ascii_lowercase()), "{}", c.short);
    }
    for short in [
        "cdl", "cddl", "ddl", "gdl", "gadl", "adlm", "rdlm", "mdl", "rdl", "gdlm", "gam", "ccr",
        "dcr", "gcr", "gacr", "mcr", "rcr", "cid", "did", "gid", "mid", "csig", "dsig", "gsig",
        "msig", "cds", "dds", "gds", "mds", "gdpak", "gdpa", "rd", "cad", "cps", "grr", "rvr",
    ] {
        assert!(super::find_command(short).is_some(), "{short}");
    }
}

#[tokio::test]
async fn search_and_gal_commands() {
    let e = env().await;
    seed(&e).await;
    ok(
        &e,
        "ma a@ex.test displayName 'Ann Archer' sn Archer givenName Ann",
    )
    .await;
    ok(
        &e,
        "ma b@ex.test displayName 'Bob Archer' sn Archer zimbraHideInGal TRUE",
    )
    .await;
    ok(
        &e,
        "ccr room@ex.test '' displayName 'Archer Room' zimbraCalResType Location",
    )
    .await;
    assert_eq!(ok(&e, "sa (sn=archer)").await, "a@ex.test\nb@ex.test\n");
    assert_eq!(
        ok(
            &e,
            "searchAccounts (sn=archer) limit 1 sortBy name sortAscending 0"
        )
        .await,
        "b@ex.test\n"
    );
    assert!(
        ok(&e, "sa -v (givenName=ann)")
            .await
            .contains("# name a@ex.test\n")
    );
    assert!(
        z(&e, "sa (sn=archer")
            .await
            .unwrap_err()
            .contains("INVALID_REQUEST")
    );
    assert_eq!(
        ok(
            &e,
            "scr ex.test zimbraCalResType eq Location displayName has rch"
        )
        .await,
        "room@ex.test\n"
    );
    let sg = ok(&e, "sg ex.test archer").await;
    assert!(sg.contains("# name a@ex.test\n"), "{sg}");
    assert!(sg.contains("fullName: Ann Archer\n"), "{sg}");
    assert!(sg.contains("# name room@ex.test\n"), "{sg}");
    assert!(!sg.contains("b@ex.test"), "hidden: {sg}");
    let acg = ok(&e, "acg ex.test an").await;
    assert!(acg.contains("email: a@ex.test\n"), "{acg}");
    assert!(!acg.contains("room@"), "{acg}");
    assert_eq!(
        ok(&e, "sg ex.test archer type resource")
            .await
            .matches("# name")
            .count(),
        1
    );
    assert!(ok(&e, "syg ex.test").await.contains("# name c@ex.test"));
}

// spec/06 §6 idea 13: cc, gc, mc, cpc, rc, dc with Zimbra's outputs and faults.
#[tokio::test]
async fn cos_copy_rename_delete() {
    let e = env().await;
    let id = ok(
        &e,
        "cc Executive zimbraAttachmentsBlocked FALSE zimbraAuthTokenLifetime 60m \
         zimbraMailQuota 100M zimbraMailMessageLifetime 0",
    )
    .await;
    assert_eq!(id.trim().len(), 36, "createCos prints the id");
    ok(&e, "mc Executive zimbraAttachmentsBlocked TRUE").await;

    let copy_id = ok(&e, "copyCos Executive Exec2").await;
    assert_eq!(copy_id.trim().len(), 36, "copyCos prints the new id");
    assert_ne!(copy_id, id);
    let copy = ok(&e, "gc Exec2").await;
    assert!(copy.starts_with("# name Exec2\n"), "{copy}");
    for line in [
        "cn: Exec2",
        "zimbraAttachmentsBlocked: TRUE",
        "zimbraAuthTokenLifetime: 60m",
        "zimbraMailQuota: 104857600",
        "zimbraMailMessageLifetime: 0",
    ] {
        assert!(
            copy.lines().any(|l| l == line),
            "{line} missing in:\n{copy}"
        );
    }
    assert!(copy.contains(&format!("zimbraId: {}", copy_id.trim())));
    assert_eq!(
        z(&e, "cpc Executive exec2").await.unwrap_err(),
        "ERROR: account.COS_EXISTS (cos already exists: exec2)"
    );
    assert!(
        z(&e, "cpc NoSuch Exec3")
            .await
            .unwrap_err()
            .starts_with("ERROR: account.NO_SUCH_COS ")
    );

    // Renaming keeps the id; the old name is gone.
    assert_eq!(ok(&e, "rc Executive Business").await, "");
    assert!(
        z(&e, "gc Executive")
            .await
            .unwrap_err()
            .starts_with("ERROR: account.NO_SUCH_COS ")
    );
    assert!(
        ok(&e, &format!("gc {}", id.trim()))
            .await
            .starts_with("# name Business\n")
    );
    assert!(
        z(&e, "rc Business Exec2")
            .await
            .unwrap_err()
            .starts_with("ERROR: account.COS_EXISTS ")
    );
    assert_eq!(
        z(&e, "rc default other").await.unwrap_err(),
        "ERROR: service.INVALID_REQUEST (unable to rename default cos)"
    );

    // A COS in use may be deleted (as in Zimbra): its account falls back to default.
    ok(&e, "cd ex.test").await;
    ok(
        &e,
        &format!("ca u@ex.test Passw0rd! zimbraCOSId {}", id.trim()),
    )
    .await;
    assert_eq!(ok(&e, "dc Business").await, "");
    assert!(z(&e, "gc Business").await.is_err());
    let acct = e.prov.get_account("u@ex.test").await.expect("account");
    let cos = e
        .prov
        .account_cos(&acct)
        .await
        .expect("cos")
        .expect("a cos");
    assert_eq!(cos.name, "default");
    assert_eq!(
        z(&e, "deleteCos default").await.unwrap_err(),
        "ERROR: service.INVALID_REQUEST (unable to delete default cos)"
    );
    assert_eq!(z(&e, "dc").await.unwrap_err(), "usage: deleteCos");
    assert_eq!(z(&e, "cpc Exec2").await.unwrap_err(), "usage: copyCos");
}
