//! `zmarchiveconfig`: archiving on and off for an account. See
//! `zcs_server::zmarchiveconfig`. Options are zmprov's (`-h -s -a -l -p -P -z -d`, spec
//! 06 §4.2), read and checked by `zmprov::options`; the admin session and the flush of
//! the running server's cache after the change are zmprov's too.

use std::process::ExitCode;

use zcs_server::bootstrap;
use zcs_server::home::Home;
use zcs_server::zmarchiveconfig::{self, USAGE};
use zcs_server::zmprov::session::{self, SessionError};
use zcs_server::zmprov::{self, options};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let opts = match options::parse(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("zmarchiveconfig: {e}\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    if opts.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if opts.file.is_some() {
        eprintln!("zmarchiveconfig: -f is zmprov's, not an option here\n{USAGE}");
        return ExitCode::from(1);
    }
    let cmd = match zmarchiveconfig::parse(&argv[opts.first_word..]) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zmarchiveconfig: {e}\n{USAGE}");
            return ExitCode::from(1);
        }
    };
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
    // Archiving changes accounts and may create one: a global admin's work.
    if session.as_ref().is_some_and(|s| s.delegated.is_some()) {
        eprintln!(
            "ERROR: service.PERM_DENIED (permission denied: zmarchiveconfig needs a global admin)"
        );
        if let Some(s) = session {
            s.close(&prov).await;
        }
        return ExitCode::from(2);
    }
    let now = chrono::Local::now().naive_local();
    let status = match zmarchiveconfig::run(&prov, &cmd, now).await {
        Ok(done) => {
            let mut out = std::io::stdout();
            let _ = zmarchiveconfig::print(&done, &mut out);
            if !opts.direct {
                flush(&prov, &session).await;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", zmprov::format_fault(&e));
            ExitCode::from(2)
        }
    };
    if let Some(s) = session {
        s.close(&prov).await;
    }
    status
}

/// Drops the running server's cached entries so it sees the change now, as zmprov does
/// after a change (a warning when the server cannot be reached).
async fn flush(prov: &zcs_directory::Provisioning, session: &Option<session::Session>) {
    let result = match session {
        Some(s) => s.flush_all().await,
        None => zmprov::cache::flush_running_server(prov, "all", false, &[])
            .await
            .map(drop),
    };
    if let Err(e) = result {
        eprintln!("zmarchiveconfig: warning: the running server's cache was not flushed ({e})");
    }
}
