//! `zmtrainsa [--cleanup]`: asks the running server to teach the spam and ham training
//! mailboxes to spamd now (or, with `--cleanup`, to empty the trained messages), waits
//! for the run and prints its line of `log/spamtrain.log`. The server also runs both
//! every night (23:00 and 23:45).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use zcs_server::home::Home;

fn main() -> ExitCode {
    let cleanup = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--cleanup") => true,
        Some("-h" | "--help") => {
            println!("usage: zmtrainsa [--cleanup]");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("zmtrainsa: unknown argument {other}\nusage: zmtrainsa [--cleanup]");
            return ExitCode::from(1);
        }
    };
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zmtrainsa: {e}");
            return ExitCode::from(1);
        }
    };
    if zcs_server::control::running_pid(&home).is_none() {
        eprintln!("zmtrainsa: the server is not running (zmcontrol start)");
        return ExitCode::from(1);
    }
    let log = home.log().join("spamtrain.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    let job = if cleanup {
        "zmtrainsa --cleanup"
    } else {
        "zmtrainsa"
    };
    if let Err(e) = zcs_server::jobs::request(&home, job) {
        eprintln!("zmtrainsa: {e}");
        return ExitCode::from(1);
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.len() > before {
            print!("{}", &text[before..]);
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("zmtrainsa: no result after 5 minutes; see mailbox.log");
    ExitCode::from(1)
}
