//! `zmprov`'s free/busy provider commands (spec/06 §2.4): `getAllFbp gafbp`,
//! `getFreebusyQueueInfo gfbqi`, `pushFreebusy pfb`, `pushFreebusyDomain pfbd` and
//! `purgeFreebusyQueue pfbg`. Zimbra pushes free/busy to external providers (Exchange)
//! through per-provider queues. zcs registers no external provider: free/busy is served
//! from the calendar itself (`GetFreeBusyRequest`, REST `fmt=ifb`). So the list and the
//! queues are empty, a push checks its targets and has nowhere to go, and naming a
//! provider is refused as an unknown one.
//!
//! LIMITATION: no external free/busy provider (Exchange 2007+ by EWS, or WebDAV) exists
//! in zcs; scripts that push free/busy to Exchange get nothing pushed.

use zcs_core::ServiceError;
use zcs_directory::{EntryKey, Provisioning};

use super::commands::CmdError;

/// The fault for a provider name: none is registered.
fn no_such_provider(name: &str) -> CmdError {
    ServiceError::invalid_request(format!("no such free/busy provider: {name}")).into()
}

/// `gafbp [-v]`: every registered provider, one per line: none.
pub(super) async fn get_all(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    match a.first().map(String::as_str) {
        None | Some("-v") => Ok(String::new()),
        Some(_) => Err(CmdError::Usage),
    }
}

/// `gfbqi [{provider}]` and `pfbg [{provider}]`: each provider's queue (none), or
/// the named provider's, which does not exist.
pub(super) async fn queue(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    match a.first() {
        None => Ok(String::new()),
        Some(name) => Err(no_such_provider(name)),
    }
}

/// `pfb {domain | account-id} [account-id...]`: checks every target exists (a domain
/// first, else accounts); prints nothing.
pub(super) async fn push(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    if a.len() == 1 && !a[0].contains('@') && a[0].parse::<zcs_core::ZimbraId>().is_err() {
        p.get_domain(&EntryKey::Name(a[0].clone())).await?;
        return Ok(String::new());
    }
    for key in a {
        p.get_account(key).await?;
    }
    Ok(String::new())
}

/// `pfbd {domain}`: checks the domain exists; prints nothing.
pub(super) async fn push_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.get_domain(&EntryKey::parse(&a[0])).await?;
    Ok(String::new())
}
