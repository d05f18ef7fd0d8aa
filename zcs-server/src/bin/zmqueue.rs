//! `zmqueue`: list and manage the mail queue of this zcs home (`$ZCS_HOME/data/mta/queue`),
//! like Postfix's `mailq`, `postcat -q`, `postsuper` and `qshape`. The commands live in
//! `zcs_mta::queue::cli`; this binary only forwards its arguments and prints the result.

use std::process::ExitCode;

use zcs_mta::queue::cli::{self, CliError};

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = cli::queue_dir_from_env().and_then(|dir| cli::run(&args, &dir));
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(CliError::Usage(usage)) => {
            eprintln!("{usage}");
            ExitCode::from(64)
        }
        Err(e) => {
            eprintln!("zmqueue: {e}");
            ExitCode::from(1)
        }
    }
}
