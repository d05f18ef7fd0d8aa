//! Admin requests about the store's volumes (what `zmvolume` and the admin console's
//! volume page send): GetAllVolumes, GetVolume, CreateVolume, ModifyVolume,
//! DeleteVolume, SetCurrentVolume and GetCurrentVolumes, with Zimbra's `<volume>` shape
//! (`id name type rootpath compressBlobs compressionThreshold mgbits mbits fgbits fbits
//! isCurrent`, type 1 primary message, 2 secondary message, 10 index). HSM sessions and
//! blob checks are in `volumes_hsm.rs`; the domain aggregate quota's usage in
//! `aggregate_quota.rs`.
//!
//! Only global admins may send these: the rights gate refuses every request it does not
//! map for a delegated admin, and [`Ctx::admin`] refuses user tokens.
//!
//! The volume table is the one of the store this server holds (its metadata database);
//! the paths of its mirror file and default volume come from the local config of the
//! home the server runs in, as the store tools find them.

#[path = "aggregate_quota.rs"]
mod aggregate_quota;
#[path = "volumes_hsm.rs"]
mod hsm;

use std::path::PathBuf;

use zcs_core::{FaultCode, ServiceError, ServiceResult};
use zcs_store::{StoreError, Volume, VolumeAdmin, VolumeSpec, VolumeType};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use crate::home::Home;
use crate::hsm_job::{self, StoreTarget};
use crate::localconfig::LocalConfig;

/// Zimbra's default hashing bits of a volume's directory tree; reported as Zimbra
/// reports them (the blob layout here does not use them).
const MGBITS: u32 = 8;
const MBITS: u32 = 12;
const FGBITS: u32 = 8;
const FBITS: u32 = 12;

/// Routes the requests of this module; `None` when `name` is not one of them.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let volume_request = matches!(
        name,
        "GetAllVolumesRequest"
            | "GetVolumeRequest"
            | "CreateVolumeRequest"
            | "ModifyVolumeRequest"
            | "DeleteVolumeRequest"
            | "SetCurrentVolumeRequest"
            | "GetCurrentVolumesRequest"
    );
    if !volume_request && !hsm::handles(name) && !aggregate_quota::handles(name) {
        return None;
    }
    // Global admins only: a delegated admin never reaches here (the rights gate refuses
    // requests it does not map) and `admin()` refuses user tokens.
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    if aggregate_quota::handles(name) {
        return aggregate_quota::dispatch(ctx, name).await;
    }
    let target = match store_target() {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    if !volume_request {
        return hsm::dispatch(ctx, name, req, &target).await;
    }
    let admin = match open(ctx, &target).await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    Some(match name {
        "GetAllVolumesRequest" => all(&admin).await,
        "GetVolumeRequest" => get(&admin, req).await,
        "CreateVolumeRequest" => create(&admin, req).await,
        "ModifyVolumeRequest" => modify(&admin, req).await,
        "DeleteVolumeRequest" => delete(&admin, req).await,
        "SetCurrentVolumeRequest" => set_current(&admin, req).await,
        _ => current(&admin).await,
    })
}

/// The store paths of the home this server runs in (`ZCS_HOME` and its local config).
///
/// # Errors
/// `service.FAILURE` when the home or its local config cannot be read.
fn store_target() -> ServiceResult<StoreTarget> {
    let home = Home::from_env().map_err(|e| ServiceError::failure(format!("zcs home: {e}")))?;
    let lc = LocalConfig::load(&home)
        .map_err(|e| ServiceError::failure(format!("load local config: {e}")))?;
    Ok(hsm_job::store_config(&home, &lc))
}

/// The volume table on the store's own metadata database.
async fn open(ctx: &Ctx<'_>, target: &StoreTarget) -> ServiceResult<VolumeAdmin> {
    VolumeAdmin::open_on(
        ctx.svc.store.metadata_db(),
        &target.db_path,
        &target.blob_root,
    )
    .await
    .map_err(|e| volume_fault(e, 0))
}

/// The fault for a volume-table error about volume `id`: Zimbra's `volume.*` codes
/// where the store's refusal names one of their cases (its messages are the store's
/// contract in `zcs_store::volume`), `service.INVALID_REQUEST` for the rest.
fn volume_fault(e: StoreError, id: i64) -> ServiceError {
    match e {
        StoreError::NoSuchItem(_) => no_such_volume(id),
        StoreError::InvalidRequest(m) => {
            let code = if m.contains("already in use") {
                FaultCode::VolumeAlreadyExists
            } else if m.contains("still holds") {
                FaultCode::CannotDeleteVolumeInUse
            } else if m.contains("is the current") && m.contains("type cannot change") {
                FaultCode::WrongTypeCurrentVolume
            } else if m.contains("is the current") {
                FaultCode::CannotDeleteCurrentVolume
            } else {
                FaultCode::InvalidRequest
            };
            ServiceError::new(code, m)
        }
        other => {
            tracing::error!(error = %other, "volume table failure");
            ServiceError::failure("volume table failure")
        }
    }
}

fn no_such_volume(id: i64) -> ServiceError {
    ServiceError::new(FaultCode::NoSuchVolume, format!("no such volume: {id}"))
}

/// `<volume .../>` as Zimbra's VolumeInfo.
pub(crate) fn volume_el(v: &Volume) -> Element {
    let mut el = Element::new("volume");
    el.set_num("id", v.id)
        .set("name", v.name.clone())
        .set_num("type", v.kind.code())
        .set("rootpath", v.path.to_string_lossy().into_owned())
        .set_bool("compressBlobs", v.compress)
        .set_num("compressionThreshold", v.compression_threshold)
        .set_num("mgbits", MGBITS)
        .set_num("mbits", MBITS)
        .set_num("fgbits", FGBITS)
        .set_num("fbits", FBITS)
        .set_bool("isCurrent", v.current);
    el
}

/// A volume id attribute (`id`).
fn id_attr(el: &Element) -> ServiceResult<i64> {
    let v = el.req("id")?;
    v.trim()
        .parse()
        .map_err(|_| ServiceError::invalid_request(format!("invalid volume id: {v}")))
}

/// A volume type attribute: Zimbra's number (1, 2, 10) or name.
fn type_attr(v: &str) -> ServiceResult<VolumeType> {
    let v = v.trim();
    v.parse::<i64>()
        .ok()
        .and_then(VolumeType::from_code)
        .or_else(|| VolumeType::parse(v))
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid volume type: {v}")))
}

/// What a `<volume>` element sets; absent attributes stay `None`.
fn spec_of(el: &Element) -> ServiceResult<VolumeSpec> {
    let path = match el.attr("rootpath").map(str::trim) {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if !p.is_absolute() {
                return Err(ServiceError::invalid_request(format!(
                    "volume path is not absolute: {}",
                    p.display()
                )));
            }
            Some(p)
        }
        _ => None,
    };
    let threshold = match el.attr("compressionThreshold").map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(t.parse::<u64>().map_err(|_| {
            ServiceError::invalid_request(format!("invalid compressionThreshold: {t}"))
        })?),
    };
    Ok(VolumeSpec {
        name: el
            .attr("name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        kind: el.attr("type").map(type_attr).transpose()?,
        path,
        compress: match el.attr("compressBlobs") {
            Some(_) => Some(el.bool_attr("compressBlobs", false)?),
            None => None,
        },
        compression_threshold: threshold,
    })
}

fn volume_child(req: &Element) -> ServiceResult<&Element> {
    req.child("volume")
        .ok_or_else(|| ServiceError::invalid_request("missing volume element"))
}

/// `<GetAllVolumesRequest/>` → `<GetAllVolumesResponse><volume/>…`.
async fn all(admin: &VolumeAdmin) -> ServiceResult<Element> {
    let mut resp = Element::with_ns("GetAllVolumesResponse", NS_ADMIN);
    for v in admin.list().await.map_err(|e| volume_fault(e, 0))? {
        resp.add(volume_el(&v));
    }
    Ok(resp)
}

/// `<GetVolumeRequest id=/>` → `<GetVolumeResponse><volume/>`.
async fn get(admin: &VolumeAdmin, req: &Element) -> ServiceResult<Element> {
    let id = id_attr(req)?;
    let v = admin.get(id).await.map_err(|e| volume_fault(e, id))?;
    let mut resp = Element::with_ns("GetVolumeResponse", NS_ADMIN);
    resp.add(volume_el(&v));
    Ok(resp)
}

/// `<CreateVolumeRequest><volume name type rootpath [compressBlobs]
/// [compressionThreshold]/>` → `<CreateVolumeResponse><volume id=…/>`.
async fn create(admin: &VolumeAdmin, req: &Element) -> ServiceResult<Element> {
    let spec = spec_of(volume_child(req)?)?;
    if spec.name.is_none() || spec.kind.is_none() || spec.path.is_none() {
        return Err(ServiceError::invalid_request(
            "a volume needs name, type and rootpath",
        ));
    }
    let v = admin.add(&spec).await.map_err(|e| volume_fault(e, 0))?;
    let mut resp = Element::with_ns("CreateVolumeResponse", NS_ADMIN);
    resp.add(volume_el(&v));
    Ok(resp)
}

/// `<ModifyVolumeRequest id=><volume [name] [rootpath] [compressBlobs]
/// [compressionThreshold]/>` → `<ModifyVolumeResponse/>`. A current volume keeps its
/// type, as in Zimbra.
async fn modify(admin: &VolumeAdmin, req: &Element) -> ServiceResult<Element> {
    let id = id_attr(req)?;
    let spec = spec_of(volume_child(req)?)?;
    let v = admin.get(id).await.map_err(|e| volume_fault(e, id))?;
    if v.current && spec.kind.is_some_and(|k| k != v.kind) {
        return Err(ServiceError::invalid_request(format!(
            "cannot change the type of the current {} volume {id}",
            v.kind.name()
        )));
    }
    admin
        .edit(id, &spec)
        .await
        .map_err(|e| volume_fault(e, id))?;
    Ok(Element::with_ns("ModifyVolumeResponse", NS_ADMIN))
}

/// `<DeleteVolumeRequest id=/>` → `<DeleteVolumeResponse/>`; refused for a current
/// volume and for one still holding blobs.
async fn delete(admin: &VolumeAdmin, req: &Element) -> ServiceResult<Element> {
    let id = id_attr(req)?;
    admin.delete(id).await.map_err(|e| volume_fault(e, id))?;
    Ok(Element::with_ns("DeleteVolumeResponse", NS_ADMIN))
}

/// `<SetCurrentVolumeRequest id= type=/>` → `<SetCurrentVolumeResponse/>`. `type` must
/// be the volume's; `id="-1" type="2"` leaves no secondary volume current
/// (`zmvolume -ts`).
async fn set_current(admin: &VolumeAdmin, req: &Element) -> ServiceResult<Element> {
    let id = id_attr(req)?;
    let kind = type_attr(req.req("type")?)?;
    if id < 0 {
        if kind != VolumeType::SecondaryMessage {
            return Err(no_such_volume(id));
        }
        admin
            .turn_off_secondary()
            .await
            .map_err(|e| volume_fault(e, id))?;
    } else {
        let v = admin.get(id).await.map_err(|e| volume_fault(e, id))?;
        if v.kind != kind {
            return Err(ServiceError::new(
                FaultCode::WrongTypeCurrentVolume,
                format!(
                    "volume {id} is a {} volume, not {}",
                    v.kind.name(),
                    kind.name()
                ),
            ));
        }
        admin
            .set_current(id)
            .await
            .map_err(|e| volume_fault(e, id))?;
    }
    Ok(Element::with_ns("SetCurrentVolumeResponse", NS_ADMIN))
}

/// `<GetCurrentVolumesRequest/>` → `<GetCurrentVolumesResponse><volume type= id=/>…`.
async fn current(admin: &VolumeAdmin) -> ServiceResult<Element> {
    let mut resp = Element::with_ns("GetCurrentVolumesResponse", NS_ADMIN);
    for v in admin.current().await.map_err(|e| volume_fault(e, 0))? {
        resp.add_new("volume")
            .set_num("type", v.kind.code())
            .set_num("id", v.id);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_by_number_or_name() {
        assert_eq!(type_attr("1").ok(), Some(VolumeType::PrimaryMessage));
        assert_eq!(type_attr(" 10 ").ok(), Some(VolumeType::Index));
        assert_eq!(
            type_attr("secondaryMessage").ok(),
            Some(VolumeType::SecondaryMessage)
        );
        assert!(type_attr("3").is_err());
        assert!(type_attr("").is_err());
    }

    #[test]
    fn a_relative_root_path_is_refused() {
        let mut el = Element::new("volume");
        el.set("rootpath", "relative/dir");
        assert!(spec_of(&el).is_err());
        el.set("rootpath", "/abs/dir")
            .set("compressionThreshold", "x");
        assert!(spec_of(&el).is_err());
        el.set("compressionThreshold", "10")
            .set("compressBlobs", "1");
        let s = spec_of(&el).expect("valid");
        assert_eq!(s.compression_threshold, Some(10));
        assert_eq!(s.compress, Some(true));
        assert!(s.name.is_none() && s.kind.is_none());
    }
}
