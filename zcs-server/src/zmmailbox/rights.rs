//! `zmmailbox`'s right (grant) commands (spec/06 §3.1).
//!
//! LIMITATION: no command of this family is offered yet.

use super::Outcome;
use crate::search::remote::Remote;

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = "";

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    _session: &Remote,
    _mailbox: &str,
    _cmd: &str,
    _args: &[String],
) -> Option<Result<Outcome, String>> {
    None
}
