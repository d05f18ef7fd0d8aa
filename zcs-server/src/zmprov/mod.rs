//! `zmprov`: the provisioning command line. Parses one command (long or short name,
//! case-insensitive), runs it against [`Provisioning`] and prints Zimbra's output
//! format: created entries print their `zimbraId`; get commands print `# name <name>`
//! followed by `attr: value` lines, one per value, in attribute-name order, limited by
//! trailing `attr` or `attr=value` words (see `format_entry`).
//!
//! Commands talk to the directory directly, as Zimbra's `zmprov -l` does. Without `-l`
//! the running server's cache is flushed after a change. `-a`/`-p`/`-P`, `-s` and `-z`
//! authenticate through the running server's admin port first ([`session`]); how options
//! combine, and which are refused, is [`options`]; what a delegated admin may run is
//! [`gate`].

pub mod accts;
mod auth;
mod autoprov;
pub mod cache;
mod children;
mod commands;
mod counts;
mod describe;
mod extra;
mod freebusy;
pub mod gate;
mod lists;
mod loggers;
mod mailbox;
pub mod options;
mod proxy;
mod resources;
mod rights;
mod rights_doc;
mod search;
mod select;
pub mod session;
mod shares;
mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_config_ideas;
#[cfg(test)]
mod tests_more;
#[cfg(test)]
mod tests_rights_doc;
#[cfg(test)]
mod tests_spec06;
mod words;

use std::io::Write;
use std::sync::OnceLock;

use zcs_core::ServiceError;
use zcs_directory::Provisioning;

pub use commands::{COMMANDS, Command, find_command};
pub use words::split_line;

/// Whether this run is `zmprov -l`, once the binary has said so.
static DIRECT_MODE: OnceLock<bool> = OnceLock::new();

/// Records whether this process runs `zmprov -l` (the directory only), for the few
/// commands that answer differently without the running server (`autoProvControl`,
/// `getShareInfo`). The first call wins.
pub fn set_direct_mode(direct: bool) {
    let _ = DIRECT_MODE.set(direct);
}

/// Whether this run is `zmprov -l`: what [`set_direct_mode`] recorded, else what the
/// `zmprov` binary's own command line says (any other program, a test for one, is
/// not in direct mode).
pub(crate) fn direct_mode() -> bool {
    *DIRECT_MODE.get_or_init(|| {
        let mut args = std::env::args();
        let is_zmprov = args
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .is_some_and(|f| f == "zmprov");
        let rest: Vec<String> = args.collect();
        is_zmprov && options::parse(&rest).is_ok_and(|o| o.direct)
    })
}

/// What a command run came to.
#[derive(Debug)]
pub enum Outcome {
    /// The command ran.
    Done,
    /// The arguments were wrong: print the command's usage.
    Usage(&'static Command),
    /// The command failed with a fault.
    Fault(ServiceError),
}

/// Runs one command line (already split into words) and writes its output to `out`.
///
/// # Errors
/// Only a failure to write to `out`; command failures come back as [`Outcome`].
pub async fn run(
    prov: &Provisioning,
    words: &[String],
    out: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let Some((name, args)) = words.split_first() else {
        return Ok(Outcome::Done);
    };
    let Some(cmd) = find_command(name) else {
        return Ok(Outcome::Fault(ServiceError::invalid_request(format!(
            "unknown command: {name}; try zmprov help"
        ))));
    };
    if args.len() < cmd.min_args || cmd.max_args.is_some_and(|m| args.len() > m) {
        return Ok(Outcome::Usage(cmd));
    }
    if let Some(e) = empty_attr_value(cmd, args) {
        return Ok(Outcome::Fault(e));
    }
    match (cmd.run)(prov, args).await {
        Ok(text) => {
            out.write_all(text.as_bytes())?;
            Ok(Outcome::Done)
        }
        Err(commands::CmdError::Usage) => Ok(Outcome::Usage(cmd)),
        Err(commands::CmdError::Fault(e)) => Ok(Outcome::Fault(e)),
        Err(commands::CmdError::Partial(text, e)) => {
            out.write_all(text.as_bytes())?;
            Ok(Outcome::Fault(e))
        }
    }
}

/// The get commands whose trailing words name attributes (`attr` or `attr=value`),
/// with the number of words before them.
const ATTR_FILTERS: &[(&str, usize)] = &[
    ("getAccount", 1),
    ("getCalendarResource", 1),
    ("getCos", 1),
    ("getDomain", 1),
    ("getDomainInfo", 2),
    ("getServer", 1),
    ("getDistributionList", 1),
    ("getConfig", 0),
    ("getAllConfig", 0),
];

/// Zimbra's fault for an `attr=` filter with nothing after the `=`:
/// `service.INVALID_REQUEST (missing value for attr=)`.
fn empty_attr_value(cmd: &Command, args: &[String]) -> Option<ServiceError> {
    let skip = ATTR_FILTERS.iter().find(|(n, _)| *n == cmd.long)?.1;
    args.iter()
        .skip(skip)
        .find(|w| w.len() > 1 && w.ends_with('=') && w.matches('=').count() == 1)
        .map(|w| ServiceError::invalid_request(format!("missing value for {w}")))
}

/// Runs one command line as `admin` (the `-a` account, `None` for the local admin or
/// direct mode): a delegated admin runs only what its grants allow ([`gate`]), and is
/// refused with `service.PERM_DENIED` otherwise, before anything changes.
///
/// # Errors
/// Only a failure to write to `out`; command failures come back as [`Outcome`].
pub async fn run_as(
    prov: &Provisioning,
    admin: Option<&zcs_core::Entry>,
    words: &[String],
    out: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let counted = words.split_first().and_then(|(name, args)| {
        let cmd = find_command(name)?;
        let ok = args.len() >= cmd.min_args && cmd.max_args.is_none_or(|m| args.len() <= m);
        ok.then_some(cmd)
    });
    if let (Some(admin), Some(_)) = (admin, counted)
        && let Err(e) = gate::authorize(prov, admin, words).await
    {
        return Ok(Outcome::Fault(e));
    }
    run(prov, words, out).await
}

/// Zimbra's one-line error form: `ERROR: account.NO_SUCH_ACCOUNT (no such account: x)`.
pub fn format_fault(e: &ServiceError) -> String {
    format!("ERROR: {} ({})", e.code, e.message)
}
