//! Admin wait sets: `AdminCreateWaitSetRequest`, `AdminWaitSetRequest`,
//! `QueryWaitSetRequest` and `AdminDestroyWaitSetRequest`, with which an admin client
//! (a sync service, an archiver) learns which mailboxes changed without polling each.
//!
//! A wait set names accounts (or `allAccounts="1"`: every mailbox on this server) and
//! remembers, per account, the mailbox change number it last reported. A wait answers
//! the accounts whose mailbox moved past that number since, as `<a id=.../>`, and bumps
//! the set's sequence number when it reports any; `block="1"` waits for a change (up to
//! `timeout` seconds, at most [`MAX_BLOCK_SECS`]).
//!
//! Wait sets live in this process's memory, as Zimbra's do, and are lost on restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use zcs_core::{ServiceError, ServiceResult, ZimbraId};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;

/// Longest a blocking wait holds the request.
// LIMITATION: Zimbra holds a blocking wait up to zimbraWaitSetMaxTimeout (20 min);
// here a wait returns after at most this many seconds with nothing signalled.
pub(crate) const MAX_BLOCK_SECS: u64 = 15;

/// How often a blocking wait looks at the mailboxes again.
const POLL: Duration = Duration::from_millis(250);

/// One wait set.
struct WaitSet {
    /// The admin account that created it.
    owner: String,
    /// `defTypes` as given (`all`, `m,c`, ...).
    def_types: String,
    /// Every mailbox on the server, not just `accounts`.
    all_accounts: bool,
    /// Account id -> the change number last reported (or seen at creation).
    accounts: BTreeMap<ZimbraId, i64>,
    /// Bumped each time a wait reports changes.
    seq: u64,
    /// Last time a request used it, for QueryWaitSet's `ld`.
    last_access_ms: i64,
}

/// Every wait set of this process by id.
static SETS: LazyLock<Mutex<HashMap<String, WaitSet>>> = LazyLock::new(Default::default);

fn sets() -> std::sync::MutexGuard<'static, HashMap<String, WaitSet>> {
    SETS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let out = match name {
        "AdminCreateWaitSetRequest" => create(ctx, req).await,
        "AdminWaitSetRequest" => wait(ctx, req).await,
        "QueryWaitSetRequest" => query(ctx, req).await,
        "AdminDestroyWaitSetRequest" => destroy(ctx, req).await,
        _ => return None,
    };
    Some(out)
}

fn no_such_waitset(id: &str) -> ServiceError {
    // LIMITATION: Zimbra's code is admin.NO_SUCH_WAITSET, which FaultCode lacks.
    ServiceError::invalid_request(format!("no such waitset: {id}"))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The change number of `account`'s mailbox, 0 when it has none yet.
async fn change_of(ctx: &Ctx<'_>, account: ZimbraId) -> ServiceResult<i64> {
    match ctx
        .svc
        .store
        .find_mailbox(account)
        .await
        .map_err(store_fault)?
    {
        Some(mb) => Ok(mb.change_number().await.map_err(store_fault)?.0),
        None => Ok(0),
    }
}

/// The accounts `<add>`/`<update>` name (`<a id=|name=>`), resolved; unknown ones are
/// returned apart, for `<error>` elements.
async fn named_accounts(
    ctx: &Ctx<'_>,
    el: Option<&Element>,
) -> ServiceResult<(Vec<ZimbraId>, Vec<String>)> {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for a in el.into_iter().flat_map(|e| e.children_named("a")) {
        let key = a.attr("id").or_else(|| a.attr("name")).unwrap_or("").trim();
        match ctx.svc.prov.find_account(key).await? {
            Some(acct) => ok.push(acct.id),
            None => bad.push(key.to_string()),
        }
    }
    Ok((ok, bad))
}

fn add_errors(resp: &mut Element, bad: &[String]) {
    for id in bad {
        let mut e = Element::new("error");
        e.set("id", id.clone()).set("type", "NO_SUCH_ACCOUNT");
        resp.add(e);
    }
}

/// `allAccounts` in either spelling (the QA harness writes `allaccounts`).
fn all_accounts(req: &Element) -> ServiceResult<bool> {
    match req.attr("allAccounts").or_else(|| req.attr("allaccounts")) {
        Some(v) => Ok(matches!(v.trim(), "1" | "true" | "TRUE")),
        None => Ok(false),
    }
}

/// `<AdminCreateWaitSetRequest defTypes= [allAccounts=]><add><a id=/>...</add>`.
async fn create(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let admin = ctx.admin().await?;
    let def_types = req.req("defTypes")?.trim().to_string();
    let all = all_accounts(req)?;
    let (ids, bad) = named_accounts(ctx, req.child("add")).await?;
    let mut accounts = BTreeMap::new();
    for id in ids {
        accounts.insert(id, change_of(ctx, id).await?);
    }
    if all {
        for (account, mb) in all_mailboxes(ctx).await? {
            accounts.entry(account).or_insert(mb);
        }
    }
    let id = format!(
        "AdminWaitSet{}",
        ZimbraId::new().to_string().replace('-', "")
    );
    sets().insert(
        id.clone(),
        WaitSet {
            owner: admin.account.id.to_string(),
            def_types: def_types.clone(),
            all_accounts: all,
            accounts,
            seq: 0,
            last_access_ms: now_ms(),
        },
    );
    let mut resp = response("AdminCreateWaitSetResponse", NS_ADMIN);
    resp.set("waitSet", id)
        .set("defTypes", def_types)
        .set_num("seq", 0);
    add_errors(&mut resp, &bad);
    Ok(resp)
}

/// Every account with a mailbox here, with its change number.
async fn all_mailboxes(ctx: &Ctx<'_>) -> ServiceResult<Vec<(ZimbraId, i64)>> {
    let mut out = Vec::new();
    for (account, mb) in super::mailbox::mailboxes(ctx).await? {
        out.push((account.id, mb.change_number().await.map_err(store_fault)?.0));
    }
    Ok(out)
}

/// The accounts of set `id` whose mailbox changed since last reported, with their new
/// change numbers.
async fn changed(ctx: &Ctx<'_>, id: &str) -> ServiceResult<Vec<(ZimbraId, i64)>> {
    let (watched, all) = {
        let guard = sets();
        let set = guard.get(id).ok_or_else(|| no_such_waitset(id))?;
        (set.accounts.clone(), set.all_accounts)
    };
    let mut out = Vec::new();
    if all {
        for (account, now) in all_mailboxes(ctx).await? {
            if watched.get(&account).is_none_or(|seen| now > *seen) {
                out.push((account, now));
            }
        }
    } else {
        for (account, seen) in watched {
            let now = change_of(ctx, account).await?;
            if now > seen {
                out.push((account, now));
            }
        }
    }
    Ok(out)
}

/// `<AdminWaitSetRequest waitSet= seq= [block=] [timeout=]>` with optional `<add>`,
/// `<update>` and `<remove>` lists: `<AdminWaitSetResponse waitSet= seq=><a id=/>...`.
async fn wait(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.admin().await?;
    let id = req.req("waitSet")?.trim().to_string();
    let block = req.bool_attr("block", false)?;
    let timeout = req.int_attr("timeout", MAX_BLOCK_SECS as i64)?.max(0) as u64;
    let (added, bad) = named_accounts(ctx, req.child("add")).await?;
    let mut baselines = Vec::new();
    for a in added {
        baselines.push((a, change_of(ctx, a).await?));
    }
    let (removed, _) = named_accounts(ctx, req.child("remove")).await?;
    {
        let mut guard = sets();
        let set = guard.get_mut(&id).ok_or_else(|| no_such_waitset(&id))?;
        for (a, n) in baselines {
            set.accounts.entry(a).or_insert(n);
        }
        for a in &removed {
            set.accounts.remove(a);
        }
        set.last_access_ms = now_ms();
    }
    let deadline = Instant::now() + Duration::from_secs(timeout.min(MAX_BLOCK_SECS));
    let mut hits = changed(ctx, &id).await?;
    while block && hits.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        hits = changed(ctx, &id).await?;
    }
    let seq = {
        let mut guard = sets();
        let set = guard.get_mut(&id).ok_or_else(|| no_such_waitset(&id))?;
        for (a, n) in &hits {
            set.accounts.insert(*a, *n);
        }
        if !hits.is_empty() {
            set.seq += 1;
        }
        set.seq
    };
    let mut resp = response("AdminWaitSetResponse", NS_ADMIN);
    resp.set("waitSet", id.clone()).set_num("seq", seq);
    for (a, _) in &hits {
        let mut el = Element::new("a");
        el.set("id", a.to_string());
        resp.add(el);
    }
    add_errors(&mut resp, &bad);
    Ok(resp)
}

/// `<QueryWaitSetRequest [waitSet=]>`: each set with its owner, types, last access and
/// sequence numbers, and one `<session account=/>` per watched account.
async fn query(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.admin().await?;
    let wanted = req.attr("waitSet").map(str::trim).filter(|s| !s.is_empty());
    let guard = sets();
    if let Some(w) = wanted
        && !guard.contains_key(w)
    {
        return Err(no_such_waitset(w));
    }
    let mut resp = response("QueryWaitSetResponse", NS_ADMIN);
    let mut ids: Vec<&String> = guard.keys().collect();
    ids.sort();
    for id in ids.into_iter().filter(|i| wanted.is_none_or(|w| w == *i)) {
        let set = &guard[id];
        let mut el = Element::new("waitSet");
        el.set("id", id.clone())
            .set("owner", set.owner.clone())
            .set("defTypes", set.def_types.clone())
            .set_num("ld", set.last_access_ms)
            .set_num("cbSeqNo", set.seq)
            .set_num("currentSeqNo", set.seq);
        for account in set.accounts.keys() {
            let mut s = Element::new("session");
            s.set("account", account.to_string());
            el.add(s);
        }
        resp.add(el);
    }
    Ok(resp)
}

/// `<AdminDestroyWaitSetRequest waitSet=/>`.
async fn destroy(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.admin().await?;
    let id = req.req("waitSet")?.trim().to_string();
    if sets().remove(&id).is_none() {
        return Err(no_such_waitset(&id));
    }
    let mut resp = response("AdminDestroyWaitSetResponse", NS_ADMIN);
    resp.set("waitSet", id);
    Ok(resp)
}
