//! `zmprov`: provisioning from the command line. See `zcs_server::zmprov`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use zcs_server::bootstrap;
use zcs_server::home::Home;
use zcs_server::zmprov::{self, COMMANDS, Outcome, split_line};

/// Options that take a value (`zmprov -s host ...`).
const VALUE_OPTS: &[&str] = &[
    "-s",
    "--server",
    "-a",
    "--account",
    "-p",
    "--password",
    "-P",
    "--passfile",
    "-y",
    "--authtoken",
    "-Y",
    "-f",
    "--file",
    "-L",
    "--logpropertyfile",
];
/// Options that stand alone.
const FLAG_OPTS: &[&str] = &[
    "-l",
    "--ldap",
    "-z",
    "--zadmin",
    "-v",
    "--verbose",
    "-d",
    "--debug",
    "-m",
    "--master",
    "-r",
    "--replace",
];

fn usage() -> String {
    let mut s = String::from(
        "zmprov [args] [cmd] [cmd-args ...]\n\n  -h/--help  display usage\n  \
         -f/--file  use file as input stream\n  -l/--ldap  provision via the directory \
         (always, for now)\n\n",
    );
    for c in COMMANDS {
        s.push_str(&format!("  {}({}) {}\n", c.long, c.short, c.usage));
    }
    s
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    zcs_server::private_umask();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut file = None;
    let mut i = 0;
    while i < argv.len() && argv[i].starts_with('-') {
        let opt = argv[i].as_str();
        if opt == "-h" || opt == "--help" {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        } else if VALUE_OPTS.contains(&opt) {
            if i + 1 >= argv.len() {
                eprintln!("zmprov: option {opt} needs a value");
                return ExitCode::from(1);
            }
            if opt == "-f" || opt == "--file" {
                file = Some(argv[i + 1].clone());
            }
            i += 2;
        } else if FLAG_OPTS.contains(&opt) {
            i += 1;
        } else {
            eprintln!("zmprov: unknown option {opt}\n{}", usage());
            return ExitCode::from(1);
        }
    }
    let words = &argv[i..];

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

    if !words.is_empty() {
        return run_one(&prov, words).await;
    }
    let interactive = file.is_none();
    let input: Box<dyn BufRead> = match &file {
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
        if run_one(&prov, &words).await != ExitCode::SUCCESS {
            status = ExitCode::from(2);
        }
    }
    status
}

async fn run_one(prov: &zcs_directory::Provisioning, words: &[String]) -> ExitCode {
    let mut stdout = std::io::stdout();
    match zmprov::run(prov, words, &mut stdout).await {
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
