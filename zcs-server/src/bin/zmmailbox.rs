//! `zmmailbox [-z | -a NAME -p PASS | -m NAME -p PASS] [-m MAILBOX] [-A] [-f FILE] [CMD ...]`:
//! mailbox management from the command line (admin guide CLI appendix, spec/06 §3.1).
//! Talks to the running server of this home over its admin port, which answers mail
//! requests too: `-z` as the home's administrator (a short-lived token the tool mints
//! from the directory and revokes at the end), otherwise as the account whose password
//! is given. With no command, commands are read one per line from `-f FILE` or from
//! standard input (`sm NAME` switches mailbox, `exit` ends). The commands themselves are
//! in `zcs_server::zmmailbox`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use zcs_server::home::Home;
use zcs_server::search::remote::Remote;
use zcs_server::zmmailbox::{self, Outcome};

/// Mailbox commands against the running server.
#[derive(Parser)]
#[command(name = "zmmailbox", disable_help_flag = true)]
struct Args {
    /// Usage.
    #[arg(short = 'h', long = "help")]
    help: bool,
    /// Authenticate as the home's administrator (no password needed).
    #[arg(short = 'z', long = "zadmin")]
    zadmin: bool,
    /// Account to authenticate as (defaults to the mailbox).
    #[arg(short = 'a', long = "account", alias = "auth")]
    account: Option<String>,
    /// Mailbox to open.
    #[arg(short = 'm', long = "mailbox")]
    mailbox: Option<String>,
    /// Log in with admin privilege (an admin token from the admin AuthRequest).
    #[arg(short = 'A', long = "admin-priv")]
    admin_priv: bool,
    /// Password of the account.
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// File holding the password.
    #[arg(short = 'P', long = "passfile")]
    passfile: Option<std::path::PathBuf>,
    /// File of commands, one per line.
    #[arg(short = 'f', long = "file")]
    file: Option<std::path::PathBuf>,
    /// Server URL (only this home's server is reached; accepted for compatibility).
    #[arg(short = 'u', long = "url")]
    url: Option<String>,
    /// Print more.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args = Args::parse();
    if args.help {
        println!(
            "usage: zmmailbox [-z | -a name -p password] [-m mailbox] [-A] [-f file] \
             [command ...]\n\ncommands:\n{}",
            zmmailbox::help_text()
        );
        return ExitCode::SUCCESS;
    }
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ERROR: {}", shown(&e));
            ExitCode::from(1)
        }
    }
}

/// `code: reason` as Zimbra's tools print a fault, `code (reason)`.
fn shown(e: &str) -> String {
    match e.split_once(": ") {
        Some((code, why)) if code.contains('.') && !code.contains(' ') => {
            format!("{code} ({why})")
        }
        _ => e.to_string(),
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let home = Home::from_env().map_err(|e| e.to_string())?;
    if zcs_server::control::running_pid(&home).is_none() {
        return Err("the server is not running (start it with zmcontrol start)".into());
    }
    if args.url.is_some() && args.verbose {
        eprintln!("zmmailbox: -u ignored: this home's own server is used");
    }
    let password = match (&args.password, &args.passfile) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("{}: {e}", f.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        (None, None) => None,
    };
    let mut prov = None;
    let session = if args.zadmin {
        let p = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        let s = Remote::open(&home, &p).await?;
        prov = Some(p);
        s
    } else {
        let who = args
            .account
            .clone()
            .or_else(|| args.mailbox.clone())
            .ok_or("give -z, or an account (-a or -m) and its password")?;
        let pass = password.ok_or("a password is needed (-p or -P) unless -z is given")?;
        Remote::login(&home, &who, &pass, args.admin_priv).await?
    };
    let mut mailbox = args
        .mailbox
        .clone()
        .or(args.account.clone())
        .unwrap_or_default();
    let mut shell = zmmailbox::Shell::new();
    let mut session = session;

    let ok = if args.command.is_empty() {
        let reader: Box<dyn BufRead> = match &args.file {
            Some(f) => Box::new(std::io::BufReader::new(
                std::fs::File::open(f).map_err(|e| format!("{}: {e}", f.display()))?,
            )),
            None => Box::new(std::io::stdin().lock()),
        };
        let prompt = args.file.is_none() && std::io::stdin().is_terminal();
        let mut all_ok = true;
        let mut lines = reader.lines();
        loop {
            if prompt {
                print!("mbox {mailbox}> ");
                let _ = std::io::stdout().flush();
            }
            let Some(line) = lines.next() else { break };
            let line = line.map_err(|e| e.to_string())?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = match zmmailbox::split_words(line) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("ERROR: {e}");
                    all_ok = false;
                    continue;
                }
            };
            if words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("exit") || w.eq_ignore_ascii_case("quit"))
            {
                break;
            }
            let mut cur = Current {
                home: &home,
                prov: prov.as_ref(),
                session: &mut session,
                shell: &mut shell,
                mailbox: &mut mailbox,
            };
            all_ok &= one(&mut cur, &words).await;
        }
        all_ok
    } else {
        let mut cur = Current {
            home: &home,
            prov: prov.as_ref(),
            session: &mut session,
            shell: &mut shell,
            mailbox: &mut mailbox,
        };
        one(&mut cur, &args.command).await
    };
    session.close(prov.as_ref()).await;
    Ok(ok)
}

/// The state a command line runs in and may change.
struct Current<'a> {
    home: &'a Home,
    prov: Option<&'a zcs_directory::Provisioning>,
    session: &'a mut Remote,
    shell: &'a mut zmmailbox::Shell,
    mailbox: &'a mut String,
}

/// Runs one command, printing its output or its error; whether it succeeded.
async fn one(cur: &mut Current<'_>, words: &[String]) -> bool {
    let needs_mailbox = !words.first().is_some_and(|w| {
        [
            "help",
            "?",
            "sm",
            "selectmailbox",
            "a",
            "authenticate",
            "aa",
            "adminauthenticate",
            "exit",
            "quit",
        ]
        .contains(&w.to_ascii_lowercase().as_str())
    });
    if needs_mailbox && cur.mailbox.is_empty() {
        eprintln!("ERROR: no mailbox selected (-m or sm)");
        return false;
    }
    match zmmailbox::run(cur.session, cur.shell, cur.mailbox, words).await {
        Ok(Outcome::Print(s)) => {
            if !s.is_empty() {
                println!("{s}");
            }
            true
        }
        Ok(Outcome::Select(m)) => {
            *cur.mailbox = m;
            true
        }
        Ok(Outcome::Login {
            account,
            password,
            mailbox,
            admin,
        }) => match Remote::login(cur.home, &account, &password, admin).await {
            Ok(fresh) => {
                let old = std::mem::replace(cur.session, fresh);
                old.close(cur.prov).await;
                *cur.mailbox = mailbox;
                true
            }
            Err(e) => {
                eprintln!("ERROR: {}", shown(&e));
                false
            }
        },
        Err(e) => {
            eprintln!("ERROR: {}", shown(&e));
            false
        }
    }
}
