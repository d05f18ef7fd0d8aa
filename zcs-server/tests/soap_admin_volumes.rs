//! The admin volume, HSM and blob-check requests over SOAP on 127.0.0.1: volumes are
//! listed, created, modified, made current and deleted with Zimbra's `<volume>` shape;
//! an HSM session started by HsmRequest moves a message's blob to the secondary volume
//! and GetHsmStatus reports it; CheckBlobConsistency finds a missing blob; users and
//! delegated admins are refused.
//!
//! The handlers find the store's paths through `ZCS_HOME` and its local config, so each
//! test points `ZCS_HOME` at a home whose local config names the fixture's store, and
//! the tests run one at a time.

mod soap_support;

use std::path::Path;
use std::time::Duration;

use soap_support::*;
use zcs_core::Attrs;

/// Serialises the tests: `ZCS_HOME` is process-wide.
static HOME_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Points `ZCS_HOME` at a home under the fixture whose local config names its store
/// (`StoreConfig::under(tmp/store)`).
fn point_home(f: &Fixture) {
    let root = f._tmp.path();
    let home = root.join("home");
    std::fs::create_dir_all(home.join("conf")).expect("conf dir");
    let store = root.join("store");
    let lc = format!(
        "zcs_store_db = \"{}\"\nzcs_store_volume = \"{}\"\nzcs_redolog_directory = \"{}\"\n",
        store.join("db").join("mailbox.sqlite").display(),
        store.join("store").display(),
        store.join("redolog").display(),
    );
    std::fs::write(home.join("conf").join("localconfig.toml"), lc).expect("local config");
    // SAFETY: every test of this binary holds HOME_LOCK while it sets and uses the
    // variable, and nothing else in this process reads it from C code.
    unsafe { std::env::set_var("ZCS_HOME", &home) };
}

async fn admin(f: &Fixture, token: &str, body: &str) -> Reply {
    post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(token), body),
        "",
    )
    .await
}

fn ok(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The value of attribute `name` on the `n`th `<tag ...>` of `body`.
fn attr_n(body: &str, tag: &str, name: &str, n: usize) -> Option<String> {
    let open = body.match_indices(&format!("<{tag} ")).nth(n)?.0;
    let end = body[open..].find('>')? + open;
    let el = &body[open..end];
    let key = format!(" {name}=\"");
    let v = el.find(&key)? + key.len();
    let len = el[v..].find('"')?;
    Some(el[v..v + len].to_string())
}

fn attr(body: &str, tag: &str, name: &str) -> Option<String> {
    attr_n(body, tag, name, 0)
}

fn req(name: &str, attrs: &str, inner: &str) -> String {
    format!("<{name} xmlns=\"urn:zimbraAdmin\" {attrs}>{inner}</{name}>")
}

fn dir_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[tokio::test]
async fn volumes_are_listed_created_changed_and_deleted() {
    let _g = HOME_LOCK.lock().await;
    let f = fixture().await;
    point_home(&f);
    let t = admin_login(&f).await;

    let r = admin(&f, &t, &req("GetAllVolumesRequest", "", "")).await;
    ok(&r);
    assert_eq!(attr(&r.body, "volume", "id").as_deref(), Some("1"));
    assert_eq!(attr(&r.body, "volume", "name").as_deref(), Some("message1"));
    assert_eq!(attr(&r.body, "volume", "type").as_deref(), Some("1"));
    assert_eq!(attr(&r.body, "volume", "isCurrent").as_deref(), Some("1"));
    assert_eq!(attr(&r.body, "volume", "mbits").as_deref(), Some("12"));

    // A relative root path is refused.
    let bad = req(
        "CreateVolumeRequest",
        "",
        "<volume name=\"x\" type=\"2\" rootpath=\"rel/dir\"/>",
    );
    let r = admin(&f, &t, &bad).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    let hsm_dir = f._tmp.path().join("hsm");
    let create = req(
        "CreateVolumeRequest",
        "",
        &format!(
            "<volume name=\"hsm1\" type=\"2\" rootpath=\"{}\" compressBlobs=\"1\" \
             compressionThreshold=\"100\"/>",
            dir_str(&hsm_dir)
        ),
    );
    let r = admin(&f, &t, &create).await;
    ok(&r);
    let id = attr(&r.body, "volume", "id").expect("new id");
    assert_eq!(
        attr(&r.body, "volume", "compressBlobs").as_deref(),
        Some("1")
    );
    // The same name again is refused.
    let r = admin(&f, &t, &create).await;
    assert_eq!(r.fault_code().as_deref(), Some("volume.ALREADY_EXISTS"));

    let modify = req(
        "ModifyVolumeRequest",
        &format!("id=\"{id}\""),
        "<volume name=\"hsm-one\" compressionThreshold=\"200\"/>",
    );
    ok(&admin(&f, &t, &modify).await);
    let r = admin(
        &f,
        &t,
        &req("GetVolumeRequest", &format!("id=\"{id}\""), ""),
    )
    .await;
    ok(&r);
    assert_eq!(attr(&r.body, "volume", "name").as_deref(), Some("hsm-one"));
    assert_eq!(
        attr(&r.body, "volume", "compressionThreshold").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr(&r.body, "volume", "rootpath").as_deref(),
        Some(dir_str(&hsm_dir).as_str())
    );

    // The first secondary volume became current.
    let r = admin(&f, &t, &req("GetCurrentVolumesRequest", "", "")).await;
    ok(&r);
    assert!(r.body.contains("type=\"2\""), "{}", r.body);
    assert_eq!(
        attr_n(&r.body, "volume", "id", 1).as_deref(),
        Some(id.as_str())
    );

    // Unknown ids, a wrong type for SetCurrent, and deleting a current volume.
    for (body, code) in [
        (
            req("GetVolumeRequest", "id=\"99\"", ""),
            "volume.NO_SUCH_VOLUME",
        ),
        (
            req("DeleteVolumeRequest", "id=\"99\"", ""),
            "volume.NO_SUCH_VOLUME",
        ),
        (
            req("SetCurrentVolumeRequest", "id=\"99\" type=\"1\"", ""),
            "volume.NO_SUCH_VOLUME",
        ),
        (
            req(
                "SetCurrentVolumeRequest",
                &format!("id=\"{id}\" type=\"1\""),
                "",
            ),
            "volume.WRONG_TYPE_CURVOL",
        ),
        (
            req("DeleteVolumeRequest", &format!("id=\"{id}\""), ""),
            "volume.CANNOT_DELETE_CURRENT_VOLUME",
        ),
        (
            req("DeleteVolumeRequest", "id=\"1\"", ""),
            "volume.CANNOT_DELETE_CURRENT_VOLUME",
        ),
    ] {
        let r = admin(&f, &t, &body).await;
        assert_eq!(r.fault_code().as_deref(), Some(code), "{body}: {}", r.body);
    }
    let r = admin(&f, &t, &req("GetVolumeRequest", "id=\"99\"", "")).await;
    assert!(r.body.contains("no such volume"), "{}", r.body);

    // zmvolume -ts: no secondary volume current, then it may go.
    let off = req("SetCurrentVolumeRequest", "id=\"-1\" type=\"2\"", "");
    ok(&admin(&f, &t, &off).await);
    let r = admin(&f, &t, &req("GetCurrentVolumesRequest", "", "")).await;
    assert!(!r.body.contains("type=\"2\""), "{}", r.body);
    let set = req(
        "SetCurrentVolumeRequest",
        &format!("id=\"{id}\" type=\"2\""),
        "",
    );
    ok(&admin(&f, &t, &set).await);
    ok(&admin(&f, &t, &off).await);
    let del = req("DeleteVolumeRequest", &format!("id=\"{id}\""), "");
    ok(&admin(&f, &t, &del).await);
    let r = admin(&f, &t, &req("GetAllVolumesRequest", "", "")).await;
    assert_eq!(r.body.matches("<volume ").count(), 1, "{}", r.body);
}

/// Files under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn hsm_moves_blobs_and_the_blob_check_finds_a_missing_one() {
    let _g = HOME_LOCK.lock().await;
    let f = fixture().await;
    point_home(&f);
    let t = admin_login(&f).await;

    // Before any session: not running, and HsmRequest needs a secondary volume.
    let r = admin(&f, &t, &req("GetHsmStatusRequest", "", "")).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "GetHsmStatusResponse", "running").as_deref(),
        Some("0")
    );
    let hsm = req("HsmRequest", "", "<query>message:before:+1days</query>");
    let r = admin(&f, &t, &hsm).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    let r = admin(&f, &t, &req("HsmRequest", "", "<query>nonsense</query>")).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));

    // A message for alice.
    let alice = login(&f, ALICE).await;
    let add = "<AddMsgRequest xmlns=\"urn:zimbraMail\"><m l=\"2\"><content>From: a@b.test\r\n\
               To: alice@example.test\r\nSubject: hsm\r\n\r\nbody of the message\r\n\
               </content></m></AddMsgRequest>";
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), add), "").await;
    ok(&r);

    let hsm_dir = f._tmp.path().join("hsm");
    let create = req(
        "CreateVolumeRequest",
        "",
        &format!(
            "<volume name=\"hsm1\" type=\"secondaryMessage\" rootpath=\"{}\"/>",
            dir_str(&hsm_dir)
        ),
    );
    ok(&admin(&f, &t, &create).await);
    ok(&admin(&f, &t, &hsm).await);
    let mut status = String::new();
    for _ in 0..100 {
        let r = admin(&f, &t, &req("GetHsmStatusRequest", "", "")).await;
        ok(&r);
        status = r.body;
        // The session starts in the background: wait for its end date.
        if attr(&status, "GetHsmStatusResponse", "endDate").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = |n: &str| attr(&status, "GetHsmStatusResponse", n);
    assert_eq!(st("running").as_deref(), Some("0"), "{status}");
    assert_eq!(st("numBlobsMoved").as_deref(), Some("1"), "{status}");
    assert_eq!(st("wasAborted").as_deref(), Some("0"), "{status}");
    assert!(st("endDate").is_some(), "{status}");
    let moved: Vec<_> = files(&hsm_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "msg"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    // Nothing runs: the abort has nothing to stop.
    let r = admin(&f, &t, &req("AbortHsmRequest", "", "")).await;
    ok(&r);
    assert_eq!(
        attr(&r.body, "AbortHsmResponse", "aborted").as_deref(),
        Some("0")
    );

    // A clean store: no mailbox listed.
    let chk = req("CheckBlobConsistencyRequest", "checkSize=\"1\"", "");
    let r = admin(&f, &t, &chk).await;
    ok(&r);
    assert!(!r.body.contains("<mbox "), "{}", r.body);

    // The moved blob disappears: its item is reported missing.
    std::fs::remove_file(&moved[0]).expect("remove blob");
    let r = admin(&f, &t, &chk).await;
    ok(&r);
    assert!(r.body.contains("<missingBlobs>"), "{}", r.body);
    assert!(attr(&r.body, "mbox", "id").is_some(), "{}", r.body);
    let r = admin(
        &f,
        &t,
        &req("CheckBlobConsistencyRequest", "", "<mbox id=\"x\"/>"),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
}

#[tokio::test]
async fn users_and_delegated_admins_are_refused() {
    let _g = HOME_LOCK.lock().await;
    let f = fixture().await;
    point_home(&f);
    let delegate = "da@example.test";
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraIsDelegatedAdminAccount", "TRUE");
    f.prov
        .create_account(delegate, Some(PASSWORD), attrs)
        .await
        .expect("delegated admin");
    let login = format!(
        "<AuthRequest xmlns=\"urn:zimbraAdmin\"><name>{delegate}</name>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(f.admin, "/service/admin/soap", &soap12(None, &login), "").await;
    ok(&r);
    let da = xml_text(&r.body, "authToken").expect("token");
    let user = soap_support::login(&f, ALICE).await;
    for name in [
        "GetAllVolumesRequest",
        "GetCurrentVolumesRequest",
        "GetHsmStatusRequest",
        "CheckBlobConsistencyRequest",
    ] {
        for token in [&da, &user] {
            let r = admin(&f, token, &req(name, "", "")).await;
            assert_eq!(
                r.fault_code().as_deref(),
                Some("service.PERM_DENIED"),
                "{name}: {}",
                r.body
            );
        }
    }
    let r = admin(
        &f,
        &da,
        &req(
            "CreateVolumeRequest",
            "",
            "<volume name=\"x\" type=\"2\" rootpath=\"/tmp/x\"/>",
        ),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));
}
