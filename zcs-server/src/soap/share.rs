//! Sharing: folder grants (FolderAction `grant`/`!grant`, the `acl` of GetFolder), mountpoints
//! (CreateMountpoint, `link` in GetFolder), GetEffectiveFolderPerms, GetShareInfo (in `info`), and
//! the one door through which a request reaches another account's mailbox: [`remote_folder`]. Every
//! access to another mailbox is authorized by the owner's grants on the folder concerned; without
//! one the answer is `service.PERM_DENIED`, whether or not the folder exists, so nothing is learnt
//! by guessing ids.

use zcs_core::{Entry, FaultCode, ItemId, ServiceError, ServiceResult, ZimbraId};
use zcs_store::{Accessor, Grant, GranteeType, Mailbox, Mountpoint, Rights, StoreError};

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::folders::parse_id;
use super::response;

mod info;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let result = match name {
        "CreateMountpointRequest" => create_mountpoint(ctx, req).await,
        "GetEffectiveFolderPermsRequest" => effective_perms(ctx, req).await,
        "GetShareInfoRequest" => info::get_share_info(ctx, req).await,
        _ => return None,
    };
    Some(result)
}

/// Extra rights the store's [`Rights`] has no bit for (`f`, free/busy), kept in the
/// grant's secret as `+f` for grantee types that have no secret.
/// LIMITATION: a stand-in until the store's rights carry `f`.
const EXTRA_PREFIX: &str = "+";

fn has_secret(t: GranteeType) -> bool {
    matches!(t, GranteeType::Guest | GranteeType::Key)
}

/// Parses Zimbra's `perm` letters: the store's rights plus `f`; `c` (subfolder) is
/// derived, never stored; `-` (negative rights) is refused.
fn parse_perm(perm: &str) -> ServiceResult<(Rights, bool)> {
    let mut base = String::new();
    let mut fb = false;
    for c in perm.chars() {
        match c {
            'f' => fb = true,
            'c' => {}
            'r' | 'w' | 'i' | 'd' | 'a' | 'x' | 'p' => base.push(c),
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "unknown right: {other}"
                )));
            }
        }
    }
    let rights = Rights::parse(&base).map_err(store_fault)?;
    Ok((rights, fb))
}

/// Zimbra's rights string: `r w i d x a p f`, then `c` when read and insert are both
/// held (creating subfolders).
pub(crate) fn perm_string(r: Rights, fb: bool) -> String {
    let mut s = String::new();
    for (bit, l) in [
        (Rights::READ, 'r'),
        (Rights::WRITE, 'w'),
        (Rights::INSERT, 'i'),
        (Rights::DELETE, 'd'),
        (Rights::ACTION, 'x'),
        (Rights::ADMIN, 'a'),
        (Rights::PRIVATE, 'p'),
    ] {
        if r.contains(bit) {
            s.push(l);
        }
    }
    if fb {
        s.push('f');
    }
    if r.contains(Rights::READ | Rights::INSERT) {
        s.push('c');
    }
    s
}

fn grant_has_fb(g: &Grant) -> bool {
    !has_secret(g.grantee_type) && g.secret.starts_with(EXTRA_PREFIX) && g.secret.contains('f')
}

/// Who the caller is, for evaluating grants: account, groups, domain.
pub(crate) async fn accessor(ctx: &Ctx<'_>, account: &Entry) -> Accessor {
    let mut groups = Vec::new();
    if let Ok(list) = ctx.svc.prov.group_membership(&account.name).await {
        groups = list.into_iter().map(|(g, _)| g.id).collect();
    }
    Accessor {
        account: Some(account.id),
        groups,
        domain: account.name.rsplit_once('@').map(|(_, d)| d.to_string()),
        ..Accessor::default()
    }
}

/// The rights (and free/busy) `who` has on `folder` of `mb`, by the grants of the
/// nearest folder from `folder` up that has any, every matching grant adding its rights.
async fn rights_on(mb: &Mailbox, folder: ItemId, who: &Accessor) -> ServiceResult<(Rights, bool)> {
    let rights = mb
        .effective_rights_for(folder, who)
        .await
        .map_err(store_fault)?;
    if who.account == Some(mb.account()) {
        return Ok((rights, true));
    }
    if rights.is_empty() {
        return Ok((rights, false));
    }
    // Free/busy: from the same nearest folder with grants, any matching grant.
    let mut cur = folder;
    for _ in 0..64 {
        let grants = mb.grants(cur).await.map_err(store_fault)?;
        if !grants.is_empty() {
            let me = who.account.map(|a| a.to_string());
            let fb = grants.iter().any(|g| {
                grant_has_fb(g)
                    && match g.grantee_type {
                        GranteeType::User => me.as_deref() == Some(g.grantee.as_str()),
                        GranteeType::Group => who.groups.iter().any(|x| x.to_string() == g.grantee),
                        GranteeType::Domain => who
                            .domain
                            .as_deref()
                            .is_some_and(|d| d.eq_ignore_ascii_case(&g.grantee)),
                        _ => true,
                    }
            });
            return Ok((rights, fb));
        }
        match mb.folder(cur).await {
            Ok(f) if f.parent != cur => cur = f.parent,
            _ => break,
        }
    }
    Ok((rights, false))
}

fn denied() -> ServiceError {
    ServiceError::perm_denied("permission denied")
}

/// Splits `ownerId:itemId`; `None` for a plain local id.
pub(crate) fn split_remote(text: &str) -> Option<(&str, &str)> {
    let t = text.trim();
    t.split_once(':')
}

/// A folder of another account, reached through its owner's grants: the owner's
/// mailbox, the folder id, and the caller's rights on it (never empty).
pub(crate) struct Remote {
    pub mb: Mailbox,
    pub owner: Entry,
    pub folder: ItemId,
    pub rights: Rights,
    pub freebusy: bool,
}

/// Resolves `ownerId:folderId` for the caller. The owner's folder is only reached
/// when the caller holds some right on it.
///
/// # Errors
/// `account.NO_SUCH_ACCOUNT` for an owner that does not exist; `service.PERM_DENIED`
/// when the caller has no right on the folder, or when there is no such folder.
pub(crate) async fn remote_folder(
    ctx: &mut Ctx<'_>,
    owner: &str,
    id: &str,
) -> ServiceResult<Remote> {
    let me = ctx.target_account().await?;
    let owner_entry = owner_account(ctx, owner).await?;
    let folder = parse_id(id, FaultCode::NoSuchFolder)?;
    let mb = ctx
        .svc
        .store
        .mailbox(owner_entry.id)
        .await
        .map_err(store_fault)?;
    let who = accessor(ctx, &me).await;
    let (rights, freebusy) = match rights_on(&mb, folder, &who).await {
        Ok(r) => r,
        Err(e) if e.code == FaultCode::NoSuchFolder => return Err(denied()),
        Err(e) => return Err(e),
    };
    if rights.is_empty() && !freebusy {
        return Err(denied());
    }
    Ok(Remote {
        mb,
        owner: owner_entry,
        folder,
        rights,
        freebusy,
    })
}

/// An item of another account named `ownerId:itemId`, reached through the grants on
/// the folder holding it: the owner's mailbox and the item id, when the caller holds
/// every right of `need` there.
///
/// # Errors
/// `service.PERM_DENIED` when the caller lacks the rights, or when there is no such
/// item (so ids cannot be probed); `account.NO_SUCH_ACCOUNT` for an unknown owner.
pub(crate) async fn remote_item(
    ctx: &mut Ctx<'_>,
    owner: &str,
    id: &str,
    need: u8,
) -> ServiceResult<(Mailbox, ItemId)> {
    let owner_entry = owner_account(ctx, owner).await?;
    let item = parse_id(id, FaultCode::NoSuchItem).map_err(|_| denied())?;
    let mb = ctx
        .svc
        .store
        .mailbox(owner_entry.id)
        .await
        .map_err(store_fault)?;
    let folder = if let Ok(m) = mb.message(item).await {
        m.folder
    } else if let Ok(c) = mb.contact(item).await {
        c.folder
    } else if let Ok(c) = mb.cal_item(item).await {
        c.folder
    } else {
        return Err(denied());
    };
    let r = remote_folder(ctx, &owner_entry.id.to_string(), &folder.0.to_string()).await?;
    if !r.rights.contains(need) {
        return Err(denied());
    }
    Ok((mb, item))
}

async fn owner_account(ctx: &Ctx<'_>, owner: &str) -> ServiceResult<Entry> {
    let owner = owner.trim();
    if owner.is_empty() {
        return Err(ServiceError::no_such_account(owner));
    }
    let found = ctx.svc.prov.find_account(owner).await?;
    found.ok_or_else(|| ServiceError::no_such_account(owner))
}

/// GetEffectiveFolderPermsRequest `folder l=` (a local id or `ownerId:folderId`):
/// `folder perm=` with the caller's rights.
async fn effective_perms(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let f = req
        .child("folder")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: folder"))?;
    let l = f.req("l")?.to_string();
    let me = ctx.target_account().await?;
    let perm = match split_remote(&l) {
        Some((owner, id)) if !owner.eq_ignore_ascii_case(&me.id.to_string()) => {
            let r = remote_folder(ctx, owner, id).await?;
            perm_string(r.rights, r.freebusy)
        }
        other => {
            let id = other.map(|(_, id)| id).unwrap_or(&l);
            let mb = ctx.mailbox().await?;
            let folder = parse_id(id, FaultCode::NoSuchFolder)?;
            mb.folder(folder).await.map_err(store_fault)?;
            perm_string(Rights::all(), true)
        }
    };
    let mut resp = response("GetEffectiveFolderPermsResponse", NS_MAIL);
    resp.add_new("folder").set("perm", perm);
    Ok(resp)
}

/// FolderAction `grant`: `grant gt= d=|zid= perm= [pw=|key=]` on folder `folder`.
/// Returns the grantee's id (or name) for the response's `zid`.
///
/// # Errors
/// `account.NO_SUCH_ACCOUNT` for a `usr` grantee that is neither an account nor a
/// list; `service.INVALID_REQUEST` for bad rights or grantee types.
pub(crate) async fn grant(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    folder: ItemId,
    action: &Element,
) -> ServiceResult<String> {
    let g = action
        .child("grant")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: grant"))?;
    let gt_text = g.req("gt")?;
    let mut gt = GranteeType::parse(gt_text)
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid grantee type: {gt_text}")))?;
    let (rights, fb) = parse_perm(g.attr("perm").unwrap_or(""))?;
    let d = g.attr("d").map(str::trim).filter(|d| !d.is_empty());
    let zid = g.attr("zid").map(str::trim).filter(|z| !z.is_empty());
    let mut secret = String::new();
    let grantee = match gt {
        GranteeType::User | GranteeType::Group => {
            let key = zid
                .or(d)
                .ok_or_else(|| ServiceError::invalid_request("grant needs a grantee (d or zid)"))?;
            match ctx.svc.prov.find_account(key).await? {
                Some(a) if gt == GranteeType::User => a.id.to_string(),
                _ => match ctx.svc.prov.find_group(key).await? {
                    Some(list) => {
                        gt = GranteeType::Group;
                        list.id.to_string()
                    }
                    None if gt == GranteeType::User => {
                        return Err(ServiceError::no_such_account(key));
                    }
                    None => {
                        return Err(ServiceError::new(
                            FaultCode::NoSuchDistributionList,
                            format!("no such distribution list: {key}"),
                        ));
                    }
                },
            }
        }
        GranteeType::Domain => {
            let name = d
                .or(zid)
                .ok_or_else(|| ServiceError::invalid_request("grant needs a domain (d)"))?;
            ctx.svc
                .prov
                .get_domain(&zcs_directory::EntryKey::Name(name.to_string()))
                .await?;
            name.to_ascii_lowercase()
        }
        GranteeType::All | GranteeType::Public => String::new(),
        GranteeType::Guest => {
            secret = g.attr("pw").or(g.attr("args")).unwrap_or("").to_string();
            d.ok_or_else(|| ServiceError::invalid_request("guest grant needs an address"))?
                .to_string()
        }
        GranteeType::Key => {
            secret = g
                .attr("key")
                .or(g.attr("args"))
                .map(str::to_string)
                .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
            d.ok_or_else(|| ServiceError::invalid_request("key grant needs a name"))?
                .to_string()
        }
    };
    if fb && !has_secret(gt) {
        secret = format!("{EXTRA_PREFIX}f");
    }
    if rights.is_empty() && !fb {
        mb.revoke(folder, gt, &grantee).await.map_err(store_fault)?;
        return Ok(grantee);
    }
    // LIMITATION: a grant of `f` alone cannot be stored (the store drops grants with
    // no rights), so it is refused rather than silently lost.
    if rights.is_empty() {
        return Err(ServiceError::invalid_request(
            "a free/busy-only grant is not supported",
        ));
    }
    mb.grant(folder, gt, &grantee, rights, &secret)
        .await
        .map_err(store_fault)?;
    Ok(grantee)
}

/// FolderAction `!grant zid=`: revokes every grant on `folder` whose grantee is `zid`
/// (an account or list id, a domain, a guest address), or the `all`/`pub` grant when
/// `zid` is Zimbra's special id for them.
pub(crate) async fn revoke(mb: &Mailbox, folder: ItemId, action: &Element) -> ServiceResult<()> {
    let zid = action.req("zid")?.trim().to_string();
    let grants = mb.grants(folder).await.map_err(store_fault)?;
    for g in grants {
        let hit = g.grantee.eq_ignore_ascii_case(&zid)
            || (g.grantee_type == GranteeType::All && zid == ALL_ID)
            || (g.grantee_type == GranteeType::Public && zid == PUBLIC_ID);
        if hit {
            mb.revoke(folder, g.grantee_type, &g.grantee)
                .await
                .map_err(store_fault)?;
        }
    }
    Ok(())
}

/// Zimbra's grantee id for `all` (GuestAccount.GUID_AUTHUSER).
const ALL_ID: &str = "00000000-0000-0000-0000-000000000000";
/// Zimbra's grantee id for `pub` (GuestAccount.GUID_PUBLIC).
const PUBLIC_ID: &str = "99999999-9999-9999-9999-999999999999";

/// The `acl` element of a folder with grants (`None` when it has none); with
/// `names`, account and list grantees get their name as `d`.
pub(crate) async fn acl_element(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    folder: ItemId,
    names: bool,
) -> ServiceResult<Option<Element>> {
    let grants = mb.grants(folder).await.map_err(store_fault)?;
    if grants.is_empty() {
        return Ok(None);
    }
    let mut acl = Element::new("acl");
    for g in &grants {
        let fb = grant_has_fb(g);
        let el = acl.add_new("grant");
        el.set("gt", g.grantee_type.as_str());
        el.set("perm", perm_string(g.rights, fb));
        let zid = match g.grantee_type {
            GranteeType::All => ALL_ID.to_string(),
            GranteeType::Public => PUBLIC_ID.to_string(),
            _ => g.grantee.clone(),
        };
        el.set("zid", zid);
        match g.grantee_type {
            GranteeType::User | GranteeType::Group if names => {
                let name = match g.grantee_type {
                    GranteeType::User => ctx
                        .svc
                        .prov
                        .find_account(&g.grantee)
                        .await
                        .ok()
                        .flatten()
                        .map(|a| a.name),
                    _ => ctx
                        .svc
                        .prov
                        .find_group(&g.grantee)
                        .await
                        .ok()
                        .flatten()
                        .map(|l| l.name),
                };
                if let Some(n) = name {
                    el.set("d", n);
                }
            }
            GranteeType::Guest | GranteeType::Domain | GranteeType::Key => {
                el.set("d", g.grantee.clone());
            }
            _ => {}
        }
    }
    Ok(Some(acl))
}

/// A `link` element for a mountpoint.
pub(crate) fn link_element(m: &Mountpoint, owner_name: Option<&str>) -> Element {
    let mut el = Element::new("link");
    el.set("id", m.id.0.to_string());
    el.set("uuid", m.id.0.to_string());
    el.set("l", m.parent.0.to_string());
    el.set("name", m.name.clone());
    el.set("zid", m.owner.to_string());
    el.set("rid", m.remote_id.0.to_string());
    if let Some(o) = owner_name {
        el.set("owner", o);
    }
    if !m.view.is_empty() {
        el.set("view", m.view.clone());
    }
    super::folders::color::set_attrs(&mut el, &m.color);
    el.set_num("rev", m.modseq);
    el.set_num("ms", m.modseq);
    el.set_num("n", 0);
    el.set_num("s", 0);
    el
}

/// CreateMountpointRequest `link l= name= (zid=|owner=) (rid=|path=) [view=]
/// [color=|rgb=]`: the caller must hold the read right on the owner's folder.
async fn create_mountpoint(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let link = req
        .child("link")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: link"))?;
    let parent = positive_id(link.req("l")?)?;
    let name = link.req("name")?.trim_end().to_string();
    let want_color = super::folders::color::requested(link)?;
    let owner = link
        .attr("zid")
        .or(link.attr("owner"))
        .unwrap_or("")
        .trim()
        .to_string();
    let owner_entry = owner_account(ctx, &owner).await?;
    let rid = match link.attr("rid") {
        Some(r) => positive_id(r)?.0.to_string(),
        None => {
            let path = link
                .attr("path")
                .ok_or_else(|| ServiceError::invalid_request("missing required attribute: rid"))?;
            let omb = ctx
                .svc
                .store
                .mailbox(owner_entry.id)
                .await
                .map_err(store_fault)?;
            let p = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            match omb.folder_by_path(&p).await.map_err(store_fault)? {
                Some(f) => f.id.0.to_string(),
                None => return Err(denied()),
            }
        }
    };
    let remote = remote_folder(ctx, &owner_entry.id.to_string(), &rid).await?;
    // Zimbra reads the shared folder as the caller to mount it: without the read
    // right (a share of delete or insert alone) the mount is refused.
    if !remote.rights.contains(Rights::READ) {
        return Err(denied());
    }
    let rf = remote.mb.folder(remote.folder).await.map_err(store_fault)?;
    // A view that is not one is ignored: the shared folder's view is used.
    let view = link
        .attr("view")
        .map(str::trim)
        .filter(|v| VIEWS.contains(v))
        .map(str::to_string)
        .unwrap_or(rf.view.clone());
    let mb = ctx.mailbox().await?;
    let mut created = mb
        .create_mountpoint(parent, &name, owner_entry.id, remote.folder, &view)
        .await
        .map_err(|e| match e {
            StoreError::NoSuchFolder(_) => ServiceError::new(
                FaultCode::NoSuchFolder,
                format!("no such folder id: {}", parent.0),
            ),
            other => store_fault(other),
        })?;
    if let Some(c) = want_color {
        created.color = mb
            .set_folder_color(created.id, c)
            .await
            .map_err(store_fault)?;
    }
    ctx.note_change(&mb).await;
    let mut resp = response("CreateMountpointResponse", NS_MAIL);
    let mut el = link_element(&created, Some(&owner_entry.name));
    el.set_num("n", rf.messages);
    el.set_num("s", rf.size);
    if rf.unread > 0 {
        el.set_num("u", rf.unread);
    }
    resp.add(el);
    Ok(resp)
}

/// The views a mountpoint may be given (Zimbra's item type names).
const VIEWS: &[&str] = &[
    "search folder",
    "tag",
    "note",
    "remote folder",
    "virtual conversation",
    "conversation",
    "message",
    "contact",
    "document",
    "appointment",
    "wiki",
    "task",
    "chat",
];

/// An item id that must be a positive number (`service.INVALID_REQUEST` otherwise).
fn positive_id(text: &str) -> ServiceResult<ItemId> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|i| *i > 0)
        .map(ItemId)
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid item id: {text:?}")))
}

/// The owners' names of mountpoints, for `owner=` in GetFolder.
pub(crate) async fn owner_name(ctx: &Ctx<'_>, owner: ZimbraId) -> Option<String> {
    ctx.svc
        .prov
        .find_account(&owner.to_string())
        .await
        .ok()
        .flatten()
        .map(|a| a.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_letters_round_trip_in_zimbra_order() {
        let (r, fb) = parse_perm("fxdiwr").expect("valid");
        assert!(fb);
        assert_eq!(perm_string(r, fb), "rwidxfc");
        let (r, fb) = parse_perm("i").expect("valid");
        assert_eq!(perm_string(r, fb), "i");
        assert!(parse_perm("rq").is_err());
        assert_eq!(perm_string(Rights(0), false), "");
    }

    #[test]
    fn remote_ids_split_on_the_colon() {
        assert_eq!(split_remote("abc:257"), Some(("abc", "257")));
        assert_eq!(split_remote("257"), None);
    }
}
