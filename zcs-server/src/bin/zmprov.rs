//! `zmprov`: provisioning from the command line. See `zcs_server::zmprov`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use zcs_server::bootstrap;
use zcs_server::home::Home;
use zcs_server::zmprov::session::{self, Session, SessionError};
use zcs_server::zmprov::{self, COMMANDS, Outcome, options, split_line};

fn usage() -> String {
    let mut s = String::from(
        "zmprov [args] [cmd] [cmd-args ...]\n\n  -h/--help  display usage\n  \
         -f/--file  use file as input stream\n  -l/--ldap  provision via the directory \
         only: the running server sees the change after its cache max age or fc\n  \
         -a/--account {name}  authenticate as this admin (through the running server); \
         a delegated admin runs only what its grants allow\n  \
         -p/--password {pass}  the admin's password\n  \
         -P/--passfile {file}  read the password from a file\n  \
         -s/--server {host}[:{port}]  this home's server (others cannot be reached)\n  \
         -z/--zadmin  as this home's local admin\n\n",
    );
    for c in COMMANDS {
        s.push_str(&format!("  {}({}) {}\n", c.long, c.short, c.usage));
    }
    s
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let opts = match options::parse(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("zmprov: {e}\n{}", usage());
            return ExitCode::from(1);
        }
    };
    if opts.help {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let words = &argv[opts.first_word..];
    let file = opts.file.clone();
    // -l: change the directory only, as Zimbra's LDAP mode does; the running server's
    // cache then sees the change after its max age or a flushCache.
    let direct = opts.direct;

    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("ERROR: service.FAILURE ({e})");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = zcs_server::privdrop::drop_for_tool(&home) {
        eprintln!("ERROR: service.FAILURE ({e})");
        return ExitCode::from(2);
    }
    // Admin changes leave a line in audit.log; nothing else of zmprov's is logged.
    zcs_server::logging::init_with(
        Some(&home.log()),
        "warn,zimbra.security=info",
        zcs_server::logging::DEFAULT_RETENTION_DAYS,
        false,
    );
    let prov = match bootstrap::open_provisioning(&home).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", zmprov::format_fault(&e));
            return ExitCode::from(2);
        }
    };

    let session = match session::open(&home, &prov, &opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(match e {
                SessionError::Auth(_) => 2,
                SessionError::Refused(_) => 1,
            });
        }
    };
    let admin = session.as_ref().and_then(|s| s.admin.clone());
    let status = run_all(
        &prov,
        words,
        file.as_deref(),
        direct,
        admin.as_deref(),
        &session,
    )
    .await;
    if let Some(s) = session {
        s.close(&prov).await;
    }
    status
}

/// Runs the command on the command line, or every line of `file` (stdin without one),
/// then flushes the running server's cache after changes (unless `direct`).
async fn run_all(
    prov: &zcs_directory::Provisioning,
    words: &[String],
    file: Option<&str>,
    direct: bool,
    admin: Option<&str>,
    session: &Option<Session>,
) -> ExitCode {
    if !words.is_empty() {
        let status = run_one(prov, words, admin, session).await;
        if !direct && changes(words) {
            flush_server(prov, session).await;
        }
        return status;
    }
    let interactive = file.is_none();
    let input: Box<dyn BufRead> = match file {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("zmprov: {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let mut status = ExitCode::SUCCESS;
    let mut changed = false;
    let mut lines = input.lines();
    loop {
        if interactive {
            print!("prov> ");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else { break };
        let words = split_line(&line);
        match words.first().map(String::as_str) {
            None => continue,
            Some(w) if w.starts_with('#') => continue,
            Some("exit" | "quit") => break,
            _ => {}
        }
        if run_one(prov, &words, admin, session).await != ExitCode::SUCCESS {
            status = ExitCode::from(2);
        }
        changed |= changes(&words);
    }
    if changed && !direct {
        flush_server(prov, session).await;
    }
    status
}

/// Whether a command line may have changed the directory (so the running server's
/// cache must drop what it holds). `flushCache` flushes by itself.
fn changes(words: &[String]) -> bool {
    words
        .first()
        .and_then(|w| zmprov::find_command(w))
        .is_some_and(|c| !reads_only(c.long) && !c.long.eq_ignore_ascii_case("flushCache"))
}

/// Asks the server running on this home to flush its whole directory cache, so the
/// changes just made are seen at once (Zimbra's zmprov makes them through the server):
/// as the session's admin when there is one.
async fn flush_server(prov: &zcs_directory::Provisioning, session: &Option<Session>) {
    // A delegated admin holds no flushCache right: its changes are flushed as the
    // local admin, as without a session.
    if let Some(s) = session.as_ref().filter(|s| s.delegated.is_none()) {
        if let Err(e) = s.flush_all().await {
            eprintln!("zmprov: warning: the running server's cache was not flushed ({e})");
        }
        return;
    }
    if let Err(e) = zmprov::cache::flush_running_server(prov, "all", false, &[]).await {
        eprintln!("zmprov: warning: the running server's cache was not flushed ({e})");
    }
}

/// Whether a zmprov command only reads (its audit line is not worth writing).
fn reads_only(long: &str) -> bool {
    let l = long.to_ascii_lowercase();
    ["get", "desc", "help", "search", "count", "check"]
        .iter()
        .any(|p| l.starts_with(p))
}

/// The audit line of an admin change made with zmprov: the command and its target
/// (the first argument: an account, domain, COS or server name; never the rest,
/// which may hold a password), and the admin authenticated with `-a`, if any.
fn audit(words: &[String], outcome: &str, admin: Option<&str>) {
    let Some(cmd) = words.first().and_then(|w| zmprov::find_command(w)) else {
        return;
    };
    if reads_only(cmd.long) {
        return;
    }
    let target = words.get(1).map(String::as_str).unwrap_or("");
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_default();
    tracing::info!(target: "zimbra.security", cmd = cmd.long, name = target, via = "zmprov",
        ua = %user, account = admin.unwrap_or(""), result = outcome, "admin change");
}

async fn run_one(
    prov: &zcs_directory::Provisioning,
    words: &[String],
    admin: Option<&str>,
    session: &Option<Session>,
) -> ExitCode {
    let mut stdout = std::io::stdout();
    let delegated = session.as_ref().and_then(|s| s.delegated.as_ref());
    let result = zmprov::run_as(prov, delegated, words, &mut stdout).await;
    match &result {
        Ok(Outcome::Done) => audit(words, "ok", admin),
        Ok(Outcome::Fault(e)) => audit(words, &e.code.to_string(), admin),
        _ => {}
    }
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Usage(cmd)) => {
            eprintln!("  {}({}) {}", cmd.long, cmd.short, cmd.usage);
            ExitCode::from(1)
        }
        Ok(Outcome::Fault(e)) => {
            eprintln!("{}", zmprov::format_fault(&e));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("zmprov: {e}");
            ExitCode::from(1)
        }
    }
}
