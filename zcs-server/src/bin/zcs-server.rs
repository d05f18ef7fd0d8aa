//! `zcs-server`: the zcs server process. `zcs-server` (or `zcs-server run`) starts
//! every service of the home named by `ZCS_HOME` (default `./zcs-data`) in the
//! foreground, setting the home up on first start; `zcs-server init` only sets it up.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use zcs_server::home::Home;
use zcs_server::{bootstrap, server};

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

fn main() -> ExitCode {
    zcs_server::private_umask();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zcs-server: start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zcs-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.command {
            Some(Cmd::Init) => init(&home).await,
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
    match outcome.created_admin {
        Some((name, password)) => {
            println!("created admin account {name} with password: {password}");
            println!("this password is shown only once; change it with zmprov sp");
        }
        None => println!("already initialised; nothing changed"),
    }
    Ok(())
}

async fn run(home: Home) -> Result<(), String> {
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
