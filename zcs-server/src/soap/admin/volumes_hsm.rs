//! Admin requests that move or check blobs across volumes: HsmRequest (starts an HSM
//! session in the background, as `zmhsm -t`), GetHsmStatusRequest, AbortHsmRequest and
//! CheckBlobConsistencyRequest (`zmblobchk`). Declared by `volumes`, which checks the
//! caller is a global admin before routing here.

use std::sync::Arc;

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::EntryKey;
use zcs_store::blobchk::{self, ItemProblem, Problem};
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};

use super::super::super::context::Ctx;
use super::super::super::element::Element;
use super::super::super::envelope::NS_ADMIN;
use crate::hsm_job::{self, StoreTarget};

/// Whether `name` is one of this module's requests.
pub(super) fn handles(name: &str) -> bool {
    matches!(
        name,
        "HsmRequest" | "GetHsmStatusRequest" | "AbortHsmRequest" | "CheckBlobConsistencyRequest"
    )
}

/// Routes this module's requests for an admin already checked.
pub(super) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
    target: &StoreTarget,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "HsmRequest" => start(ctx, req, target).await,
        "GetHsmStatusRequest" => Ok(status(target)),
        "AbortHsmRequest" => abort(target),
        "CheckBlobConsistencyRequest" => check(ctx, req, target).await,
        _ => return None,
    })
}

/// `<HsmRequest>[<query>policy</query>…]</HsmRequest>` → `<HsmResponse/>`: starts one
/// session in the background with the given policies (Zimbra's `zimbraHsmPolicy` syntax),
/// else this server's or the global config's. Follow it with GetHsmStatusRequest.
///
/// # Errors
/// `service.INVALID_REQUEST` for a policy that does not parse, no current secondary
/// volume, or a session already running.
async fn start(ctx: &Ctx<'_>, req: &Element, target: &StoreTarget) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let global = prov.global_config().await?;
    let server = prov
        .get_server(&EntryKey::Name(ctx.svc.hostname.clone()))
        .await
        .ok();
    let (configured, batch) = hsm_job::policy(server.as_ref(), &global);
    let given: Vec<String> = req
        .children_named("query")
        .map(|q| q.text().trim().to_string())
        .filter(|q| !q.is_empty())
        .collect();
    let policies = if given.is_empty() { configured } else { given };
    let now = chrono::Utc::now().timestamp_millis();
    for p in &policies {
        HsmPolicy::parse(p, now).map_err(|e| ServiceError::invalid_request(e.to_string()))?;
    }
    if !hsm_job::has_secondary(target) {
        return Err(ServiceError::invalid_request(
            "no current secondary message volume",
        ));
    }
    if HsmStatus::load(&target.db_path).is_some_and(|s| s.running) {
        return Err(ServiceError::invalid_request(
            "an HSM session is already running",
        ));
    }
    let cfg = target.clone();
    tokio::spawn(async move {
        match hsm_job::run_session(&cfg, &policies, batch).await {
            Ok(st) => tracing::info!(target: "zimbra.jobs", moved = st.blobs_moved,
                "HSM session (admin request) done"),
            Err(e) => tracing::warn!(target: "zimbra.jobs", error = %e,
                "HSM session (admin request) failed"),
        }
    });
    Ok(Element::with_ns("HsmResponse", NS_ADMIN))
}

/// `<GetHsmStatusRequest/>` → `<GetHsmStatusResponse running startDate endDate
/// wasAborted aborting [error] numBlobsMoved numBytesMoved numBlobsSelected
/// destVolumeId/>` about the last session (`running="0"` and no dates when none ran).
fn status(target: &StoreTarget) -> Element {
    let mut resp = Element::with_ns("GetHsmStatusResponse", NS_ADMIN);
    let st = HsmStatus::load(&target.db_path);
    let Some(st) = st else {
        resp.set_bool("running", false);
        return resp;
    };
    let aborting = st.running && hsm::abort_path(&target.db_path).exists();
    resp.set_bool("running", st.running)
        .set_num("startDate", st.started_ms)
        .set_bool("wasAborted", st.aborted)
        .set_bool("aborting", aborting)
        .set_num("numBlobsMoved", st.blobs_moved)
        .set_num("numBytesMoved", st.bytes_moved)
        .set_num("numBlobsSelected", st.blobs_selected)
        .set_num("destVolumeId", st.dest_volume);
    if st.finished_ms > 0 {
        resp.set_num("endDate", st.finished_ms);
    }
    if let Some(e) = &st.error {
        resp.set("error", e.clone());
    }
    resp
}

/// `<AbortHsmRequest/>` → `<AbortHsmResponse aborted="0|1"/>`: asks a running session
/// to stop after its current batch; `aborted="0"` when none runs.
fn abort(target: &StoreTarget) -> ServiceResult<Element> {
    let running = hsm::request_abort(&target.db_path).map_err(|e| {
        tracing::error!(error = %e, "HSM abort failed");
        ServiceError::failure("could not request the HSM abort")
    })?;
    let mut resp = Element::with_ns("AbortHsmResponse", NS_ADMIN);
    resp.set_bool("aborted", running);
    Ok(resp)
}

/// `<CheckBlobConsistencyRequest [checkSize] [checkDigest]><mbox id=/>…
/// </CheckBlobConsistencyRequest>` (numeric mailbox ids; every mailbox when none) →
/// `<CheckBlobConsistencyResponse><mbox id=><missingBlobs><item id rev s [volumeId]/>…
/// </missingBlobs><incorrectSize><item id rev s volumeId><blob path s fileSize/></item>…
/// </incorrectSize><unreadableBlobs><item id rev s volumeId blobPath error/>…
/// </unreadableBlobs></mbox>…<unexpectedBlobs><blob volumeId path/>…</unexpectedBlobs>`.
/// Only mailboxes with a problem are listed, as in Zimbra.
// LIMITATION: `<volume id=>` filters are ignored (every volume is checked), sizes are
// always compared (`checkSize="0"` is accepted), unreferenced blobs are listed once for
// the server (they are shared by mailboxes here) and only when every mailbox is checked;
// `unreadableBlobs` (bad gzip, wrong digest with `checkDigest="1"`) is this server's own.
async fn check(ctx: &Ctx<'_>, req: &Element, target: &StoreTarget) -> ServiceResult<Element> {
    let mut ids = Vec::new();
    for m in req.children_named("mbox") {
        let v = m.req("id")?;
        ids.push(
            v.trim()
                .parse::<i64>()
                .map_err(|_| ServiceError::invalid_request(format!("invalid mailbox id: {v}")))?,
        );
    }
    let check_digest = req.bool_attr("checkDigest", false)?;
    let _ = req.bool_attr("checkSize", true)?;
    let blobs = Arc::new(
        zcs_store::VolumeBlobStore::open(&target.db_path)
            .map_err(|e| ServiceError::failure(format!("open volumes: {e}")))?,
    );
    let db = ctx.svc.store.metadata_db();
    let mailboxes = (!ids.is_empty()).then_some(ids.as_slice());
    let report = blobchk::check_on(&db, &blobs, mailboxes, check_digest)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "blob check failed");
            ServiceError::failure("blob check failed")
        })?;
    let mut resp = Element::with_ns("CheckBlobConsistencyResponse", NS_ADMIN);
    for mb in &report.mailboxes {
        let found: Vec<&ItemProblem> = report
            .problems
            .iter()
            .filter(|p| p.blob.mailbox_id == *mb)
            .collect();
        if !found.is_empty() {
            resp.add(mailbox_el(*mb, &found));
        }
    }
    if !report.unused.is_empty() {
        let list = resp.add_new("unexpectedBlobs");
        for u in &report.unused {
            list.add_new("blob")
                .set_num("volumeId", u.location.volume_id)
                .set("path", u.location.path.to_string_lossy().into_owned());
        }
    }
    Ok(resp)
}

/// One `<mbox id=>` with its problems sorted into Zimbra's lists.
fn mailbox_el(mb: i64, found: &[&ItemProblem]) -> Element {
    let mut el = Element::new("mbox");
    el.set_num("id", mb);
    let (mut missing, mut size, mut unreadable) = (
        Element::new("missingBlobs"),
        Element::new("incorrectSize"),
        Element::new("unreadableBlobs"),
    );
    for p in found {
        let mut item = Element::new("item");
        item.set_num("id", p.blob.item_id)
            .set_num("rev", p.blob.revision)
            .set_num("s", p.blob.size);
        if let Some(loc) = &p.location {
            item.set_num("volumeId", loc.volume_id);
        }
        let path = p
            .location
            .as_ref()
            .map(|l| l.path.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &p.problem {
            Problem::Missing => {
                missing.add(item);
            }
            Problem::WrongSize { actual, .. } => {
                item.add_new("blob")
                    .set("path", path)
                    .set_num("s", p.blob.size)
                    .set_num("fileSize", *actual);
                size.add(item);
            }
            Problem::WrongDigest { actual } => {
                item.set("blobPath", path)
                    .set("error", format!("content digest is {actual}"));
                unreadable.add(item);
            }
            Problem::Unreadable(e) => {
                item.set("blobPath", path).set("error", e.clone());
                unreadable.add(item);
            }
        }
    }
    for list in [missing, size, unreadable] {
        if !list.children.is_empty() {
            el.add(list);
        }
    }
    el
}
