//! `zmarchiveconfig`: archiving on and off for an account. See
//! `zcs_server::zmarchiveconfig`. Options are zmprov's (`-h -s -a -l -p -P -z -d`, spec
//! 06 §4.2), read and checked by `zmprov::options`; the admin session and the flush of
//! the running server's cache after the change are zmprov's too.

use std::process::ExitCode;

use zcs_server::zmarchiveconfig::{self, USAGE};
use zcs_server::zmprov::session;
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
    let session::ToolStart { prov, session } = match session::start_tool(&opts).await {
        Ok(t) => t,
        Err(code) => return code,
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
                session::flush_after_change(&prov, &session, "zmarchiveconfig").await;
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
