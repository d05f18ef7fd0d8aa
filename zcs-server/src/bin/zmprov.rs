//! `zmprov`: provisioning from the command line. See `zcs_server::zmprov`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use zcs_server::zmprov::session::{self, Session};
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
        s.push_str(format!("  {}({}) {}", c.long, c.short, c.usage).trim_end());
        s.push('\n');
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
    zmprov::set_direct_mode(direct);

    let session::ToolStart { prov, session } = match session::start_tool(&opts).await {
        Ok(t) => t,
        Err(code) => return code,
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
            session::flush_after_change(prov, session, "zmprov").await;
        }
        return status;
    }
    let interactive = file.is_none();
    let mut input: Box<dyn BufRead> = match file {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("zmprov: {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let mut io = Io {
        out: &mut stdout,
        err: &mut stderr,
    };
    let (status, changed) =
        run_lines(prov, &mut *input, interactive, admin, session, &mut io).await;
    if changed && !direct {
        session::flush_after_change(prov, session, "zmprov").await;
    }
    status
}

/// Where a command's output and errors go.
struct Io<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

/// Runs every command line of `input` (batch mode: `-f FILE`, or stdin), printing the
/// `prov> ` prompt before each when `interactive`. Empty lines and `#` comments are
/// skipped; `exit` or `quit` ends. Returns the exit status (2 when any command failed)
/// and whether any command may have changed the directory.
async fn run_lines(
    prov: &zcs_directory::Provisioning,
    input: &mut dyn BufRead,
    interactive: bool,
    admin: Option<&str>,
    session: &Option<Session>,
    io: &mut Io<'_>,
) -> (ExitCode, bool) {
    let mut status = ExitCode::SUCCESS;
    let mut changed = false;
    let mut line = String::new();
    loop {
        if interactive {
            let _ = write!(io.out, "prov> ");
            let _ = io.out.flush();
        }
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let words = split_line(line.trim_end_matches(['\n', '\r']));
        match words.first().map(String::as_str) {
            None => continue,
            Some(w) if w.starts_with('#') => continue,
            Some("exit" | "quit") => break,
            _ => {}
        }
        if run_one_to(prov, &words, admin, session, io).await != ExitCode::SUCCESS {
            status = ExitCode::from(2);
        }
        changed |= changes(&words);
    }
    (status, changed)
}

/// Whether a command line may have changed the directory (so the running server's
/// cache must drop what it holds). `flushCache` flushes by itself; `selectMailbox`
/// changes a mailbox through the server, never the directory.
fn changes(words: &[String]) -> bool {
    words
        .first()
        .and_then(|w| zmprov::find_command(w))
        .is_some_and(|c| {
            !reads_only(c.long)
                && !c.long.eq_ignore_ascii_case("flushCache")
                && !c.long.eq_ignore_ascii_case("selectMailbox")
        })
}

/// Whether a zmprov command only reads (its audit line is not worth writing).
fn reads_only(long: &str) -> bool {
    let l = long.to_ascii_lowercase();
    [
        "get",
        "desc",
        "help",
        "search",
        "count",
        "check",
        "sync",
        "autocomplete",
    ]
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
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let mut io = Io {
        out: &mut stdout,
        err: &mut stderr,
    };
    run_one_to(prov, words, admin, session, &mut io).await
}

/// Runs one command line, its output to `io.out` and its fault or usage to `io.err`.
async fn run_one_to(
    prov: &zcs_directory::Provisioning,
    words: &[String],
    admin: Option<&str>,
    session: &Option<Session>,
    io: &mut Io<'_>,
) -> ExitCode {
    let delegated = session.as_ref().and_then(|s| s.delegated.as_ref());
    let result = zmprov::run_as(prov, delegated, words, &mut *io.out).await;
    match &result {
        Ok(Outcome::Done) => audit(words, "ok", admin),
        Ok(Outcome::Fault(e)) => audit(words, &e.code.to_string(), admin),
        _ => {}
    }
    let _ = io.out.flush();
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Usage(cmd)) => {
            let _ = writeln!(io.err, "  {}({}) {}", cmd.long, cmd.short, cmd.usage);
            ExitCode::from(1)
        }
        Ok(Outcome::Fault(e)) => {
            let _ = writeln!(io.err, "{}", zmprov::format_fault(&e));
            ExitCode::from(2)
        }
        Err(e) => {
            let _ = writeln!(io.err, "zmprov: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};

    use super::*;

    #[test]
    fn reads_do_not_flush_the_server() {
        let w = |s: &str| split_line(s);
        for line in [
            "syg ex.test",
            "acg ex.test a",
            "cta ex.test",
            "gdi name ex.test",
            "desc",
        ] {
            assert!(!changes(&w(line)), "{line}");
        }
        for line in [
            "sac a@ex.test c",
            "ds s",
            "cabulk ex.test u 1",
            "fc all",
            "sm a gaf",
        ] {
            assert_eq!(
                changes(&w(line)),
                !["fc all", "sm a gaf"].contains(&line),
                "{line}"
            );
        }
    }

    /// Batch input as zmprov reads it from stdin: comments and blank lines skipped,
    /// each command's output in order, a failing line does not stop the batch but
    /// makes the exit status 2, `exit` ends the input.
    #[tokio::test]
    async fn batch_input_runs_every_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
            .await
            .expect("open");
        let prov = Provisioning::new(Arc::new(dir), AuthRegistry::new());
        let input = "# a batch\n\ncd ex.test\nca a@ex.test Passw0rd!\n\
                     ga a@ex.test zimbraAccountStatus\nga nobody@ex.test\n\
                     CreateAccount 'b@ex.test' \"Passw0rd!\" displayName \"B B\"\n\
                     ga b@ex.test displayName\nexit\nca c@ex.test Passw0rd!\n";
        let mut reader = std::io::Cursor::new(input.as_bytes());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            out: &mut out,
            err: &mut err,
        };
        let (status, changed) = run_lines(&prov, &mut reader, false, None, &None, &mut io).await;
        assert_eq!(status, ExitCode::from(2));
        assert!(changed);
        let out = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 7, "{out}");
        assert_eq!(lines[0].len(), 36, "domain id");
        assert_eq!(lines[1].len(), 36, "account id");
        assert_eq!(lines[2], "# name a@ex.test");
        assert_eq!(lines[3], "zimbraAccountStatus: active");
        assert_eq!(lines[4].len(), 36);
        assert_eq!(&lines[5..], ["# name b@ex.test", "displayName: B B"]);
        let err = String::from_utf8(err).expect("utf-8");
        assert_eq!(
            err,
            "ERROR: account.NO_SUCH_ACCOUNT (no such account: nobody@ex.test)\n"
        );
        assert!(
            prov.find_account("c@ex.test")
                .await
                .expect("find")
                .is_none()
        );

        // Interactive input prompts before every line.
        let mut reader = std::io::Cursor::new(b"gad\n".as_slice());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            out: &mut out,
            err: &mut err,
        };
        let (status, changed) = run_lines(&prov, &mut reader, true, None, &None, &mut io).await;
        assert_eq!((status, changed), (ExitCode::SUCCESS, false));
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "prov> ex.test\nprov> "
        );
    }
}
