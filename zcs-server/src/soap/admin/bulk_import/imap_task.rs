//! BulkIMAPDataImportRequest (the Account Migration Wizard's "import mail" step) and its
//! task manager: for each account of the import, an IMAP data source pointing at the
//! source server is recorded on the account and its folders and messages are pulled
//! into its mailbox (`mail`), one account after another in a background task.
//!
//! Accounts come from an uploaded ZCSImport file (`<sourceType>bulkxml</sourceType>`
//! with `<aid>`: `<RemoteEmailAddress>`, `<LocalEmailAddress>`, `<RemoteIMAPLogin>`,
//! `<remoteIMAPPassword>` per user and the file's `<IMAPHost>`... globals) or from
//! `<account name=>` elements (then the admin login is used). The request's own
//! `<IMAPHost>`, `<IMAPPort>`, `<ConnectionType>` (`cleartext`, `ssl`, `tls`),
//! `<UseAdminLogin>`, `<IMAPAdminLogin>`, `<IMAPAdminPassword>` and `<InvalidSSLOk>`
//! win over the file's. An account that does not exist here is an error for that user
//! and nothing is created (spec 03 §6 idea 8).
//!
//! Ops: `preview` counts and writes nothing, `startImport` starts the task,
//! `getStatus` reports it, `abortImport` stops it between two messages,
//! `dismissImport` forgets a finished one. The answer carries Zimbra's `totalCount`,
//! `idleCount`, `runningCount`, `finishedCount`, `<runningAccounts>` and the connection
//! settings (never a password), plus `failedCount`, `status` and one
//! `<accounts><account name= id= status= folderCount= messageCount= [error=]>` each.
//! GetBulkIMAPImportTaskListRequest lists the tasks (`<task owner= totalTasks=
//! finishedTasks= failedTasks=>`), PurgeBulkIMAPImportTasksRequest drops finished ones.
//!
//! The data source (`BulkIMAPImport`) also remembers, per source folder, the highest
//! UID imported (`zimbraDataSourceAttribute` values, see `mail::Marks`): running the
//! import again takes only new messages.
//!
//! LIMITATION: the data source is recorded without the password (the import's
//! credentials are used once and kept in memory only while it runs); `indexBatchSize`
//! is echoed but indexing follows the server's indexer; one task per admin at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use zcs_core::{AttrEdit, Attrs, Entry, FaultCode, ServiceError, ServiceResult, ZimbraId};
use zcs_directory::Provisioning;
use zcs_directory::provisioning::children::Child;

use super::super::super::context::Ctx;
use super::super::super::element::{Element, is_true};
use super::super::super::envelope::NS_ADMIN;
use super::super::super::response;
use super::imap_client::{Credentials, Endpoint, Security};
use super::mail::{
    Marks, PullError, Pulled, is_mark, marks_from_values, marks_to_values, pull_account,
};
use super::source::{self, ImapGlobals};

/// The name of the data source recorded on each imported account.
pub(crate) const DATA_SOURCE_NAME: &str = "BulkIMAPImport";
/// How long a finished task is kept when nobody dismisses it.
const TASK_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Where one account's import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobState {
    Idle,
    Running,
    Finished,
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Idle => "idle",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
        }
    }
}

/// One account of a task.
struct Job {
    /// The account here.
    name: String,
    id: Option<ZimbraId>,
    /// Who logs in on the source (dropped once the job ran).
    creds: Option<Credentials>,
    state: JobState,
    /// Messages stored so far.
    messages: Arc<AtomicUsize>,
    pulled: Pulled,
    error: Option<String>,
}

/// The connection settings of a task, echoed in answers.
#[derive(Clone, Debug)]
struct Settings {
    endpoint: Endpoint,
    use_admin_login: bool,
    admin_login: Option<String>,
    index_batch_size: Option<String>,
}

/// One admin's import.
struct Task {
    owner_name: String,
    settings: Settings,
    jobs: Vec<Job>,
    abort: Arc<AtomicBool>,
    /// When the task ended; `None` while it runs (or before it starts).
    ended: Option<Instant>,
    started: bool,
}

impl Task {
    fn count(&self, s: JobState) -> usize {
        self.jobs.iter().filter(|j| j.state == s).count()
    }

    fn status(&self) -> &'static str {
        match (
            self.started,
            self.ended.is_some(),
            self.abort.load(Ordering::Relaxed),
        ) {
            (false, _, _) => "idle",
            (true, false, _) => "started",
            (true, true, true) => "aborted",
            (true, true, false) => "finished",
        }
    }
}

/// The tasks of this process by owner; finished ones past [`TASK_TTL`] are dropped.
fn tasks() -> MutexGuard<'static, HashMap<ZimbraId, Task>> {
    static TASKS: OnceLock<Mutex<HashMap<ZimbraId, Task>>> = OnceLock::new();
    let mut t = TASKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    t.retain(|_, task| task.ended.is_none_or(|e| e.elapsed() < TASK_TTL));
    t
}

/// Routes the bulk IMAP import requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "BulkIMAPDataImportRequest" => Some(bulk_imap(ctx, req).await),
        "GetBulkIMAPImportTaskListRequest" => Some(task_list(ctx).await),
        "PurgeBulkIMAPImportTasksRequest" => Some(purge(ctx).await),
        _ => None,
    }
}

/// A request option as text: attribute or child, trimmed, `None` when blank.
fn opt<'a>(req: &'a Element, name: &str) -> Option<&'a str> {
    req.attr(name).map(str::trim).filter(|v| !v.is_empty())
}

/// `BulkIMAPDataImportRequest op=`: see the module documentation.
///
/// # Errors
/// `service.PERM_DENIED` for a non-admin; `service.INVALID_REQUEST` for an unknown op,
/// a missing host or upload, a bad port or connection type, admin login without its
/// credentials, or a start while a task runs.
async fn bulk_imap(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let auth = ctx.admin().await?;
    let admin = auth.account.id;
    let op = opt(req, "op").unwrap_or("getStatus");
    match op {
        "preview" | "startImport" => {
            let (settings, jobs) = load(ctx, admin, req).await?;
            let mut task = Task {
                owner_name: auth.account.name.clone(),
                settings,
                jobs,
                abort: Arc::new(AtomicBool::new(false)),
                ended: None,
                started: false,
            };
            if op == "preview" {
                return Ok(status_response(Some(&task)));
            }
            let mut t = tasks();
            if t.get(&admin)
                .is_some_and(|t| t.started && t.ended.is_none())
            {
                return Err(ServiceError::invalid_request(
                    "a mail import is already running; abort or wait for it",
                ));
            }
            task.started = true;
            tracing::info!(accounts = task.jobs.len(), host = %task.settings.endpoint.host,
                "bulk IMAP import started");
            t.insert(admin, task);
            let resp = status_response(t.get(&admin));
            drop(t);
            let store = ctx.svc.store.clone();
            let prov = ctx.svc.prov.clone();
            let indexer = ctx.svc.indexer.clone();
            tokio::spawn(run(admin, store, prov, indexer));
            Ok(resp)
        }
        "getStatus" => Ok(status_response(tasks().get(&admin))),
        "abortImport" => {
            let t = tasks();
            if let Some(task) = t.get(&admin) {
                task.abort.store(true, Ordering::Relaxed);
            }
            Ok(status_response(t.get(&admin)))
        }
        "dismissImport" => {
            let mut t = tasks();
            if t.get(&admin)
                .is_some_and(|t| t.started && t.ended.is_none())
            {
                return Err(ServiceError::invalid_request(
                    "a mail import is running; abort it first",
                ));
            }
            t.remove(&admin);
            Ok(status_response(None))
        }
        other => Err(ServiceError::invalid_request(format!(
            "unknown bulk IMAP import op: {other}"
        ))),
    }
}

/// The connection settings and the accounts of a request.
async fn load(
    ctx: &Ctx<'_>,
    admin: ZimbraId,
    req: &Element,
) -> ServiceResult<(Settings, Vec<Job>)> {
    let source_type = opt(req, "sourceType").unwrap_or("bulkxml");
    let (file_globals, users) = match (source_type, opt(req, "aid")) {
        ("bulkxml", Some(aid)) => {
            let up =
                ctx.svc.uploads.get(admin, aid).ok_or_else(|| {
                    ServiceError::invalid_request(format!("no such upload: {aid}"))
                })?;
            let f = source::parse_file(&up.data)?;
            (f.imap, f.users)
        }
        ("bulkxml", None) | ("zimbra", _) => (ImapGlobals::default(), Vec::new()),
        (other, _) => {
            return Err(ServiceError::invalid_request(format!(
                "unknown sourceType: {other}"
            )));
        }
    };
    let pick = |name: &str, file: &Option<String>| -> Option<String> {
        opt(req, name).map(str::to_string).or_else(|| file.clone())
    };
    let host = pick("IMAPHost", &file_globals.host)
        .ok_or_else(|| ServiceError::invalid_request("missing required element: IMAPHost"))?;
    let conn = pick("ConnectionType", &file_globals.connection_type).unwrap_or_default();
    let security = Security::parse(&conn)
        .ok_or_else(|| ServiceError::invalid_request(format!("invalid ConnectionType: {conn}")))?;
    let port = match pick("IMAPPort", &file_globals.port) {
        None => security.default_port(),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ServiceError::invalid_request(format!("invalid IMAPPort: {p}")))?,
    };
    let use_admin_login =
        pick("UseAdminLogin", &file_globals.use_admin_login).is_some_and(|v| is_true(v.trim()));
    let admin_login = pick("IMAPAdminLogin", &file_globals.admin_login);
    let admin_password = req
        .attr("IMAPAdminPassword")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .or(file_globals.admin_password);
    let admin_creds = match (use_admin_login, &admin_login, &admin_password) {
        (false, _, _) => None,
        (true, Some(l), Some(p)) => Some((l.clone(), p.clone())),
        (true, _, _) => {
            return Err(ServiceError::invalid_request(
                "UseAdminLogin needs IMAPAdminLogin and IMAPAdminPassword",
            ));
        }
    };
    let settings = Settings {
        endpoint: Endpoint {
            host,
            port,
            security,
            accept_invalid_certs: req.bool_attr("InvalidSSLOk", false)?,
        },
        use_admin_login,
        admin_login,
        index_batch_size: opt(req, "indexBatchSize").map(str::to_string),
    };
    // (local account, remote login, remote password)
    let mut wanted: Vec<(String, String, Option<String>)> = users
        .into_iter()
        .map(|u| {
            let local = u.local_address.clone().unwrap_or_else(|| u.address.clone());
            let login = u.imap_login.clone().unwrap_or_else(|| u.address.clone());
            (local, login, u.imap_password.clone())
        })
        .collect();
    for a in req.children_named("account") {
        let name = a.attr("name").map(str::trim).unwrap_or("");
        let Some(name) = source::check_address(name) else {
            return Err(ServiceError::invalid_request(format!(
                "invalid account name: {name}"
            )));
        };
        wanted.push((name.clone(), name, None));
    }
    if wanted.is_empty() {
        return Err(ServiceError::invalid_request("no account to import"));
    }
    let mut jobs = Vec::with_capacity(wanted.len());
    for (local, login, password) in wanted {
        let mut job = Job {
            name: local.clone(),
            id: None,
            creds: None,
            state: JobState::Idle,
            messages: Arc::default(),
            pulled: Pulled::default(),
            error: None,
        };
        match ctx.svc.prov.find_account(&local).await? {
            Some(a) => {
                job.name = a.name;
                job.id = Some(a.id);
            }
            None => {
                job.state = JobState::Failed;
                job.error = Some(FaultCode::NoSuchAccount.to_string());
            }
        }
        job.creds = match (&admin_creds, password) {
            (Some((admin, pw)), _) => Some(Credentials::Admin {
                admin: admin.clone(),
                password: pw.clone(),
                user: login,
            }),
            (None, Some(password)) => Some(Credentials::User { login, password }),
            (None, None) => {
                if job.state != JobState::Failed {
                    job.state = JobState::Failed;
                    job.error = Some("no remoteIMAPPassword and no admin login".into());
                }
                None
            }
        };
        jobs.push(job);
    }
    Ok((settings, jobs))
}

/// Records the data source of the import on `account`, or finds the one an earlier
/// run recorded; `None` when neither works (logged; the import goes on).
async fn record_data_source(
    prov: &Provisioning,
    account: &str,
    s: &Settings,
    creds: &Credentials,
) -> Option<Entry> {
    let username = match creds {
        Credentials::User { login, .. } => login.clone(),
        Credentials::Admin { user, .. } => user.clone(),
    };
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraDataSourceHost", s.endpoint.host.clone());
    attrs.set_one("zimbraDataSourcePort", s.endpoint.port.to_string());
    attrs.set_one(
        "zimbraDataSourceConnectionType",
        s.endpoint.security.as_str(),
    );
    attrs.set_one("zimbraDataSourceUsername", username);
    attrs.set_one("zimbraDataSourceFolderId", "1");
    attrs.set_one("zimbraDataSourceEnabled", "FALSE");
    attrs.set_one("zimbraDataSourceImportOnly", "TRUE");
    let made = prov
        .create_child(
            Child::DataSource,
            account,
            DATA_SOURCE_NAME,
            Some("imap"),
            attrs,
        )
        .await;
    let found = match made {
        Err(e) if e.code == FaultCode::DataSourceExists => {
            prov.get_child(Child::DataSource, account, DATA_SOURCE_NAME)
                .await
        }
        other => other,
    };
    match found {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::info!(account, code = %e.code, "bulk IMAP import: no data source");
            None
        }
    }
}

/// `host:port` of the source, the key of its [`Marks`].
fn server_key(s: &Settings) -> String {
    format!("{}:{}", s.endpoint.host, s.endpoint.port)
}

/// Writes `marks` (for the source of `s`) into the data source `ds` of `account`,
/// keeping its other attribute values.
async fn save_marks(prov: &Provisioning, account: &str, ds: &Entry, s: &Settings, marks: &Marks) {
    let server = server_key(s);
    let mut values: Vec<String> = ds
        .attrs
        .get_all("zimbraDataSourceAttribute")
        .iter()
        .filter(|v| !is_mark(v) || marks_from_values(&server, [*v]).is_empty())
        .cloned()
        .collect();
    values.extend(marks_to_values(&server, marks));
    let edit = AttrEdit::Replace("zimbraDataSourceAttribute".into(), values);
    if let Err(e) = prov
        .modify_child(Child::DataSource, account, &ds.id.to_string(), &[edit])
        .await
    {
        tracing::info!(account, code = %e.code, "bulk IMAP import: progress not recorded");
    }
}

/// Runs the task of `owner`: each idle account in turn, until done or aborted.
async fn run(
    owner: ZimbraId,
    store: Arc<zcs_store::Store>,
    prov: Arc<Provisioning>,
    indexer: crate::indexer::Indexer,
) {
    loop {
        // The next idle job, marked running; its credentials leave the task.
        let next = {
            let mut t = tasks();
            let Some(task) = t.get_mut(&owner) else {
                return;
            };
            let abort = task.abort.clone();
            let settings = task.settings.clone();
            let found = if abort.load(Ordering::Relaxed) {
                None
            } else {
                task.jobs
                    .iter_mut()
                    .enumerate()
                    .find(|(_, j)| j.state == JobState::Idle)
            };
            match found {
                Some((i, job)) => {
                    job.state = JobState::Running;
                    let creds = job.creds.take();
                    (
                        i,
                        job.name.clone(),
                        job.id,
                        creds,
                        job.messages.clone(),
                        abort,
                        settings,
                    )
                }
                None => {
                    for j in &mut task.jobs {
                        j.creds = None;
                    }
                    task.ended = Some(Instant::now());
                    let finished = task.count(JobState::Finished);
                    let failed = task.count(JobState::Failed);
                    tracing::info!(owner = %task.owner_name, finished, failed,
                        "bulk IMAP import ended");
                    return;
                }
            }
        };
        let (i, name, id, creds, counter, abort, settings) = next;
        let outcome = match (id, creds) {
            (Some(id), Some(creds)) => {
                let ds = record_data_source(&prov, &name, &settings, &creds).await;
                let mut marks = ds
                    .as_ref()
                    .map(|d| {
                        marks_from_values(
                            &server_key(&settings),
                            d.attrs.get_all("zimbraDataSourceAttribute"),
                        )
                    })
                    .unwrap_or_default();
                let before = marks.clone();
                let r = match store.mailbox(id).await {
                    Ok(mb) => {
                        let ep = &settings.endpoint;
                        let r = pull_account(&mb, ep, &creds, &abort, &counter, &mut marks).await;
                        indexer.notify(id);
                        r
                    }
                    Err(e) => Err(PullError::Store(e)),
                };
                if let Some(ds) = ds.as_ref().filter(|_| marks != before) {
                    save_marks(&prov, &name, ds, &settings, &marks).await;
                }
                r
            }
            _ => Err(PullError::Aborted),
        };
        let mut t = tasks();
        let Some(task) = t.get_mut(&owner) else {
            return;
        };
        let Some(job) = task.jobs.get_mut(i) else {
            return;
        };
        match outcome {
            Ok(pulled) => {
                tracing::info!(account = %name, messages = pulled.messages,
                    folders = pulled.folders, "bulk IMAP import: account done");
                job.pulled = pulled;
                job.state = JobState::Finished;
            }
            Err(e) => {
                tracing::info!(account = %name, error = %e, "bulk IMAP import: account failed");
                job.error = Some(e.to_string());
                job.state = JobState::Failed;
            }
        }
    }
}

/// The answer of every op: the task's counts, settings and accounts (`idle` alone
/// without a task).
fn status_response(task: Option<&Task>) -> Element {
    let mut resp = response("BulkIMAPDataImportResponse", NS_ADMIN);
    let Some(task) = task else {
        resp.add_text("status", "idle");
        return resp;
    };
    resp.add_text("status", task.status());
    let running = resp.add_new("runningAccounts");
    for j in task.jobs.iter().filter(|j| j.state == JobState::Running) {
        let a = running.add_new("account");
        a.set("name", j.name.clone());
        if let Some(id) = j.id {
            a.set("id", id.to_string());
        }
    }
    resp.add_text("totalCount", task.jobs.len().to_string());
    resp.add_text("idleCount", task.count(JobState::Idle).to_string());
    resp.add_text("runningCount", task.count(JobState::Running).to_string());
    resp.add_text("finishedCount", task.count(JobState::Finished).to_string());
    resp.add_text("failedCount", task.count(JobState::Failed).to_string());
    let s = &task.settings;
    resp.add_text("ConnectionType", s.endpoint.security.as_str());
    resp.add_text("IMAPHost", s.endpoint.host.clone());
    resp.add_text("IMAPPort", s.endpoint.port.to_string());
    if let Some(b) = &s.index_batch_size {
        resp.add_text("indexBatchSize", b.clone());
    }
    resp.add_text("UseAdminLogin", if s.use_admin_login { "1" } else { "0" });
    if let Some(l) = &s.admin_login {
        resp.add_text("IMAPAdminLogin", l.clone());
    }
    let list = resp.add_new("accounts");
    for j in &task.jobs {
        let a = list.add_new("account");
        a.set("name", j.name.clone());
        if let Some(id) = j.id {
            a.set("id", id.to_string());
        }
        a.set("status", j.state.as_str());
        a.set_num("folderCount", j.pulled.folders);
        a.set_num("messageCount", j.messages.load(Ordering::Relaxed));
        if let Some(e) = &j.error {
            a.set("error", e.clone());
        }
        for (folder, why) in &j.pulled.folder_errors {
            a.add_new("folderError")
                .set("name", folder.clone())
                .set("reason", why.clone());
        }
    }
    resp
}

/// GetBulkIMAPImportTaskListRequest: one `<task>` per admin with an import.
async fn task_list(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    ctx.admin().await?;
    let mut resp = response("GetBulkIMAPImportTaskListResponse", NS_ADMIN);
    for task in tasks().values() {
        resp.add_new("task")
            .set("owner", task.owner_name.clone())
            .set_num("totalTasks", task.jobs.len())
            .set_num("finishedTasks", task.count(JobState::Finished))
            .set_num("failedTasks", task.count(JobState::Failed));
    }
    Ok(resp)
}

/// PurgeBulkIMAPImportTasksRequest: forgets the caller's finished task.
async fn purge(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let admin = ctx.admin().await?.account.id;
    let mut t = tasks();
    if t.get(&admin)
        .is_some_and(|t| t.ended.is_some() || !t.started)
    {
        t.remove(&admin);
    }
    Ok(response("PurgeBulkIMAPImportTasksResponse", NS_ADMIN))
}
