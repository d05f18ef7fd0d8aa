//! The `zcs-server` program: `zcs-server` (or `zcs-server run`) starts every service of
//! the home named by `ZCS_HOME` (default `./zcs-data`) in the foreground, setting the
//! home up on first start; `zcs-server init` only sets it up.
//!
//! It lives in the library so that an integrator's own binary can register its
//! authentication mechanisms ([`crate::bootstrap::register_auth_mechanism`]) and then run
//! exactly this program (`examples/custom_auth.rs`).

use std::process::ExitCode;

use crate::home::Home;
use clap::{Parser, Subcommand};
use std::ops::Not;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::account_loggers;
use crate::localconfig::LocalConfig;
use crate::{bootstrap, logging, server};

/// The zcs mail server.
#[derive(Parser)]
#[command(name = "zcs-server", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every service in the foreground until SIGTERM or Ctrl-C (the default).
    Run,
    /// Set the home up (directories, local config, global config, this server, the
    /// default domain and admin account) without starting anything.
    Init,
}

/// The async runtime: `zcs_worker_threads` from the home's local config when set above
/// 0, else one worker per core (or `TOKIO_WORKER_THREADS`). The database, redo and
/// index threads run beside the workers; on a 2-core machine one worker delivered mail
/// 25-30% faster than two under smtp-source (`benches/RESULTS.md`, fourteenth
/// session), at the cost of one core for every connection's protocol work.
fn build_runtime(home: &Home) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    let configured = crate::localconfig::LocalConfig::load(home)
        .ok()
        .and_then(|lc| lc.get("zcs_worker_threads"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    if let Some(n) = configured {
        b.worker_threads(n);
    }
    b.build()
}

/// Runs the `zcs-server` command line: parses the arguments of this process, then
/// initialises the home or runs the server until SIGTERM or Ctrl-C.
pub fn main() -> ExitCode {
    crate::private_umask();
    crate::bounded_malloc_arenas();
    let args = Args::parse();
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zcs-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match build_runtime(&home) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zcs-server: start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.command {
            Some(Cmd::Init) => {
                logging::init(None, "info", logging::DEFAULT_RETENTION_DAYS);
                init(&home).await
            }
            Some(Cmd::Run) | None => run(home).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zcs-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn init(home: &Home) -> Result<(), String> {
    let outcome = bootstrap::init(home).await.map_err(|e| e.to_string())?;
    println!("zcs home: {}", home.root().display());
    println!("server: {}", outcome.hostname);
    println!("default domain: {}", outcome.domain);
    if let Some(w) = &outcome.domain_warning {
        eprintln!("{w}");
    }
    if let Err(e) = home.remember() {
        eprintln!("zcs-server: warning: could not record the home for later commands: {e}");
    }
    match outcome.created_admin {
        Some((name, password)) => {
            println!("created admin account {name} with password: {password}");
            println!("this password is shown only once; change it with zmprov sp");
        }
        None => println!("already initialised; nothing changed"),
    }
    Ok(())
}

/// The log settings of the local config (defaults before the first start).
fn log_settings(home: &Home) -> (String, u32) {
    let lc = LocalConfig::load(home).ok();
    let level = lc
        .as_ref()
        .and_then(|lc| lc.get("zcs_log_level"))
        .unwrap_or_else(|| "info".into());
    let days = lc
        .as_ref()
        .and_then(|lc| lc.get("zcs_log_retention_days"))
        .and_then(|d| d.parse().ok())
        .unwrap_or(logging::DEFAULT_RETENTION_DAYS);
    (level, days)
}

async fn run(home: Home) -> Result<(), String> {
    if !bootstrap::is_initialised(&home) {
        // First start in the foreground: set the home up as `init` does, so the admin
        // password and any warning about the default domain reach this terminal.
        init(&home).await?;
    } else if let Err(e) = home.remember() {
        eprintln!("zcs-server: warning: could not record the home for later commands: {e}");
    }
    let (level, days) = log_settings(&home);
    let control = logging::init(Some(&home.log()), &level, days);
    // SIGHUP re-reads the log levels from the local config (zmlocalconfig -e
    // zcs_log_level=...), as Zimbra's log4j reload does; account loggers written by
    // zmprov (conf/account-loggers) are picked up within seconds.
    if let Some(control) = control {
        let loggers_file = account_loggers::file(home.root());
        let apply = {
            let (home, control, loggers_file) =
                (home.clone(), control.clone(), loggers_file.clone());
            move |why: &str| {
                let (level, _) = log_settings(&home);
                let loggers = account_loggers::read(&loggers_file);
                let count = loggers.len();
                match control.apply(&level, loggers) {
                    Ok(()) => {
                        tracing::info!(level = %level, account_loggers = count,
                            "log levels reloaded ({why})")
                    }
                    Err(e) => tracing::warn!(error = %e, "zcs_log_level not applied"),
                }
            }
        };
        let stamp = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if account_loggers::read(&loggers_file).is_empty().not() {
            apply("account loggers");
        }
        let mut last = stamp(&loggers_file);
        let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    got = hup.recv() => {
                        if got.is_none() {
                            return;
                        }
                        apply("SIGHUP");
                    }
                    _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                        let now = stamp(&loggers_file);
                        if now != last {
                            last = now;
                            apply("account loggers");
                        }
                    }
                }
            }
        });
    }
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(true);
    });
    server::run(home, rx).await.map_err(|e| e.to_string())
}
