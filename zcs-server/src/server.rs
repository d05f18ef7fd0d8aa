//! Composition: opens the directory, store and index of a home, binds the listeners its
//! server entry names, serves until told to stop, and shuts down in order (stop
//! accepting, let sessions finish, drain the indexer).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::{EntryKey, Provisioning};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_mta::{ListenerConfig, Protocol};
use zcs_store::{Store, StoreConfig, StoreOptions};

use crate::bootstrap;
use crate::control::{self, ListenerStatus};
use crate::delivery::MailDelivery;
use crate::home::Home;
use crate::imap::{self, ImapConfig};
use crate::imap_backend::StoreImapBackend;
use crate::indexer::Indexer;
use crate::localconfig::LocalConfig;
use crate::pop3::{self, Pop3Config};
use crate::pop3_backend::StorePop3Backend;

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
    let store = Store::open_with(
        StoreConfig {
            db_path: path("zcs_store_db"),
            blob_root: path("zcs_store_volume"),
            redo_dir: path("zcs_redolog_directory"),
        },
        StoreOptions::with_rollover_kb(rollover_kb),
    )
    .await
    .map_err(|e| fail("open store")(e.to_string()))?;
    let index = open_index(&path("zcs_index_volume"))?;
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
fn open_index(dir: &std::path::Path) -> ServiceResult<TantivyIndex> {
    match TantivyIndex::open(dir) {
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
            TantivyIndex::open(dir).map_err(|e| fail("open index")(e.to_string()))
        }
    }
}

/// One listener to bind: service, protocol, the attribute naming its port.
struct Planned {
    service: &'static str,
    protocol: &'static str,
    port_attr: &'static str,
    addr_attr: &'static str,
}

const LISTENERS: &[Planned] = &[
    Planned {
        service: "mailbox",
        protocol: "imap",
        port_attr: "zimbraImapBindPort",
        addr_attr: "zimbraImapBindAddress",
    },
    Planned {
        service: "mailbox",
        protocol: "pop3",
        port_attr: "zimbraPop3BindPort",
        addr_attr: "zimbraPop3BindAddress",
    },
    Planned {
        service: "mta",
        protocol: "smtp",
        port_attr: "zimbraSmtpPort",
        addr_attr: "zimbraSmtpBindAddress",
    },
    Planned {
        service: "mta",
        protocol: "lmtp",
        port_attr: "zimbraLmtpBindPort",
        addr_attr: "zimbraLmtpBindAddress",
    },
];

fn listen_addr(
    planned: &Planned,
    server: &Entry,
    global: &Entry,
    lc: &LocalConfig,
) -> ServiceResult<SocketAddr> {
    let port: u16 = zcs_directory::server_attr(server, global, planned.port_attr)
        .ok_or_else(|| ServiceError::failure(format!("{} has no value", planned.port_attr)))?
        .parse()
        .map_err(|_| ServiceError::failure(format!("{} is not a port", planned.port_attr)))?;
    let ip_text = zcs_directory::server_attr(server, global, planned.addr_attr)
        .or_else(|| lc.get("zcs_bind_address"))
        .unwrap_or_else(|| "0.0.0.0".into());
    let ip: IpAddr = ip_text
        .parse()
        .map_err(|_| ServiceError::failure(format!("bad bind address {ip_text:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

/// Runs the server of `home` until `shutdown` turns true: first-start setup, then every
/// listener, then an orderly stop.
///
/// # Errors
/// Setup failed or a listener other than SMTP could not be bound. SMTP on a
/// privileged port without the right to bind it is logged and skipped, so that a
/// first start as an ordinary user still brings up LMTP and IMAP.
pub async fn run(home: Home, mut shutdown: watch::Receiver<bool>) -> ServiceResult<()> {
    let _lock = home.lock().map_err(|e| fail("lock home")(e.to_string()))?;
    let outcome = bootstrap::init(&home).await?;
    if let Some((name, password)) = &outcome.created_admin {
        // Printed once, to the terminal only; never logged.
        println!("zcs: created admin account {name} with password: {password}");
        println!("zcs: this password is shown only once; change it with zmprov sp");
    }
    let subs = open(&home).await?;
    let global = subs.prov.global_config().await?;
    let server = subs
        .prov
        .get_server(&EntryKey::Name(subs.hostname.clone()))
        .await?;

    let (indexer, indexer_task) = Indexer::start(subs.store.clone(), subs.index.clone());
    catch_up_index(&subs, &indexer).await;

    let delivery = Arc::new(MailDelivery::new(
        subs.prov.clone(),
        subs.store.clone(),
        indexer.clone(),
    ));
    let imap_backend = Arc::new(StoreImapBackend::new(
        subs.prov.clone(),
        subs.store.clone(),
        subs.index.clone(),
        indexer.clone(),
    ));

    // zimbraMtaMaxMessageSize bounds SMTP/LMTP messages and IMAP APPENDs alike.
    let max_message_size: u64 =
        zcs_directory::server_attr(&server, &global, "zimbraMtaMaxMessageSize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_240_000);

    let pop3_backend = Arc::new(StorePop3Backend::new(
        subs.prov.clone(),
        subs.store.clone(),
        subs.index.clone(),
    ));
    // One lock table for every POP3 listener, so a maildrop is locked across them.
    let pop3_config = Pop3Config {
        hostname: subs.hostname.clone(),
        // LIMITATION: no STLS or port 995 yet, so cleartext login stays allowed even
        // though zimbraPop3CleartextLoginEnabled defaults to FALSE (issue 10 brings TLS).
        cleartext_login: true,
        ..Pop3Config::default()
    };

    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for planned in LISTENERS {
        let addr = listen_addr(planned, &server, &global, &subs.lc)?;
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e)
                if planned.protocol == "smtp"
                    && e.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                tracing::error!(
                    %addr,
                    "SMTP listener not started: permission denied; run as root or set \
                     zimbraSmtpPort to a port above 1023 with zmprov ms"
                );
                bound.push(ListenerStatus {
                    service: planned.service.into(),
                    protocol: planned.protocol.into(),
                    addr,
                    error: Some(format!(
                        "permission denied; run as root or move {} above 1023",
                        planned.port_attr
                    )),
                });
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
        bound.push(ListenerStatus {
            service: planned.service.into(),
            protocol: planned.protocol.into(),
            addr: local,
            error: None,
        });
        let rx = shutdown.clone();
        let task = match planned.protocol {
            "imap" => {
                tracing::info!(proto = "imap", addr = %local, "listening");
                let config = ImapConfig {
                    hostname: subs.hostname.clone(),
                    max_literal: max_message_size,
                    ..ImapConfig::default()
                };
                tokio::spawn(imap::serve(listener, config, imap_backend.clone(), rx))
            }
            "pop3" => {
                tracing::info!(proto = "pop3", addr = %local, "listening");
                tokio::spawn(pop3::serve(
                    listener,
                    pop3_config.clone(),
                    pop3_backend.clone(),
                    rx,
                ))
            }
            proto => {
                let protocol = if proto == "lmtp" {
                    Protocol::Lmtp
                } else {
                    Protocol::Smtp
                };
                let mut config = ListenerConfig::new(protocol, &subs.hostname);
                config.max_message_size = max_message_size;
                tokio::spawn(zcs_mta::serve(listener, config, delivery.clone(), rx))
            }
        };
        tasks.push(task);
    }
    control::write_running(&home, &bound).map_err(|e| fail("write pid file")(e.to_string()))?;
    tracing::info!(host = %subs.hostname, "zcs started");

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
    drop(delivery);
    drop(imap_backend);
    drop(pop3_backend);
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
                indexer.reconcile(account.id);
            }
        }
        Err(e) => tracing::warn!(error = %e, "index catch-up skipped"),
    }
}
