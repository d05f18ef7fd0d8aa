//! BulkImportAccountsRequest: the back end of the admin console's Account Migration
//! Wizard. Account records come from an uploaded ZCSImport XML file (`bulkxml`), a
//! generic LDAP directory (`ldap`) or another ZCS server's directory (`zimbra`); see
//! `source`. `op="preview"` counts what an import would meet and writes nothing;
//! `op="startImport"` creates the accounts (see `plan`) in a background task and keeps
//! the result, with the CSV of addresses and passwords, for the admin until
//! `op="dismissImport"`; `op="getStatus"` shows its progress and `op="abortImport"`
//! stops it between two accounts. A small import (at most [`INLINE_MAX`] records) is
//! waited for, up to [`INLINE_WAIT`], so its answer already holds the result; a larger
//! one answers `started` at once and the wizard polls `getStatus`.
//!
//! The result lives in this process's memory only, per admin account, for an hour at
//! most, and is never written to disk or logged. Once finished, the response names a
//! `fileToken`; `/service/afd/?action=getBulkFile&fileID=<token>&fileFormat=reportcsv`
//! (see `afd`) hands the CSV over once and then forgets the passwords.
//!
//! Mail import (the wizard's IMAP pull from the old server) is its own request,
//! BulkIMAPDataImportRequest, in `imap_task`; BulkImportAccountsRequest refuses
//! `importMails`.

mod afd;
mod imap_client;
mod imap_parse;
mod imap_task;
mod mail;
mod plan;
mod source;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use zcs_core::{ServiceError, ServiceResult, ZimbraId};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use plan::{ImportOptions, PasswordPolicy, RunReport};
use source::{ImportUser, LdapKind, LdapSource};

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Started,
    Finished,
    Aborted,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Started => "started",
            Status::Finished => "finished",
            Status::Aborted => "aborted",
        }
    }
}

/// How long a finished run's report (and its CSV of passwords) is kept when the admin
/// does not dismiss it: the wizard session is over by then.
const REPORT_TTL: Duration = Duration::from_secs(60 * 60);

/// The most records of an import whose `startImport` waits for the run to end.
pub(crate) const INLINE_MAX: usize = 20;
/// How long `startImport` of a small import waits before answering `started`.
pub(crate) const INLINE_WAIT: Duration = Duration::from_secs(10);

/// One admin's import: its state, the total, and its report, kept up to date while
/// the run goes on.
struct Task {
    status: Status,
    total: usize,
    abort: Arc<AtomicBool>,
    report: Arc<Mutex<RunReport>>,
    /// When the run ended; `None` while it runs.
    ended: Option<Instant>,
    /// Names the result files of this run for `/service/afd` (random, per run).
    file_token: String,
    /// The CSV of passwords was downloaded: the passwords are gone.
    csv_taken: bool,
}

/// The imports of this process, by admin account; reports older than [`REPORT_TTL`]
/// are dropped on the way.
// LIMITATION: kept process-wide rather than in `SoapService` (which this module does not
// own); keys are admin ids, so two services in one process only share an admin's task.
fn tasks() -> MutexGuard<'static, HashMap<ZimbraId, Task>> {
    static TASKS: OnceLock<Mutex<HashMap<ZimbraId, Task>>> = OnceLock::new();
    let mut t = TASKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    t.retain(|_, task| task.ended.is_none_or(|e| e.elapsed() < REPORT_TTL));
    t
}

/// A random token naming a run's result files (128 bits, hex).
pub(crate) fn new_file_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The namespace of Zimbra's bulk provisioning extension (`AdminExtConstants`).
pub(crate) const NS_ADMIN_EXT: &str = "urn:zimbraAdminExt";

/// Routes BulkImportAccountsRequest and the bulk IMAP import requests (see
/// `imap_task`); `None` for other names. A request in [`NS_ADMIN_EXT`] is answered in
/// that namespace.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let res = match name {
        "BulkImportAccountsRequest" => Some(bulk_import(ctx, req).await),
        _ => imap_task::dispatch(ctx, name, req).await,
    };
    // Zimbra's admin console sends these in its extension namespace and reads the
    // answer there.
    if req.ns.as_deref() == Some(NS_ADMIN_EXT) {
        return res.map(|r| {
            r.map(|mut e| {
                e.ns = Some(NS_ADMIN_EXT.to_string());
                e
            })
        });
    }
    res
}

/// `<BulkImportAccountsRequest op= sourceType= [createDomains=]>` with `<aid>`,
/// `<generatePassword>`, `<genPasswordLength>`, `<password>`, `<mustChangePassword>`,
/// `<SMTPHost>`, `<SMTPPort>`, `<maxResults>` and the LDAP source's `<GALLDAPURL>`,
/// `<GALLDAPBINDDN>`, `<GALLDAPBINDPWD>`, `<GALLDAPFILTER>`, `<GALLDAPSEARCHBASE>`.
///
/// # Errors
/// `service.PERM_DENIED` for a non-admin; `service.INVALID_REQUEST` for an unknown op
/// or source, a bad option, a missing or foreign upload, a bad file, mail import, or a
/// start while a run is going; `service.FAILURE` when an LDAP source cannot be read.
async fn bulk_import(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let admin = ctx.admin().await?.account.id;
    let op = req.attr("op").unwrap_or("preview").trim().to_string();
    match op.as_str() {
        "preview" => {
            let (users, opts) = load(ctx, admin, req).await?;
            let p = plan::preview(&ctx.svc.prov, &users, &opts).await?;
            let mut resp = response("BulkImportAccountsResponse", NS_ADMIN);
            resp.add_text("status", "idle");
            resp.add_text("totalCount", p.accounts.to_string());
            resp.add_text("domainCount", p.domains.len().to_string());
            resp.add_text("missingDomainCount", p.missing_domains.len().to_string());
            resp.add_text("existingAccountCount", p.existing.to_string());
            resp.add_text(
                "skippedAccountCount",
                (p.existing + p.skipped_for_domain).to_string(),
            );
            resp.add_text(
                "skippedDomainAccountCount",
                p.skipped_for_domain.to_string(),
            );
            for d in &p.domains {
                let exists = !p.missing_domains.contains(d);
                resp.add_new("domain")
                    .set("name", d.clone())
                    .set_bool("exists", exists);
            }
            add_options(&mut resp, &opts);
            Ok(resp)
        }
        "startImport" => {
            let (users, opts) = load(ctx, admin, req).await?;
            let abort = Arc::new(AtomicBool::new(false));
            let report = Arc::new(Mutex::new(RunReport::default()));
            {
                let mut t = tasks();
                if t.get(&admin).is_some_and(|t| t.ended.is_none()) {
                    return Err(ServiceError::invalid_request(
                        "an import is already running; abort or wait for it",
                    ));
                }
                t.insert(
                    admin,
                    Task {
                        status: Status::Started,
                        total: users.len(),
                        abort: abort.clone(),
                        report: report.clone(),
                        ended: None,
                        file_token: new_file_token(),
                        csv_taken: false,
                    },
                );
            }
            tracing::info!(accounts = users.len(), "bulk import started");
            let small = users.len() <= INLINE_MAX;
            let echo = opts.clone();
            let prov = ctx.svc.prov.clone();
            let run = tokio::spawn(async move {
                plan::run_shared(&prov, &users, &opts, &abort, &report).await;
                let aborted = abort.load(Ordering::Relaxed);
                let mut t = tasks();
                if let Some(task) = t.get_mut(&admin) {
                    task.status = if aborted {
                        Status::Aborted
                    } else {
                        Status::Finished
                    };
                    task.ended = Some(Instant::now());
                    let r = task.report.lock().unwrap_or_else(|p| p.into_inner());
                    tracing::info!(report = ?*r, "bulk import ended");
                }
            });
            if small {
                // A run that outlives the wait goes on; the wizard then polls.
                let _ = tokio::time::timeout(INLINE_WAIT, run).await;
            }
            let t = tasks();
            let mut resp = status_response(t.get(&admin));
            add_options(&mut resp, &echo);
            Ok(resp)
        }
        "getStatus" => Ok(status_response(tasks().get(&admin))),
        "abortImport" => {
            let mut t = tasks();
            if let Some(task) = t.get_mut(&admin) {
                task.abort.store(true, Ordering::Relaxed);
                if task.status == Status::Started {
                    task.status = Status::Aborted;
                }
            }
            Ok(status_response(t.get(&admin)))
        }
        "dismissImport" => {
            let mut t = tasks();
            if t.get(&admin).is_some_and(|t| t.ended.is_none()) {
                return Err(ServiceError::invalid_request(
                    "an import is running; abort it first",
                ));
            }
            t.remove(&admin);
            Ok(status_response(None))
        }
        other => Err(ServiceError::invalid_request(format!(
            "unknown bulk import op: {other}"
        ))),
    }
}

/// The status of `task` (`idle` without one), its counts so far, and once finished
/// its errors, the `fileToken` of its result files and (until downloaded) the CSV.
fn status_response(task: Option<&Task>) -> Element {
    let mut resp = response("BulkImportAccountsResponse", NS_ADMIN);
    let Some(task) = task else {
        resp.add_text("status", "idle");
        return resp;
    };
    resp.add_text("status", task.status.as_str());
    resp.add_text("totalCount", task.total.to_string());
    let r = task.report.lock().unwrap_or_else(|p| p.into_inner());
    let skipped = r.skipped_existing + r.skipped_for_domain;
    resp.add_text("provisionedCount", r.created.len().to_string());
    resp.add_text("skippedAccountCount", skipped.to_string());
    resp.add_text("skippedCount", skipped.to_string());
    resp.add_text("existingAccountCount", r.skipped_existing.to_string());
    resp.add_text(
        "skippedDomainAccountCount",
        r.skipped_for_domain.to_string(),
    );
    resp.add_text("createdDomainCount", r.created_domains.len().to_string());
    resp.add_text("errorCount", r.failed.len().to_string());
    if task.ended.is_none() {
        return resp;
    }
    for (account, code) in &r.failed {
        resp.add_new("error")
            .set("account", account.clone())
            .set("code", code.clone());
    }
    resp.add_text("fileToken", task.file_token.clone());
    if !task.csv_taken {
        resp.add_text("csv", r.csv());
    }
    resp
}

/// Echoes the options a run uses (never the fixed password itself).
fn add_options(resp: &mut Element, opts: &ImportOptions) {
    let (generate, len) = match &opts.password {
        PasswordPolicy::Generate(n) => (true, Some(*n)),
        _ => (false, None),
    };
    resp.add_text("generatePassword", if generate { "TRUE" } else { "FALSE" });
    if let Some(n) = len {
        resp.add_text("genPasswordLength", n.to_string());
    }
    let fixed = matches!(opts.password, PasswordPolicy::Fixed(_));
    resp.add_text("useAdminPassword", if fixed { "TRUE" } else { "FALSE" });
    let tf = |b: bool| if b { "TRUE" } else { "FALSE" };
    resp.add_text("mustChangePassword", tf(opts.must_change));
    resp.add_text("createDomains", tf(opts.create_domains));
    if let Some(h) = &opts.smtp_host {
        resp.add_text("SMTPHost", h.clone());
        resp.add_text("SMTPPort", opts.smtp_port.unwrap_or(25).to_string());
    }
}

/// A request option as text: attribute or child, trimmed, `None` when blank.
fn opt<'a>(req: &'a Element, name: &str) -> Option<&'a str> {
    req.attr(name).map(str::trim).filter(|v| !v.is_empty())
}

/// Reads the records of the request's source and its options.
async fn load(
    ctx: &Ctx<'_>,
    admin: ZimbraId,
    req: &Element,
) -> ServiceResult<(Vec<ImportUser>, ImportOptions)> {
    if req.bool_attr("importMails", false)? {
        return Err(ServiceError::invalid_request(
            "mail is imported by BulkIMAPDataImportRequest, not BulkImportAccountsRequest",
        ));
    }
    let max = req.int_attr("maxResults", 0)?;
    let max = usize::try_from(max)
        .map_err(|_| ServiceError::invalid_request("maxResults must be 0 or more"))?;
    let source_type = opt(req, "sourceType").unwrap_or("bulkxml");
    let (mut users, file_host, file_port) = match source_type {
        "bulkxml" => {
            let aid = opt(req, "aid")
                .ok_or_else(|| ServiceError::invalid_request("missing required element: aid"))?;
            let up =
                ctx.svc.uploads.get(admin, aid).ok_or_else(|| {
                    ServiceError::invalid_request(format!("no such upload: {aid}"))
                })?;
            let f = source::parse_file(&up.data)?;
            (f.users, f.smtp_host, f.smtp_port)
        }
        "ldap" | "zimbra" => {
            let kind = if source_type == "zimbra" {
                LdapKind::Zimbra
            } else {
                LdapKind::Generic
            };
            (read_ldap(req, kind, max).await?, None, None)
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown sourceType: {other}"
            )));
        }
    };
    if max > 0 {
        users.truncate(max);
    }
    let length = match opt(req, "genPasswordLength") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            ServiceError::invalid_request(format!("invalid genPasswordLength: {v}"))
        })?),
    };
    let password = PasswordPolicy::new(
        req.bool_attr("generatePassword", false)?,
        length,
        req.attr("password").filter(|p| !p.is_empty()),
    )?;
    let smtp_port = match opt(req, "SMTPPort") {
        None => file_port,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ServiceError::invalid_request(format!("invalid SMTPPort: {p}")))?,
        ),
    };
    let opts = ImportOptions {
        password,
        must_change: req.bool_attr("mustChangePassword", false)?,
        create_domains: req.bool_attr("createDomains", false)?,
        smtp_host: opt(req, "SMTPHost").map(str::to_string).or(file_host),
        smtp_port,
    };
    Ok((users, opts))
}

/// Reads the records of an LDAP source named by the request.
async fn read_ldap(req: &Element, kind: LdapKind, max: usize) -> ServiceResult<Vec<ImportUser>> {
    let url = opt(req, "GALLDAPURL")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: GALLDAPURL"))?;
    if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
        return Err(ServiceError::invalid_request(format!(
            "GALLDAPURL must be ldap:// or ldaps://, not {url}"
        )));
    }
    let bind_dn = opt(req, "GALLDAPBINDDN")
        .map(str::to_string)
        .or_else(|| (kind == LdapKind::Zimbra).then(|| source::ZCS_BIND_DN.to_string()));
    let src = LdapSource {
        kind,
        url: url.to_string(),
        bind_dn,
        bind_password: req.attr("GALLDAPBINDPWD").unwrap_or("").to_string(),
        filter: opt(req, "GALLDAPFILTER").map(str::to_string),
        search_base: opt(req, "GALLDAPSEARCHBASE").unwrap_or("").to_string(),
        max_results: max,
    };
    Ok(source::read_ldap(&src).await?)
}
