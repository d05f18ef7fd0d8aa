//! Fuzz target: the SMTP/LMTP command-line parser, `zcs_mta::parse_command`.
//!
//! Invariants checked, besides "never panics":
//! - `Display` of a parsed command is its canonical spelling, and parsing that text gives
//!   back an equal command (the contract written on `impl Display for Command`);
//! - the canonical spelling is one line (no CR or LF), so it can be sent as a command;
//! - `mail_params` over the parameters of `MAIL`/`RCPT` never panics.
//!
//! The private DATA dot-unstuffing reader and line reader of zcs-mta (`data::DotReader`,
//! `line::LineReader`) are `pub(crate)` and cannot be reached from here.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_mta::{Command, command::mail_params, parse_command};

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = parse_command(data) else {
        return;
    };
    let text = cmd.to_string();
    assert!(
        !text.contains(['\r', '\n']),
        "canonical spelling {text:?} of {cmd:?} spans lines"
    );
    let again = parse_command(text.as_bytes());
    assert_eq!(
        again.as_ref(),
        Ok(&cmd),
        "round trip through {text:?} changed the command"
    );
    if let Command::Mail { params, .. } | Command::Rcpt { params, .. } = &cmd {
        let _ = mail_params(params);
    }
});
