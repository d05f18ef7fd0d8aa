//! `zmmailbox`'s commands outside the core command table: Zimbra's "admin" topic
//! command `adminAuthenticate aa` (refused with the way to get the same session) and the
//! contact topic's address completion, `autoComplete ac` and `autoCompleteGal acg`,
//! whose work is done in `contacts`. `selectMailbox sm`, the other admin command, is in
//! the core table.
//!
//! LIMITATION: `aa {admin} {password}` would switch the running session to an admin
//! login; the tool's session switch (`Outcome::Login`) logs in as a user only, so `aa`
//! tells the operator to start the tool with `-a NAME -p PASS -A` (or `-z`) instead.

use super::{Outcome, contacts};
use crate::search::remote::Remote;

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = concat!(
    "  adminAuthenticate(aa)        {admin-name} {admin-password}\n",
    "    (not in a running session: start zmmailbox with -z, or -a NAME -p PASS -A)\n",
    "\n",
    "  autoComplete(ac)             [opts] {query}\n",
    "    -v/--verbose                 verbose output\n",
    "\n",
    "  autoCompleteGal(acg)         [opts] {query}\n",
    "    -v/--verbose                 verbose output\n",
);

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    session: &Remote,
    mailbox: &str,
    cmd: &str,
    args: &[String],
) -> Option<Result<Outcome, String>> {
    Some(match cmd {
        "autoComplete" | "ac" => contacts::auto_complete(session, mailbox, args).await,
        "autoCompleteGal" | "acg" => contacts::auto_complete_gal(session, mailbox, args).await,
        "adminAuthenticate" | "aa" => Err(
            "zclient.CLIENT_ERROR: adminAuthenticate is not offered in a running session; \
             start zmmailbox with -z, or with -a {admin-name} -p {password} -A"
                .into(),
        ),
        _ => return None,
    })
}
