//! Cross-mailbox search tasks (spec/05 §1.2): an admin starts a search over many
//! mailboxes whose hits are *copied* into a folder of a target mailbox, then lists,
//! aborts and deletes tasks. Tasks run in the background and live in server memory
//! only: a restart forgets them, deliberately, as Zimbra's do (the copies stay).
//!
//! Requests (each with a `<searchtask>` child, or its attributes on the request, or
//! Zimbra's own key-value form `<a n="query">…</a>` as its admin console sends):
//! - `CreateXMbxSearchRequest <searchtask query= [targetMailbox|targetMbx]
//!   [targetFolder] [limit] [accounts="a,b"|"*"] [sendNotification=1
//!   notificationReceivers="x,y" notificationSubj=]><account name=…/>…</searchtask>`:
//!   accounts default to every searchable one (never the target itself), the target
//!   mailbox to the admin's own, the folder to `XMbxSearch-<id>` (created when missing),
//!   the limit to 500. Answers `<searchtask id= status="started"/>` at once. With
//!   `sendNotification`, a completion mail goes to the receivers (default: the admin)
//!   when the task ends: its subject carries the task id and final status, its body the
//!   query, the hit count and the accounts that had hits.
//! - `GetXMbxSearchesListRequest`: `<searchtask id query status targetMailbox
//!   targetFolder limit hits numMsgs accounts [error]/>` per task; status is `started`,
//!   `finished`, `aborted` or `error`.
//! - `AbortXMbxSearchRequest <searchtask id=/>`: stops copying at the next message.
//! - `DeleteXMbxSearchRequest <searchtask id=/>`: forgets the task (aborting it first).
//!
//! Every copy starts with `X-Zimbra-Source: <account id>; <account name>; <server>`;
//! the source mailbox is never written.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use zcs_core::{Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_index::query;
use zcs_store::Mailbox;

use super::super::super::context::{Ctx, store_fault};
use super::super::super::element::Element;
use super::super::super::envelope::NS_ADMIN;
use super::super::super::response;
use super::mailbox_keys;
use crate::search::{MailboxScope, SearchParams, resolve_scopes, search_mailboxes};

/// Copies a task makes when the request names no limit (Zimbra's default).
const DEFAULT_LIMIT: usize = 500;

/// One task's state, shared by the running copy and the list.
struct Task {
    id: u64,
    query: String,
    accounts: usize,
    target_mailbox: String,
    target_folder: String,
    limit: usize,
    status: Mutex<&'static str>,
    error: Mutex<Option<String>>,
    hits: AtomicUsize,
    copied: AtomicUsize,
    abort: AtomicBool,
    /// Accounts whose mailboxes had hits, with how many, as the copy went.
    matched: Mutex<BTreeMap<String, usize>>,
}

impl Task {
    fn set_status(&self, s: &'static str) {
        if let Ok(mut st) = self.status.lock() {
            *st = s;
        }
    }

    fn status(&self) -> &'static str {
        self.status.lock().map(|s| *s).unwrap_or("error")
    }

    fn element(&self) -> Element {
        let mut el = Element::new("searchtask");
        el.set_num("id", self.id)
            .set("query", self.query.clone())
            .set("status", self.status())
            .set("targetMailbox", self.target_mailbox.clone())
            .set("targetFolder", self.target_folder.clone())
            .set_num("limit", self.limit)
            .set_num("hits", self.hits.load(Ordering::Relaxed))
            .set_num("numMsgs", self.copied.load(Ordering::Relaxed))
            .set_num("accounts", self.accounts);
        if let Some(e) = self.error.lock().ok().and_then(|e| e.clone()) {
            el.set("error", e);
        }
        el
    }
}

static TASKS: LazyLock<Mutex<BTreeMap<u64, Arc<Task>>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The `<searchtask>` element of a request, or the request itself.
fn spec(req: &Element) -> &Element {
    req.child("searchtask").unwrap_or(req)
}

/// A task parameter in any of the spellings: an attribute of `<searchtask>`, of the
/// request, or a `<a n="name">value</a>` child of the request (Zimbra's form).
fn param(req: &Element, name: &str) -> Option<String> {
    spec(req)
        .attr(name)
        .or_else(|| req.attr(name))
        .map(str::to_string)
        .or_else(|| {
            req.children_named("a")
                .find(|a| a.attr("n") == Some(name))
                .map(|a| a.text().to_string())
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Who is told when the task ends: nobody unless `sendNotification` is set; then the
/// `notificationReceivers` (comma or space separated), else the admin.
fn receivers(req: &Element, admin: &str) -> Vec<String> {
    let on = param(req, "sendNotification")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    if !on {
        return Vec::new();
    }
    let listed: Vec<String> = param(req, "notificationReceivers")
        .unwrap_or_default()
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|r| r.contains('@') && !r.contains(['\r', '\n', '<', '>']))
        .map(str::to_string)
        .collect();
    if listed.is_empty() {
        vec![admin.to_string()]
    } else {
        listed
    }
}

/// The completion mail (RFC 5322) for a task that ended, from the server's postmaster.
fn completion_message(
    task: &Task,
    subject: Option<&str>,
    to: &[String],
    host: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let status = task.status();
    let subject = format!(
        "{} (search task {}: {status})",
        clean(subject.unwrap_or("Cross-mailbox search")),
        task.id
    );
    let mut body = format!(
        "Cross-mailbox search task {id} on {host} is {status}.\r\n\r\n\
         Query: {query}\r\n\
         Mailboxes searched: {accounts}\r\n\
         Hits: {hits}\r\n\
         Copied: {copied} into {target}:{folder}\r\n",
        id = task.id,
        query = clean(&task.query),
        accounts = task.accounts,
        hits = task.hits.load(Ordering::Relaxed),
        copied = task.copied.load(Ordering::Relaxed),
        target = task.target_mailbox,
        folder = task.target_folder,
    );
    if let Some(e) = task.error.lock().ok().and_then(|e| e.clone()) {
        body.push_str(&format!("Error: {}\r\n", clean(&e)));
    }
    let matched = task.matched.lock().map(|m| m.clone()).unwrap_or_default();
    if !matched.is_empty() {
        body.push_str("\r\nAccounts with hits:\r\n");
        for (account, n) in matched {
            body.push_str(&format!("  {} ({n})\r\n", clean(&account)));
        }
    }
    format!(
        "From: Cross-mailbox search <postmaster@{host}>\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <xmbxsearch.{id}.{nanos}@{host}>\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n{body}",
        to = to.join(", "),
        date = now.to_rfc2822(),
        id = task.id,
        nanos = now.timestamp_nanos_opt().unwrap_or_default(),
    )
    .into_bytes()
}

fn task_id(req: &Element) -> ServiceResult<u64> {
    let s = spec(req);
    s.attr("id")
        .or_else(|| req.attr("id"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ServiceError::invalid_request("missing or bad search task id"))
}

fn find(id: u64) -> ServiceResult<Arc<Task>> {
    TASKS
        .lock()
        .ok()
        .and_then(|t| t.get(&id).cloned())
        .ok_or_else(|| ServiceError::invalid_request(format!("no such search task: {id}")))
}

/// `CreateXMbxSearchRequest`: checks everything, then copies in the background.
pub(super) async fn create(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let s = spec(req);
    let text = param(req, "query")
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: query"))?;
    let q = query::parse(&text).map_err(crate::search::SearchError::Parse)?;
    let limit = match param(req, "limit").map(|l| l.parse::<i64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n <= 0 => DEFAULT_LIMIT,
        Some(Ok(n)) => n as usize,
        Some(Err(_)) => return Err(ServiceError::invalid_request("limit must be a number")),
    };
    let admin = ctx.admin().await?.account;
    let svc = ctx.svc;
    let target = match param(req, "targetMailbox").or_else(|| param(req, "targetMbx")) {
        Some(t) => svc.prov.get_account(&t).await?,
        None => admin.clone(),
    };
    let notify = receivers(req, &admin.name);
    let notify_subject = param(req, "notificationSubj");
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let folder_name = param(req, "targetFolder")
        .map(|f| f.trim_matches('/').to_string())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| format!("XMbxSearch-{id}"));
    if folder_name.contains('/') {
        // LIMITATION: the target folder is one folder under the root, not a path.
        return Err(ServiceError::invalid_request(
            "targetFolder must be a single folder name",
        ));
    }
    let keys = match param(req, "accounts") {
        Some(list) => list
            .split([',', ' '])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
        None => mailbox_keys(s),
    };
    let mut scopes = resolve_scopes(&svc.prov, &svc.store, &keys).await?;
    scopes.retain(|sc| sc.account_id != target.id);
    let target_mb = svc.store.mailbox(target.id).await.map_err(store_fault)?;
    let dest = target_folder(&target_mb, &folder_name).await?;

    let task = Arc::new(Task {
        id,
        query: text,
        accounts: scopes.len(),
        target_mailbox: target.name.clone(),
        target_folder: format!("/{folder_name}"),
        limit,
        status: Mutex::new("started"),
        error: Mutex::new(None),
        hits: AtomicUsize::new(0),
        copied: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
        matched: Mutex::new(BTreeMap::new()),
    });
    if let Ok(mut t) = TASKS.lock() {
        t.insert(id, task.clone());
    }
    tracing::info!(target: "zimbra.security", cmd = "CreateXMbxSearch", admin = %admin.name,
        task = id, mailboxes = scopes.len(), target = %target.name, "cross-mailbox search task");

    let (index, indexer, server) = (svc.index.clone(), svc.indexer.clone(), svc.hostname.clone());
    let queue = svc.delivery.as_ref().and_then(|d| d.queue()).cloned();
    let run_task = task.clone();
    tokio::spawn(async move {
        let params = SearchParams {
            limit,
            include_trash: true,
            include_junk: true,
            ..SearchParams::default()
        };
        let result = async {
            let (hits, total) = search_mailboxes(&scopes, &index, &q, &params)
                .await
                .map_err(|e| e.to_string())?;
            run_task.hits.store(total, Ordering::Relaxed);
            for h in hits {
                if run_task.abort.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                let scope = &scopes[h.scope];
                copy_hit(scope, &h.message, &target_mb, dest, &server).await?;
                run_task.copied.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut m) = run_task.matched.lock() {
                    *m.entry(scope.account.clone()).or_default() += 1;
                }
            }
            Ok::<bool, String>(true)
        }
        .await;
        indexer.notify(target_mb.account());
        match result {
            Ok(true) => run_task.set_status("finished"),
            Ok(false) => run_task.set_status("aborted"),
            Err(e) => {
                tracing::warn!(task = run_task.id, error = %e, "cross-mailbox search failed");
                if let Ok(mut err) = run_task.error.lock() {
                    *err = Some(e);
                }
                run_task.set_status("error");
            }
        }
        if notify.is_empty() {
            return;
        }
        let msg = completion_message(
            &run_task,
            notify_subject.as_deref(),
            &notify,
            &server,
            chrono::Utc::now(),
        );
        let sent = match &queue {
            Some(q) => crate::mta::outbound::enqueue(q, "", &notify, &msg).await,
            None => Err("no mail queue on this server".to_string()),
        };
        if let Err(e) = sent {
            tracing::warn!(task = run_task.id, error = %e,
                "cross-mailbox search completion mail not queued");
        }
    });

    let mut resp = response("CreateXMbxSearchResponse", NS_ADMIN);
    resp.add(task.element());
    Ok(resp)
}

/// The id of folder `name` under the user root of `mb`, created when missing.
async fn target_folder(mb: &Mailbox, name: &str) -> ServiceResult<ItemId> {
    if let Some(f) = mb
        .folder_by_path(&format!("/{name}"))
        .await
        .map_err(store_fault)?
    {
        return Ok(f.id);
    }
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), name)
        .await
        .map_err(store_fault)?;
    Ok(f.id)
}

/// Copies one hit into the target folder with its source in `X-Zimbra-Source`,
/// keeping its flags (but not its tags, which are the source mailbox's) and date.
async fn copy_hit(
    scope: &MailboxScope,
    m: &zcs_store::MessageMeta,
    target: &Mailbox,
    dest: ItemId,
    server: &str,
) -> Result<(), String> {
    let raw = scope
        .mailbox
        .read_message(m.id)
        .await
        .map_err(|e| format!("read {} item {}: {e}", scope.account, m.id.0))?;
    let mut copy = source_header(&scope.account_id.to_string(), &scope.account, server);
    copy.extend_from_slice(&raw);
    let flags = Flags(m.flags.0 & !(Flags::DELETED | Flags::DRAFT));
    target
        .append(dest, &copy, flags, m.internal_date_ms)
        .await
        .map_err(|e| format!("copy into {}: {e}", target.account()))?;
    Ok(())
}

/// The `X-Zimbra-Source` header line (CRLF-terminated) naming where a copy came from.
/// Names are printed without CR/LF, so the line cannot be split.
pub(super) fn source_header(account_id: &str, account: &str, server: &str) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    format!(
        "X-Zimbra-Source: {}; {}; {}\r\n",
        clean(account_id),
        clean(account),
        clean(server)
    )
    .into_bytes()
}

/// `GetXMbxSearchesListRequest`: every task this server knows, oldest first.
pub(super) fn list() -> Element {
    let mut resp = response("GetXMbxSearchesListResponse", NS_ADMIN);
    let tasks: Vec<Arc<Task>> = TASKS
        .lock()
        .map(|t| t.values().cloned().collect())
        .unwrap_or_default();
    for t in tasks {
        resp.add(t.element());
    }
    resp
}

/// `AbortXMbxSearchRequest`: asks the task to stop before its next copy.
pub(super) fn abort(req: &Element) -> ServiceResult<Element> {
    let task = find(task_id(req)?)?;
    task.abort.store(true, Ordering::Relaxed);
    let mut resp = response("AbortXMbxSearchResponse", NS_ADMIN);
    resp.add(task.element());
    Ok(resp)
}

/// `DeleteXMbxSearchRequest`: aborts the task and forgets it; its copies stay.
pub(super) fn delete(req: &Element) -> ServiceResult<Element> {
    let id = task_id(req)?;
    let task = find(id)?;
    task.abort.store(true, Ordering::Relaxed);
    if let Ok(mut t) = TASKS.lock() {
        t.remove(&id);
    }
    Ok(response("DeleteXMbxSearchResponse", NS_ADMIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_header_cannot_be_split() {
        let h = source_header("id-1", "a@x.test\r\nBcc: evil", "mail.x.test");
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "X-Zimbra-Source: id-1; a@x.test  Bcc: evil; mail.x.test\r\n"
        );
    }

    #[test]
    fn parameters_are_read_in_zimbras_key_value_form_too() {
        let mut req = Element::new("CreateXMbxSearchRequest");
        req.add_text("a", "subject:walrus").set("n", "query");
        req.add_text("a", "1").set("n", "sendNotification");
        req.add_text("a", "x@a.test, y@b.test")
            .set("n", "notificationReceivers");
        assert_eq!(param(&req, "query").as_deref(), Some("subject:walrus"));
        assert_eq!(
            receivers(&req, "admin@a.test"),
            vec!["x@a.test", "y@b.test"]
        );
        let mut quiet = Element::new("CreateXMbxSearchRequest");
        quiet
            .add_new("searchtask")
            .set("query", "q")
            .set("targetMbx", "t@a.test");
        assert_eq!(param(&quiet, "targetMbx").as_deref(), Some("t@a.test"));
        assert!(receivers(&quiet, "admin@a.test").is_empty());
        quiet.add_text("a", "true").set("n", "sendNotification");
        assert_eq!(receivers(&quiet, "admin@a.test"), vec!["admin@a.test"]);
    }

    #[test]
    fn completion_mail_names_task_status_query_and_accounts() {
        let task = Task {
            id: 7,
            query: "subject:walrus".into(),
            accounts: 2,
            target_mailbox: "admin@a.test".into(),
            target_folder: "/Discovery".into(),
            limit: 500,
            status: Mutex::new("finished"),
            error: Mutex::new(None),
            hits: AtomicUsize::new(3),
            copied: AtomicUsize::new(3),
            abort: AtomicBool::new(false),
            matched: Mutex::new(BTreeMap::from([("bob@a.test".to_string(), 2)])),
        };
        let to = vec!["admin@a.test".to_string()];
        let now = chrono::Utc::now();
        let msg = String::from_utf8(completion_message(
            &task,
            Some("Case\r\nBcc: x"),
            &to,
            "mx",
            now,
        ))
        .unwrap();
        assert!(
            msg.contains("Subject: Case  Bcc: x (search task 7: finished)\r\n"),
            "{msg}"
        );
        assert!(msg.contains("Query: subject:walrus\r\n"), "{msg}");
        assert!(
            msg.contains("Hits: 3\r\n") && msg.contains("  bob@a.test (2)\r\n"),
            "{msg}"
        );
        assert!(msg.contains("Auto-Submitted: auto-generated\r\n"), "{msg}");
        assert!(!msg.contains("\nBcc:"), "{msg}");
    }

    #[test]
    fn unknown_task_is_a_fault() {
        let mut req = Element::new("AbortXMbxSearchRequest");
        req.add_new("searchtask").set("id", "999999");
        assert!(abort(&req).is_err());
        assert!(delete(&Element::new("DeleteXMbxSearchRequest")).is_err());
    }
}
