//! Admin `FlushCacheRequest`: drops entries from this server's directory cache, as
//! `zmprov flushCache` asks (spec 01 §1.14). Types are Zimbra's (`account`, `cos`,
//! `domain`, `group`, `server`, `config`, `zimlet`, `all`, and the file or rights caches
//! `acl`, `skin`, `locale`, ... that hold nothing here), comma-separated in one `type`;
//! `entry by="name|id"` children name the entries, none flushes the whole type.
//!
//! `allServers="1"` is accepted; this server flushes only itself.

use zcs_core::ServiceResult;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "FlushCacheRequest" => Some(flush(ctx, req).await),
        _ => None,
    }
}

/// `<FlushCacheRequest><cache type="account,cos" [allServers="0|1"]><entry
/// by="name|id">x</entry>...</cache></FlushCacheRequest>`.
async fn flush(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.admin().await?;
    let cache = req.child("cache").unwrap_or(req);
    let types = cache.req("type")?;
    let keys: Vec<String> = cache
        .children_named("entry")
        .map(|e| e.text().trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    // LIMITATION: allServers="1" flushes this server only; each server of a cluster is
    // sent its own request (zmprov -s), as the spec says of a flush.
    let dropped = ctx.svc.prov.flush_cache_types(&[types], &keys)?;
    // Delivery keeps global settings (dedupe, over-quota answers) beside the directory
    // cache; a flush drops them too, so a `zmprov mcf` applies to the next message.
    if let Some(delivery) = &ctx.svc.delivery {
        delivery.reload_settings();
    }
    tracing::info!(
        types,
        entries = keys.len(),
        dropped,
        "directory cache flushed on request"
    );
    Ok(response("FlushCacheResponse", NS_ADMIN))
}
