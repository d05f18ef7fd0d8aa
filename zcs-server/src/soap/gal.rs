//! Global address list requests of the account service: SearchGal and AutoCompleteGal over the
//! directory's GAL search, and SyncGal (`sync` below) over its full GAL listing
//! (`Provisioning::search_gal`, which applies `zimbraGalMode`, `zimbraGalMaxResults` and hides
//! `zimbraHideInGal` entries), each hit a `cn` contact built with the domain's
//! `zimbraGalLdapAttrMap`. The caller's COS switches `zimbraFeatureGalEnabled` and
//! `zimbraFeatureGalAutoCompleteEnabled` gate them (and `zimbraFeatureGalSyncEnabled` SyncGal).
//!
//! Also routes the account service's directory rights requests, CheckRights and
//! DiscoverRights, to [`user_rights`] (this module is the directory's door in the account
//! namespace).

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::provisioning::gal::{GalRequest, GalType, attr_map, contact_attrs};

use super::context::Ctx;
use super::element::Element;
use super::envelope::NS_ACCOUNT;
use super::response;

mod user_rights;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "SearchGalRequest" => Some(search(ctx, req, false).await),
        "AutoCompleteGalRequest" => Some(search(ctx, req, true).await),
        "SyncGalRequest" => Some(sync(ctx, req).await),
        "CheckRightsRequest" => Some(user_rights::check_rights(ctx, req).await),
        "DiscoverRightsRequest" => Some(user_rights::discover_rights(ctx, req).await),
        _ => None,
    }
}

/// The caller's account, once each of the COS `switches` is checked not FALSE.
///
/// # Errors
/// `service.PERM_DENIED` naming the switch that is off.
async fn gal_account(ctx: &mut Ctx<'_>, switches: &[&str]) -> ServiceResult<zcs_core::Entry> {
    ctx.auth().await?;
    let account = ctx.target_account().await?;
    let effective = ctx.svc.prov.effective_account_attrs(&account).await?;
    for switch in switches {
        if effective
            .get(switch)
            .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
        {
            return Err(ServiceError::perm_denied(format!(
                "cannot use the GAL: {switch} is FALSE"
            )));
        }
    }
    Ok(account)
}

/// `<SearchGalRequest [type] [limit]><name>text</name>` (and AutoCompleteGal, a prefix
/// match): `cn` elements with the contact fields of each match, `more` when the limit
/// cut the list.
async fn search(ctx: &mut Ctx<'_>, req: &Element, autocomplete: bool) -> ServiceResult<Element> {
    let switch = if autocomplete {
        "zimbraFeatureGalAutoCompleteEnabled"
    } else {
        "zimbraFeatureGalEnabled"
    };
    let account = gal_account(ctx, &[switch]).await?;
    // `galAcctId` names a GAL sync account to search through: an admin's option only,
    // as in Zimbra (a user naming one is refused, never told whether it exists).
    if req.attr("galAcctId").is_some() && !ctx.auth().await?.data.admin {
        return Err(ServiceError::perm_denied(
            "galAcctId may be given by an admin only",
        ));
    }
    let prov = ctx.svc.prov.clone();
    let text = req
        .child("name")
        .map(|n| n.text().to_string())
        .or_else(|| req.attr("name").map(str::to_string))
        .unwrap_or_default();
    let gal_type = match req.attr("type") {
        None => GalType::Account,
        Some(t) => GalType::parse(t)
            .ok_or_else(|| ServiceError::invalid_request(format!("unknown GAL type {t}")))?,
    };
    let limit = req
        .int_attr("limit", 0)?
        .try_into()
        .ok()
        .filter(|l: &usize| *l > 0);
    let domain = account
        .domain()
        .ok_or_else(|| ServiceError::invalid_request("account has no domain"))?
        .to_string();
    let results = prov
        .search_gal(
            &domain,
            &GalRequest {
                text,
                gal_type,
                autocomplete,
                limit,
            },
        )
        .await?;
    let domain_entry = prov
        .get_domain(&zcs_directory::EntryKey::Name(domain.clone()))
        .await?;
    let map = attr_map(&prov.effective_domain_attrs(&domain_entry).await?);
    let name = if autocomplete {
        "AutoCompleteGalResponse"
    } else {
        "SearchGalResponse"
    };
    let mut resp = response(name, NS_ACCOUNT);
    resp.set_bool("more", results.more);
    resp.set_bool("tokenizeKey", false);
    resp.set_bool("paginationSupported", !autocomplete);
    for entry in &results.entries {
        let cn = resp.add_new("cn");
        cn.set("id", entry.id.to_string());
        let fields = contact_attrs(entry, &map);
        for (field, values) in fields.iter() {
            for v in values {
                cn.add_a(field, v.clone());
            }
        }
    }
    Ok(resp)
}

/// How many GAL listings (over all domains) this server remembers for deltas.
const SNAPSHOTS_KEPT: usize = 16;

/// One GAL listing as SyncGal saw it: each entry's id and a hash of its contents.
type Listing = std::sync::Arc<std::collections::HashMap<zcs_core::ZimbraId, u64>>;

/// The last [`SNAPSHOTS_KEPT`] GAL listings handed out, by domain and token digest, so
/// a client's next SyncGal can be answered with what changed. Kept in memory only: a
/// restart forgets them and the next sync is full. Cost: 16 bytes of id and 8 of hash
/// per entry per listing kept.
struct Snapshots(std::sync::Mutex<std::collections::VecDeque<(String, String, Listing)>>);

impl Snapshots {
    fn get(&self, domain: &str, digest: &str) -> Option<Listing> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .find(|(d, t, _)| d == domain && t == digest)
            .map(|(_, _, l)| l.clone())
    }

    fn put(&self, domain: &str, digest: &str, listing: Listing) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(d, t, _)| !(d == domain && t == digest));
        all.push_back((domain.to_string(), digest.to_string(), listing));
        while all.len() > SNAPSHOTS_KEPT {
            all.pop_front();
        }
    }
}

fn snapshots() -> &'static Snapshots {
    static S: std::sync::OnceLock<Snapshots> = std::sync::OnceLock::new();
    S.get_or_init(|| Snapshots(std::sync::Mutex::new(std::collections::VecDeque::new())))
}

/// Each entry's id and a hash of its name and attributes (as [`sync_token`] covers them).
fn entry_hashes(entries: &[zcs_core::Entry]) -> Listing {
    use std::hash::{Hash, Hasher};
    let mut out = std::collections::HashMap::with_capacity(entries.len());
    for e in entries {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        e.name.hash(&mut h);
        for (n, values) in e.attrs.iter() {
            n.to_ascii_lowercase().hash(&mut h);
            values.hash(&mut h);
        }
        out.insert(e.id, h.finish());
    }
    std::sync::Arc::new(out)
}

/// The sync token of a GAL listing: `zcs1:<ms>:<digest>`, the digest covering every
/// entry's id, name and attributes, so any change (new, changed or removed entry)
/// changes it.
fn sync_token(entries: &[zcs_core::Entry], now_ms: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for e in entries {
        h.update(e.id.to_string().as_bytes());
        h.update([0]);
        h.update(e.name.as_bytes());
        for (n, values) in e.attrs.iter() {
            for v in values {
                h.update([1]);
                h.update(n.to_ascii_lowercase().as_bytes());
                h.update([2]);
                h.update(v.as_bytes());
            }
        }
        h.update([3]);
    }
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("zcs1:{now_ms}:{hex}")
}

/// The digest part of a token this server issued; `None` for anything else.
fn token_digest(token: &str) -> Option<&str> {
    let mut parts = token.splitn(3, ':');
    (parts.next()? == "zcs1").then_some(())?;
    parts.next()?.parse::<i64>().ok()?;
    parts.next().filter(|d| !d.is_empty())
}

/// `<SyncGalRequest [token] [idOnly="1"]/>`: every GAL entry of the caller's domain as
/// `cn` contacts and a `token` for the next call. Given a token this server issued and
/// still remembers ([`Snapshots`]), the answer is the delta: the entries added or changed
/// since as `cn`, the removed ones as `<deleted id=>` (nothing when the GAL is
/// unchanged). Given a token it no longer remembers (the server restarted, or the token
/// is older than the last [`SNAPSHOTS_KEPT`] listings) while the GAL changed, everything
/// with `fullSyncRecommended="1"`, and the client replaces its copy.
async fn sync(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = gal_account(
        ctx,
        &["zimbraFeatureGalEnabled", "zimbraFeatureGalSyncEnabled"],
    )
    .await?;
    let prov = ctx.svc.prov.clone();
    let domain = account
        .domain()
        .ok_or_else(|| ServiceError::invalid_request("account has no domain"))?
        .to_string();
    let entries = prov.sync_gal(&domain).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let token = sync_token(&entries, now);
    let digest = token_digest(&token).unwrap_or_default().to_string();
    let asked = req.attr("token").and_then(token_digest);
    let unchanged = asked.is_some_and(|d| d == digest);
    let id_only = req.bool_attr("idOnly", false)?;
    let mut resp = response("SyncGalResponse", NS_ACCOUNT);
    resp.set_bool("more", false);
    resp.set("token", token);
    if unchanged {
        return Ok(resp);
    }
    let now_seen = entry_hashes(&entries);
    let before = asked.and_then(|d| snapshots().get(&domain, d));
    snapshots().put(&domain, &digest, now_seen.clone());
    if before.is_none() && req.attr("token").is_some_and(|t| !t.is_empty()) {
        resp.set_bool("fullSyncRecommended", true);
    }
    let domain_entry = prov
        .get_domain(&zcs_directory::EntryKey::Name(domain.clone()))
        .await?;
    let map = attr_map(&prov.effective_domain_attrs(&domain_entry).await?);
    for entry in &entries {
        if let Some(before) = &before
            && before.get(&entry.id) == now_seen.get(&entry.id)
        {
            continue;
        }
        let cn = resp.add_new("cn");
        cn.set("id", entry.id.to_string());
        if id_only {
            continue;
        }
        for (field, values) in contact_attrs(entry, &map).iter() {
            for v in values {
                cn.add_a(field, v.clone());
            }
        }
    }
    if let Some(before) = &before {
        let mut gone: Vec<String> = before
            .keys()
            .filter(|id| !now_seen.contains_key(id))
            .map(|id| id.to_string())
            .collect();
        gone.sort();
        for id in gone {
            resp.add_new("deleted").set("id", id);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, Entry, EntryKind, ZimbraId};

    #[test]
    fn tokens_change_with_the_gal() {
        let mut attrs = Attrs::new();
        attrs.set_one("displayName", "A");
        let mut e = Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: "a@x.test".into(),
            attrs,
        };
        let t1 = sync_token(std::slice::from_ref(&e), 1);
        let t2 = sync_token(std::slice::from_ref(&e), 2);
        assert_eq!(token_digest(&t1), token_digest(&t2));
        e.attrs.set_one("displayName", "B");
        let t3 = sync_token(std::slice::from_ref(&e), 3);
        assert_ne!(token_digest(&t1), token_digest(&t3));
        assert_ne!(token_digest(&t1), token_digest(&sync_token(&[], 1)));
        assert_eq!(token_digest("20261205"), None);
        assert_eq!(token_digest("zcs1:x:abc"), None);
        assert_eq!(token_digest("zcs1:5:"), None);
    }
}
