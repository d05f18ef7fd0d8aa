//! `zmcontrol`: start, stop, restart and report the status of the zcs server of this
//! home. The server itself is the `zcs-server` binary installed beside this one.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use zcs_server::control::{self, probe, read_listeners, running_pid};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

/// Control the zcs services on this host.
#[derive(Parser)]
#[command(name = "zmcontrol", disable_version_flag = true)]
struct Args {
    /// Print the version.
    #[arg(short = 'v')]
    version: bool,
    /// Host (only the local host is supported).
    #[arg(short = 'H')]
    host: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start every service.
    #[command(alias = "startup")]
    Start,
    /// Stop every service.
    #[command(alias = "shutdown")]
    Stop,
    /// Stop, then start.
    Restart,
    /// Show each service's status; exits 1 when any is not running.
    Status,
}

const START_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args = Args::parse();
    if args.version {
        println!("Release {} zcs", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zmcontrol: {e}");
            return ExitCode::FAILURE;
        }
    };
    let host = args.host.unwrap_or_else(|| hostname(&home));
    let result = match args.command {
        Some(Cmd::Start) => start(&home, &host),
        Some(Cmd::Stop) => stop(&home, &host),
        Some(Cmd::Restart) => stop(&home, &host).and_then(|_| start(&home, &host)),
        Some(Cmd::Status) | None => status(&home, &host),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("zmcontrol: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hostname(home: &Home) -> String {
    LocalConfig::load(home)
        .ok()
        .and_then(|lc| lc.get("zimbra_server_hostname"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn start(home: &Home, host: &str) -> Result<bool, String> {
    println!("Host {host}");
    if let Some(pid) = running_pid(home) {
        println!("\tmailbox is already running (pid {pid}).");
        return Ok(true);
    }
    home.create_dirs().map_err(|e| e.to_string())?;
    let server = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("zcs-server");
    let out_path = home.log().join("zcs.out");
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .map_err(|e| format!("open {}: {e}", out_path.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(control::status_file(home));
    print!("\tStarting mailbox...");
    let mut cmd = Command::new(&server);
    cmd.arg("run")
        .env("ZCS_HOME", home.root())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: setsid only detaches the child from our session so that it outlives us;
    // it touches no memory shared with the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("start {}: {e}", server.display()))?;

    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            println!("Failed.");
            return Err(format!(
                "the server exited ({status}); last lines of {}:\n{}",
                out_path.display(),
                control::tail(&out_path, 20)
            ));
        }
        let listeners = read_listeners(home);
        if !listeners.is_empty() && listeners.iter().all(|l| probe(l.addr)) {
            println!("Done.");
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("Failed.");
    Err(format!(
        "the server did not come up within {}s; see {}",
        START_TIMEOUT.as_secs(),
        out_path.display()
    ))
}

fn stop(home: &Home, host: &str) -> Result<bool, String> {
    println!("Host {host}");
    let Some(pid) = running_pid(home) else {
        println!("\tmailbox is not running.");
        return Ok(true);
    };
    print!("\tStopping mailbox...");
    if control::stop_pid(pid, STOP_TIMEOUT) {
        println!("Done.");
    } else {
        println!("Killed (did not stop within {}s).", STOP_TIMEOUT.as_secs());
    }
    control::clear_running(home);
    Ok(true)
}

fn status(home: &Home, host: &str) -> Result<bool, String> {
    println!("Host {host}");
    let pid = running_pid(home);
    let listeners = read_listeners(home);
    let mut services: Vec<String> = listeners.iter().map(|l| l.service.clone()).collect();
    if services.is_empty() {
        services = vec!["mailbox".into(), "mta".into()];
    }
    services.dedup();
    let mut all_up = true;
    for service in services {
        let up = pid.is_some()
            && listeners
                .iter()
                .filter(|l| l.service == service)
                .all(|l| probe(l.addr));
        all_up &= up;
        let word = if up { "Running" } else { "Stopped" };
        println!("\t{service:<24}{word}");
    }
    Ok(all_up)
}
