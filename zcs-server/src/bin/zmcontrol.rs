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

/// The services `status` reports, in its order.
const SERVICES: &[&str] = &["mailbox", "mta"];

const START_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
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
    let local = hostname(&home);
    if let Some(other) = args
        .host
        .as_deref()
        .filter(|h| !h.eq_ignore_ascii_case(&local))
    {
        eprintln!("zmcontrol: only this host ({local}) can be controlled, not {other}");
        return ExitCode::FAILURE;
    }
    let Some(command) = args.command else {
        eprintln!("usage: zmcontrol [-v] [-H host] start|stop|restart|status");
        return ExitCode::FAILURE;
    };
    let result = match command {
        Cmd::Start => start(&home),
        Cmd::Stop => stop(&home),
        Cmd::Restart => stop(&home).and_then(|_| start(&home)),
        Cmd::Status => status(&home, &local),
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

/// The `zcs-server` binary installed beside this one.
fn server_binary() -> Result<std::path::PathBuf, String> {
    Ok(std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("zcs-server"))
}

/// Zimbra's zmcontrol warns before starting when a volume is over a disk threshold.
fn disk_warnings(home: &Home) {
    let lc = zcs_server::localconfig::LocalConfig::load(home).ok();
    let get = |k: &str, d: u8| {
        lc.as_ref()
            .and_then(|lc| lc.get(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let volumes = vec![
        home.root().to_path_buf(),
        home.store(),
        home.index(),
        home.redolog(),
    ];
    for alert in zcs_server::disklog::alerts_for(
        &hostname(home),
        &volumes,
        get("zmdisklog_warn_threshold", 85),
        get("zmdisklog_critical_threshold", 95),
        zcs_server::disklog::disk_usage,
    ) {
        println!("\tWarning: {alert}");
    }
}

fn start(home: &Home) -> Result<bool, String> {
    let server = server_binary()?;
    if !zcs_server::bootstrap::is_initialised(home) {
        // First start: set the home up in the foreground, so that the admin password
        // it prints once reaches this terminal rather than the server's log.
        let status = Command::new(&server)
            .arg("init")
            .env("ZCS_HOME", home.root())
            .status()
            .map_err(|e| format!("run {} init: {e}", server.display()))?;
        if !status.success() {
            return Err(format!("{} init failed ({status})", server.display()));
        }
    }
    if let Err(e) = home.remember() {
        eprintln!("zmcontrol: warning: could not record the home for later commands: {e}");
    }
    println!("Host {}", hostname(home));
    if let Some(pid) = running_pid(home) {
        println!("\tmailbox is already running (pid {pid}).");
        return Ok(true);
    }
    home.create_dirs().map_err(|e| e.to_string())?;
    disk_warnings(home);
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
        let up = |l: &&control::ListenerStatus| l.error.is_some() || probe(l.addr);
        if !listeners.is_empty() && listeners.iter().all(|l| up(&l)) {
            println!("Done.");
            for l in listeners.iter().filter(|l| l.error.is_some()) {
                let why = l.error.as_deref().unwrap_or_default();
                println!(
                    "\tWarning: {} on {} is not listening: {why}",
                    l.protocol, l.addr
                );
            }
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

fn stop(home: &Home) -> Result<bool, String> {
    println!("Host {}", hostname(home));
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
    if !zcs_server::bootstrap::is_initialised(home) {
        eprintln!(
            "zmcontrol: no zcs home at {}; start one with `zmcontrol start` here, or name \
             an existing one with ZCS_HOME=/path/to/zcs-data",
            home.root().display()
        );
    }
    println!("Host {host}");
    let pid = running_pid(home);
    let listeners = read_listeners(home);
    let mut all_up = true;
    for service in SERVICES {
        let mine: Vec<_> = listeners.iter().filter(|l| l.service == *service).collect();
        if pid.is_some() && mine.is_empty() {
            // Not in zimbraServiceEnabled: a running server started nothing for it.
            continue;
        }
        let up = pid.is_some()
            && !mine.is_empty()
            && mine.iter().all(|l| l.error.is_none() && probe(l.addr));
        all_up &= up;
        let word = if up { "Running" } else { "Stopped" };
        println!("\t{service:<24}{word}");
        if pid.is_some() {
            for l in mine.iter().filter(|l| l.error.is_some()) {
                let why = l.error.as_deref().unwrap_or_default();
                println!("\t\t{} on {} is not listening: {why}", l.protocol, l.addr);
            }
        }
    }
    Ok(all_up)
}
