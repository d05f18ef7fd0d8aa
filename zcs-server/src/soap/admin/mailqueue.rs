//! Admin mail queue requests, as the admin console's "Mail Queues" view sends them:
//! `GetMailQueueInfoRequest` (message counts per queue), `GetMailQueueRequest` (a page
//! of one queue's messages), `MailQueueActionRequest` (delete, hold, release or requeue
//! by id or `ALL`) and `MailQueueFlushRequest` (deliver the deferred queue now).
//!
//! Each names its MTA as `<server name="..."/>`, which must be a server entry (Zimbra
//! answers `service.INVALID_REQUEST` otherwise). This server's own queue (the one the
//! MTA front end runs, `$ZCS_HOME/data/mta/queue`) is the only one reachable: another
//! server's name is refused the same way.

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::EntryKey;
use zcs_mta::queue::{Queue, QueueId, QueueName};

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
    let out = match name {
        "GetMailQueueInfoRequest" => info(ctx, req).await,
        "GetMailQueueRequest" => list(ctx, req).await,
        "MailQueueActionRequest" => action(ctx, req).await,
        "MailQueueFlushRequest" => flush(ctx, req).await,
        _ => return None,
    };
    Some(out)
}

/// Checks the admin and the `<server name=>` the request names; returns that name and
/// this server's queue.
async fn queue_of(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<(String, Queue)> {
    ctx.admin().await?;
    let server = req
        .child("server")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: server"))?;
    let name = server.req("name")?.trim().to_string();
    let not_found =
        || ServiceError::invalid_request(format!("server with name {name} could not be found"));
    let entry = match ctx.svc.prov.get_server(&EntryKey::Name(name.clone())).await {
        Ok(e) => e,
        Err(e) if e.code == zcs_core::FaultCode::NoSuchServer => return Err(not_found()),
        Err(e) => return Err(e),
    };
    let local = ctx.svc.prov.local_server();
    if local.is_some_and(|l| !l.eq_ignore_ascii_case(&entry.name)) {
        // LIMITATION: another server's queue would be reached through that server's
        // admin port; only this server's queue is served.
        return Err(not_found());
    }
    let queue = ctx
        .svc
        .delivery
        .as_ref()
        .and_then(|d| d.queue().cloned())
        .ok_or_else(|| ServiceError::failure("the mail queue is not running on this server"))?;
    Ok((name, queue))
}

/// `<server name="..."><queue name="deferred" n="N"/>...</server>` for every queue.
async fn info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (name, queue) = queue_of(ctx, req).await?;
    let mut resp = response("GetMailQueueInfoResponse", NS_ADMIN);
    let mut server = Element::new("server");
    server.set("name", name);
    for q in QueueName::ALL {
        let n = queue.list(q).map(|ids| ids.len()).unwrap_or(0);
        let mut el = Element::new("queue");
        el.set("name", q.as_str()).set_num("n", n);
        server.add(el);
    }
    resp.add(server);
    Ok(resp)
}

/// The queue a `<queue name=>` names (`service.INVALID_REQUEST` for another name).
fn queue_name(el: &Element) -> ServiceResult<QueueName> {
    let n = el.req("name")?;
    QueueName::parse(n.trim())
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid queue name: {n}")))
}

/// `<server name><queue name [scan] [wait]><query offset limit/></queue></server>`:
/// one page of a queue, `<qi id from to time reason/>` per message.
async fn list(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (name, queue) = queue_of(ctx, req).await?;
    let q_el = req
        .child("server")
        .and_then(|s| s.child("queue"))
        .ok_or_else(|| ServiceError::invalid_request("missing required element: queue"))?;
    let which = queue_name(q_el)?;
    let query = q_el.child("query");
    let offset = query.map_or(Ok(0), |q| q.int_attr("offset", 0))?.max(0) as usize;
    let limit = query
        .map_or(Ok(30), |q| q.int_attr("limit", 30))?
        .clamp(1, 1000) as usize;
    let ids = queue
        .list(which)
        .map_err(|e| ServiceError::failure(e.to_string()))?;
    let mut el = Element::new("queue");
    el.set("name", which.as_str())
        .set_num("time", chrono::Utc::now().timestamp_millis())
        .set_bool("scan", false)
        .set_num("total", ids.len())
        .set_bool("more", ids.len() > offset + limit);
    for id in ids.iter().skip(offset).take(limit) {
        let Ok(file) = queue.read(which, id) else {
            continue;
        };
        let mut qi = Element::new("qi");
        let to: Vec<&str> = file
            .envelope
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        qi.set("id", id.as_str())
            .set("from", file.envelope.sender.clone())
            .set("to", to.join(","))
            .set_num("time", file.arrival);
        if let Some((host, addr)) = &file.envelope.client {
            qi.set("host", host.clone()).set("addr", addr.clone());
        }
        if let Some(reason) = file
            .envelope
            .recipients
            .iter()
            .find_map(|r| match &r.state {
                zcs_mta::queue::RcptState::Deferred(why) => Some(why.clone()),
                _ => None,
            })
        {
            qi.set("reason", reason);
        }
        el.add(qi);
    }
    let mut resp = response("GetMailQueueResponse", NS_ADMIN);
    let mut server = Element::new("server");
    server.set("name", name);
    server.add(el);
    resp.add(server);
    Ok(resp)
}

/// `<server name><queue name><action op="delete|hold|release|requeue" by="id|query">ids
/// or ALL</action></queue></server>`.
async fn action(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (name, queue) = queue_of(ctx, req).await?;
    let q_el = req
        .child("server")
        .and_then(|s| s.child("queue"))
        .ok_or_else(|| ServiceError::invalid_request("missing required element: queue"))?;
    let which = queue_name(q_el)?;
    let act = q_el
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let op = act.req("op")?.trim().to_ascii_lowercase();
    let by = act.attr("by").unwrap_or("id").trim().to_ascii_lowercase();
    if by != "id" {
        // LIMITATION: by="query" (a queue search) is not supported; ids or ALL are.
        return Err(ServiceError::invalid_request(format!(
            "unsupported action target: by={by}"
        )));
    }
    let text = act.text().trim();
    let ids: Vec<QueueId> = if text.eq_ignore_ascii_case("ALL") {
        queue
            .list(which)
            .map_err(|e| ServiceError::failure(e.to_string()))?
    } else {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                QueueId::parse(s)
                    .ok_or_else(|| ServiceError::invalid_request(format!("invalid queue id: {s}")))
            })
            .collect::<ServiceResult<_>>()?
    };
    let target = match op.as_str() {
        "delete" => None,
        "hold" => Some(QueueName::Hold),
        "release" => Some(QueueName::Deferred),
        "requeue" => Some(QueueName::Incoming),
        _ => {
            return Err(ServiceError::invalid_request(format!(
                "invalid queue action: {op}"
            )));
        }
    };
    let mut done = 0usize;
    for id in &ids {
        let changed = match target {
            None => queue.delete(which, id),
            Some(to) if to == which => Ok(false),
            Some(to) => queue.move_to(id, which, to),
        }
        .map_err(|e| ServiceError::failure(e.to_string()))?;
        done += usize::from(changed);
    }
    tracing::info!(server = %name, queue = which.as_str(), op = %op, done, "mail queue action");
    Ok(response("MailQueueActionResponse", NS_ADMIN))
}

/// `<server name/>`: every deferred message is tried again now.
async fn flush(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let (name, queue) = queue_of(ctx, req).await?;
    let n = queue
        .flush()
        .map_err(|e| ServiceError::failure(e.to_string()))?;
    tracing::info!(server = %name, deferred = n, "mail queue flushed");
    Ok(response("MailQueueFlushResponse", NS_ADMIN))
}
