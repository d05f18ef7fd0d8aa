//! Composition: opens the directory, store and index of a home, binds the listeners its
//! server entry names, serves until told to stop, and shuts down in order (stop
//! accepting, let sessions finish, drain the indexer).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::{EntryKey, Provisioning};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_store::{Store, StoreConfig, StoreOptions};

use crate::bootstrap;
use crate::control::{self, ListenerStatus};
use crate::delivery::MailDelivery;
use crate::frontends::{self, Context, Planned, PortFrom};
use crate::home::Home;
use crate::imap_backend::StoreImapBackend;
use crate::indexer::Indexer;
use crate::jobs;
use crate::localconfig::LocalConfig;
use crate::metrics;
use crate::pop3::MaildropLocks;
use crate::pop3_backend::StorePop3Backend;
use crate::privdrop;
use crate::tls::{self, CertPaths, NamedPem, ServerTls};

/// How long in-flight sessions get to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(10);

fn fail(step: &'static str) -> impl Fn(String) -> ServiceError {
    move |e| ServiceError::failure(format!("{step}: {e}"))
}

/// The opened subsystems of one home.
pub struct Subsystems {
    pub prov: Arc<Provisioning>,
    pub store: Arc<Store>,
    pub index: Arc<dyn IndexBackend>,
    pub hostname: String,
    pub lc: LocalConfig,
}

/// Opens the directory, store and index of an initialised home.
///
/// # Errors
/// Any of them cannot be opened; the error names which.
pub async fn open(home: &Home) -> ServiceResult<Subsystems> {
    let lc = LocalConfig::load(home).map_err(|e| fail("load local config")(e.to_string()))?;
    let prov = Arc::new(bootstrap::open_provisioning(home).await?);
    let path = |key: &str| std::path::PathBuf::from(lc.get(key).unwrap_or_default());
    let global = prov.global_config().await?;
    let rollover_kb = global
        .attrs
        .get("zimbraRedoLogRolloverFileSizeKB")
        .and_then(|v| v.parse().ok())
        .unwrap_or(StoreOptions::DEFAULT_ROLLOVER_KB);
    // zcs_store_url: empty keeps SQLite at zcs_store_db; mysql:// or postgres:// moves
    // the mailbox metadata to that database (blobs and the redo log stay local).
    let store = Store::open_url(
        &lc.get("zcs_store_url").unwrap_or_default(),
        StoreConfig {
            db_path: path("zcs_store_db"),
            blob_root: path("zcs_store_volume"),
            redo_dir: path("zcs_redolog_directory"),
        },
        StoreOptions::with_rollover_kb(rollover_kb),
    )
    .await
    .map_err(|e| fail("open store")(e.to_string()))?;
    let options = zcs_index::IndexOptions {
        wildcard_max_terms: lc
            .get("zimbra_index_wildcard_max_terms_expanded")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(zcs_index::MAX_WILDCARD_TERMS),
        ..zcs_index::IndexOptions::default()
    };
    let index = open_index(&path("zcs_index_volume"), options)?;
    Ok(Subsystems {
        prov,
        store: Arc::new(store),
        index: Arc::new(index),
        hostname: lc.get("zimbra_server_hostname").unwrap_or_default(),
        lc,
    })
}

/// Opens the index volume. An index that cannot be opened (damaged files) is moved
/// aside to `<dir>.broken-<unix time>` and a new one is created: the index can always be
/// rebuilt from the store, and mail service must not wait for it. The indexer's
/// reconcile at start re-adds every message.
fn open_index(
    dir: &std::path::Path,
    options: zcs_index::IndexOptions,
) -> ServiceResult<TantivyIndex> {
    match TantivyIndex::open_with(dir, options) {
        Ok(index) => Ok(index),
        Err(first) => {
            let stamp = chrono::Utc::now().timestamp();
            let aside = dir.with_file_name(format!(
                "{}.broken-{stamp}",
                dir.file_name().and_then(|n| n.to_str()).unwrap_or("index")
            ));
            tracing::error!(
                error = %first,
                moved_to = %aside.display(),
                "index cannot be opened; moving it aside and rebuilding it from the store"
            );
            std::fs::rename(dir, &aside)
                .map_err(|e| fail("move damaged index aside")(e.to_string()))?;
            TantivyIndex::open_with(dir, options).map_err(|e| fail("open index")(e.to_string()))
        }
    }
}

fn listen_addr(planned: &Planned, ctx: &Context) -> ServiceResult<SocketAddr> {
    let (source, text) = match planned.port {
        PortFrom::Attr(attr) => (attr, ctx.server_attr(attr)),
        PortFrom::LocalConfig(key) => (key, ctx.subs.lc.get(key)),
    };
    let port: u16 = text
        .ok_or_else(|| ServiceError::failure(format!("{source} has no value")))?
        .parse()
        .map_err(|_| ServiceError::failure(format!("{source} is not a port")))?;
    let ip_text = planned
        .addr_attr
        .and_then(|attr| ctx.server_attr(attr))
        .filter(|v| !v.is_empty())
        .or_else(|| ctx.subs.lc.get("zcs_bind_address"))
        .unwrap_or_else(|| "0.0.0.0".into());
    let ip: IpAddr = ip_text
        .parse()
        .map_err(|_| ServiceError::failure(format!("bad bind address {ip_text:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

/// The name of whatever configures a listener's port, for messages to the operator.
fn port_source(planned: &Planned) -> String {
    match planned.port {
        PortFrom::Attr(attr) => format!("the server attribute {attr} (zmprov ms)"),
        PortFrom::LocalConfig(key) => format!("the local config key {key} (zmlocalconfig -e)"),
    }
}

/// Loads the home's TLS identity, creating the self-signed one on first use. A failure
/// is logged and leaves the server without TLS listeners rather than without mail.
fn load_tls(home: &Home, hostname: &str) -> Option<ServerTls> {
    let paths = CertPaths::new(home.root());
    let loaded = tls::ensure_certificates(&paths, hostname).and_then(|created| {
        if created {
            tracing::info!(ca = %paths.ca_cert().display(), "created a self-signed certificate");
        }
        ServerTls::load(paths.clone())
    });
    match loaded {
        Ok(tls) => Some(tls),
        Err(e) => {
            tracing::error!(error = %e, "no TLS: the implicit-TLS listeners are not started");
            None
        }
    }
}

/// Started as root, with the listeners bound: hands the home to `zimbra_user` and
/// becomes that user. Without a `zimbra_user` it keeps running as root, and says so.
///
/// # Errors
/// `zimbra_user` names a user that does not exist, or the switch failed: the server
/// stops rather than run with more rights than the operator asked for.
fn drop_privileges(home: &Home, ctx: &Context) -> ServiceResult<()> {
    if !privdrop::is_root() {
        return Ok(());
    }
    let user = privdrop::configured_user(&ctx.subs.lc)
        .map_err(|e| fail("drop privileges")(e.to_string()))?;
    let Some(user) = user else {
        tracing::warn!(
            "running as root; set zimbra_user (zmlocalconfig -e zimbra_user=zimbra) to run \
             as an unprivileged user once the listeners are bound"
        );
        return Ok(());
    };
    privdrop::check_reachable(home.root(), &user)
        .and_then(|()| privdrop::chown_tree(home.root(), &user))
        .and_then(|()| privdrop::become_user(&user))
        .map_err(|e| fail("drop privileges")(e.to_string()))?;
    tracing::info!(user = %user.name, uid = user.uid, "listeners bound; running as {}", user.name);
    Ok(())
}

/// Writes a zmstat sample every `zmstat_interval` seconds (local config; 30 by
/// default) into `log/zmstat/` until shutdown.
async fn zmstat_loop(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let every = ctx
        .subs
        .lc
        .get("zmstat_interval")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .map(Duration::from_secs)
        .unwrap_or(metrics::ZMSTAT_INTERVAL);
    let dir = ctx.home.log().join("zmstat");
    let stopped = metrics::stopped_flag(&ctx.home);
    loop {
        let gauges = ctx.gauges();
        let dir = dir.clone();
        let stopped = stopped.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if stopped.exists() {
                return;
            }
            metrics::write_zmstat(&dir, metrics::counters(), &gauges, chrono::Utc::now());
        })
        .await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// How often the server looks for a newly deployed certificate.
const CERT_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Gives each domain that carries its own certificate (`zimbraSSLCertificate` and
/// `zimbraSSLPrivateKey`) that certificate for its name and its
/// `zimbraVirtualHostName`s, chosen by SNI. A pair that does not load is logged and the
/// server certificate serves those names.
async fn load_domain_certificates(subs: &Subsystems, tls: &ServerTls) {
    let domains = match subs.prov.all_domains().await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "domain certificates not read");
            return;
        }
    };
    let pairs: Vec<NamedPem> = domains
        .iter()
        .filter_map(|d| {
            let cert_pem = d.attrs.get("zimbraSSLCertificate")?.to_string();
            let key_pem = d.attrs.get("zimbraSSLPrivateKey")?.to_string();
            let mut names = vec![d.name.clone()];
            names.extend(d.attrs.get_all("zimbraVirtualHostName").iter().cloned());
            Some(NamedPem {
                label: d.name.clone(),
                names,
                cert_pem,
                key_pem,
            })
        })
        .collect();
    for (domain, why) in tls.set_name_certificates(&pairs) {
        tracing::warn!(%domain, error = %why, "domain certificate not loaded");
    }
}

/// Runs the server of `home` until `shutdown` turns true: first-start setup, then every
/// listener, then an orderly stop.
///
/// # Errors
/// Setup failed or a listener could not be bound. A listener on a privileged port
/// without the right to bind it is logged, shown in `zmcontrol status` and skipped, so
/// that a first start as an ordinary user still brings up the others.
pub async fn run(home: Home, mut shutdown: watch::Receiver<bool>) -> ServiceResult<()> {
    let _lock = home.lock().map_err(|e| fail("lock home")(e.to_string()))?;
    let outcome = bootstrap::init(&home).await?;
    if let Some((name, password)) = &outcome.created_admin {
        // Printed once, to the terminal only; never logged.
        println!("zcs: created admin account {name} with password: {password}");
        println!("zcs: this password is shown only once; change it with zmprov sp");
        println!(
            "zcs: home {}; logs in {} (mailbox.log, audit.log)",
            home.root().display(),
            home.log().display()
        );
    }
    // CA certificates an operator trusts for customer directories (external
    // authentication, external GAL, GAL sync sources over StartTLS or ldaps).
    zcs_directory::ldap_client::trust_ca_path(home.conf().join("ca"));
    // The mailbox service refuses a redo log damaged in the middle (spec 04 §1.8) and
    // says what to do; offline tools (zmrestoreoffline, zmplayredo) keep cutting there.
    zcs_store::redo::refuse_damaged_log(true);
    // Which addresses a user's feed or remote calendar URL may reach.
    if let Ok(lc) = LocalConfig::load(&home) {
        crate::egress::set_policy(crate::egress::EgressPolicy::from_local_config(&lc));
    }
    let subs = open(&home).await?;
    let global = subs.prov.global_config().await?;
    let server = subs
        .prov
        .get_server(&EntryKey::Name(subs.hostname.clone()))
        .await?;

    let (indexer, indexer_task) = Indexer::start(subs.store.clone(), subs.index.clone());
    catch_up_index(&subs, &indexer).await;
    // Restores a crash cut off are finished (and reindexed) before their accounts leave
    // maintenance; the listeners start meanwhile, those accounts answer "maintenance".
    let resume_task = tokio::spawn(crate::soap::resume_restores(
        subs.store.clone(),
        subs.prov.directory().clone(),
        subs.index.clone(),
    ));

    let delivery = Arc::new(MailDelivery::new(
        subs.prov.clone(),
        subs.store.clone(),
        indexer.clone(),
    ));
    // Auto-provisioned accounts get their welcome mail through this server's delivery.
    crate::autoprov_welcome::register(subs.prov.clone(), delivery.clone());
    let imap_backend = Arc::new(StoreImapBackend::new(
        subs.prov.clone(),
        subs.store.clone(),
        subs.index.clone(),
        indexer.clone(),
    ));
    let pop3_backend = Arc::new(StorePop3Backend::new(
        subs.prov.clone(),
        subs.store.clone(),
        subs.index.clone(),
    ));
    // zimbraMtaMaxMessageSize bounds SMTP/LMTP messages and IMAP APPENDs alike.
    let max_message_size: u64 =
        zcs_directory::server_attr(&server, &global, "zimbraMtaMaxMessageSize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_240_000);
    let tls = load_tls(&home, &subs.hostname);
    if let Some(tls) = &tls {
        load_domain_certificates(&subs, tls).await;
    }
    let ctx = Arc::new(Context {
        home: home.clone(),
        subs,
        global,
        server,
        delivery,
        imap_backend,
        pop3_backend,
        pop3_locks: MaildropLocks::default(),
        indexer: indexer.clone(),
        max_message_size,
        tls,
    });

    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    tasks.push(resume_task);
    if let Some(tls) = ctx.tls.clone() {
        tasks.push(tokio::spawn(tls::watch_for_changes(
            tls,
            CERT_CHECK_INTERVAL,
            shutdown.clone(),
        )));
    }
    tasks.push(tokio::spawn(zmstat_loop(ctx.clone(), shutdown.clone())));
    tasks.push(tokio::spawn(jobs::run(ctx.clone(), shutdown.clone())));
    // Periodic GAL sync (zimbraDataSourcePollingInterval), added by the eleventh session.
    tasks.push(tokio::spawn(crate::galsync_poller::run(
        ctx.subs.prov.clone(),
        ctx.subs.store.clone(),
        crate::galsync_poller::POLL_TICK,
        shutdown.clone(),
    )));
    // EAGER account auto-provisioning (zimbraAutoProvScheduledDomains).
    tasks.push(tokio::spawn(crate::autoprov_poller::run(
        ctx.subs.prov.clone(),
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(crate::authwatch::start(
        ctx.clone(),
        shutdown.clone(),
    )));
    {
        // Backup reports (scheduled, SOAP BackupRequest) go out through the mail queue,
        // opened when the first report is sent.
        struct ServerMailer(Arc<Context>);
        impl zcs_backup::backup::report::Mailer for ServerMailer {
            fn send<'a>(
                &'a self,
                recipients: &'a [String],
                message: &'a [u8],
            ) -> zcs_backup::backup::report::MailFuture<'a> {
                Box::pin(async move {
                    let queue = crate::mta::config::shared_queue(&self.0)?;
                    crate::mta::outbound::enqueue(&queue, "", recipients, message)
                        .await
                        .map(drop)
                })
            }
        }
        zcs_backup::backup::report::set_mailer(Arc::new(ServerMailer(ctx.clone())));
    }
    // zimbraServiceEnabled lists the services this server runs (mailbox, mta, ...).
    let services: Vec<String> = ctx.server.attrs.get_all("zimbraServiceEnabled").to_vec();
    for planned in frontends::all() {
        if !services.is_empty()
            && !services
                .iter()
                .any(|s| s.eq_ignore_ascii_case(planned.service))
        {
            tracing::info!(
                proto = planned.protocol,
                service = planned.service,
                "not started: service not in zimbraServiceEnabled"
            );
            continue;
        }
        if let Some((attr, default)) = planned.enabled_attr
            && !ctx.server_flag(attr, default)
        {
            tracing::info!(proto = planned.protocol, "not started: {attr} is FALSE");
            continue;
        }
        let addr = listen_addr(&planned, &ctx)?;
        let status = |addr, error| ListenerStatus {
            service: planned.service.into(),
            protocol: planned.protocol.into(),
            addr,
            error,
        };
        if planned.needs_tls && ctx.tls.is_none() {
            bound.push(status(addr, Some("no TLS certificate".to_string())));
            continue;
        }
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && addr.port() < 1024 => {
                tracing::error!(
                    proto = planned.protocol,
                    %addr,
                    "listener not started: permission denied; run as root or move it above \
                     1023 with {}",
                    port_source(&planned)
                );
                bound.push(status(
                    addr,
                    Some(format!(
                        "permission denied; run as root or move {} above 1023",
                        port_source(&planned)
                    )),
                ));
                continue;
            }
            Err(e) => {
                return Err(ServiceError::failure(format!(
                    "bind {} {addr}: {e}",
                    planned.protocol
                )));
            }
        };
        let local = listener
            .local_addr()
            .map_err(|e| fail("listener address")(e.to_string()))?;
        bound.push(status(local, None));
        tracing::info!(proto = planned.protocol, addr = %local, "listening");
        tasks.push((planned.spawn)(listener, ctx.clone(), shutdown.clone()));
    }
    drop_privileges(&home, &ctx)?;
    for (name, start) in frontends::background() {
        tracing::info!(task = name, "background task started");
        tasks.push(start(ctx.clone(), shutdown.clone()));
    }
    control::write_running(&home, &bound).map_err(|e| fail("write pid file")(e.to_string()))?;
    tracing::info!(host = %ctx.subs.hostname, home = %home.root().display(), "zcs started");

    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    tracing::info!("zcs stopping");
    for task in tasks {
        if tokio::time::timeout(DRAIN, task).await.is_err() {
            tracing::warn!("a listener did not stop within {}s", DRAIN.as_secs());
        }
    }
    // Token ids of the last logins still waiting to be recorded on their accounts.
    let tokens = crate::soap::token::ledger::TokenLedger::shared(ctx.subs.prov.clone());
    if let Err(e) = tokens.flush().await {
        tracing::warn!(error = %e, "token ids of the last logins not recorded");
    }
    drop(ctx);
    drop(indexer);
    indexer_task.join(DRAIN).await;
    control::clear_running(&home);
    tracing::info!("zcs stopped");
    Ok(())
}

/// Queues every mailbox for a reconcile: items the index has not seen after a crash,
/// and every item when the index volume was removed or rebuilt.
async fn catch_up_index(subs: &Subsystems, indexer: &Indexer) {
    match subs.prov.all_accounts(None).await {
        Ok(accounts) => {
            for account in accounts {
                // Delayed indexing: an account the directory says is suppressed stays
                // so across restarts (its documents are dropped again, not rebuilt).
                if account.attrs.contains("zimbraDelayedIndexStatus")
                    && crate::soap::delayed_index_suppressed(&subs.prov, &account).await
                {
                    indexer.suppress_queued(account.id);
                } else {
                    indexer.reconcile(account.id);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "index catch-up skipped"),
    }
}
