//! `zmmailbox`'s commands outside the core command table: Zimbra's "admin" topic
//! command `adminAuthenticate aa` (logs the session in again through the admin service,
//! with no mailbox selected until `sm`) and the
//! contact topic's address completion, `autoComplete ac` and `autoCompleteGal acg`,
//! whose work is done in `contacts`. `selectMailbox sm`, the other admin command, is in
//! the core table.
//!
//! LIMITATION: `aa`'s `-u {url}` is not taken: the session stays on this home's server.

use super::{Outcome, contacts};
use crate::search::remote::Remote;

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = concat!(
    "  adminAuthenticate(aa)        {admin-name} {admin-password}\n",
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
        "adminAuthenticate" | "aa" => match args {
            [name, password] => Ok(Outcome::Login {
                account: name.clone(),
                password: password.clone(),
                mailbox: String::new(),
                admin: true,
            }),
            _ => Err("usage: adminAuthenticate(aa) {admin-name} {admin-password}".into()),
        },
        _ => return None,
    })
}
