//! `zmaccts`: the account status report (every account with its status, creation
//! time and last login, then a per-domain count by status), read from the directory of
//! this zcs home. See `zcs_server::zmprov::accts`.

use std::io::Write;
use std::process::ExitCode;

use zcs_server::bootstrap;
use zcs_server::home::Home;
use zcs_server::zmprov;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        if a == "-h" || a == "--help" {
            println!(
                "usage: zmaccts\n\nLists every account with its status, creation time \
                      and last login, then a summary of each domain's accounts by status."
            );
            return ExitCode::SUCCESS;
        }
        eprintln!("usage: zmaccts (takes no arguments)");
        return ExitCode::from(1);
    }
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
    let prov = match bootstrap::open_provisioning(&home).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", zmprov::format_fault(&e));
            return ExitCode::from(2);
        }
    };
    match zmprov::accts::report(&prov).await {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", zmprov::format_fault(&e));
            ExitCode::from(2)
        }
    }
}
