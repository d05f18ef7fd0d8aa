//! The account logger commands: `addAccountLogger` (aal), `getAccountLoggers` (gal),
//! `getAllAccountLoggers` (gaal), `removeAccountLogger` (ral) and `resetAllLoggers`
//! (rlog). They edit the home's `conf/account-loggers`, which the running server
//! applies within seconds (see `crate::account_loggers`). `-s server` is accepted for
//! Zimbra's syntax; only this server's loggers exist.

use zcs_directory::Provisioning;

use super::commands::CmdError;
use crate::account_loggers::{self, AccountLogger};
use crate::home::Home;

fn loggers_path() -> Result<std::path::PathBuf, CmdError> {
    let home = Home::from_env()
        .map_err(|e| CmdError::Fault(zcs_core::ServiceError::failure(e.to_string())))?;
    Ok(account_loggers::file(home.root()))
}

/// The arguments without a leading `-s server`.
fn without_server(a: &[String]) -> &[String] {
    match a.first().map(String::as_str) {
        Some("-s" | "--server") => a.get(2..).unwrap_or(&[]),
        _ => a,
    }
}

fn fault(message: String) -> CmdError {
    CmdError::Fault(zcs_core::ServiceError::invalid_request(message))
}

fn save(list: &[AccountLogger]) -> Result<(), CmdError> {
    account_loggers::write(&loggers_path()?, list)
        .map_err(|e| CmdError::Fault(zcs_core::ServiceError::failure(e.to_string())))
}

/// `aal [-s server] {name@domain|id} {logging-category} {trace|debug|info|warn|error}`
pub(super) async fn add(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let [account, category, level] = without_server(a) else {
        return Err(CmdError::Usage);
    };
    let entry = p.get_account(account).await?;
    let category = account_loggers::parse_category(category).map_err(fault)?;
    let level = account_loggers::parse_level(level).map_err(fault)?;
    let mut list = account_loggers::read(&loggers_path()?);
    let name = entry.name.to_ascii_lowercase();
    list.retain(|l| !(l.account == name && l.category == category));
    list.push(AccountLogger {
        account: name,
        category: category.to_string(),
        level,
    });
    save(&list)?;
    Ok(String::new())
}

/// `gal [-s server] {name@domain|id}`: one `zimbra.<category>=<level>` line each.
pub(super) async fn get(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let [account] = without_server(a) else {
        return Err(CmdError::Usage);
    };
    let name = p.get_account(account).await?.name.to_ascii_lowercase();
    Ok(account_loggers::read(&loggers_path()?)
        .iter()
        .filter(|l| l.account == name)
        .map(|l| format!("{}\n", l.display()))
        .collect())
}

/// `gaal [-s server]`: every account logger, `account=zimbra.<category>=<level>`.
pub(super) async fn get_all(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    if !without_server(a).is_empty() {
        return Err(CmdError::Usage);
    }
    Ok(account_loggers::read(&loggers_path()?)
        .iter()
        .map(|l| format!("{}={}\n", l.account, l.display()))
        .collect())
}

/// `ral [-s server] [{name@domain|id} [{logging-category}]]`: removes one account's
/// loggers (of one category when given), or all of them without arguments.
pub(super) async fn remove(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let args = without_server(a);
    let mut list = account_loggers::read(&loggers_path()?);
    match args {
        [] => list.clear(),
        [account] => {
            let name = p.get_account(account).await?.name.to_ascii_lowercase();
            list.retain(|l| l.account != name);
        }
        [account, category] => {
            let name = p.get_account(account).await?.name.to_ascii_lowercase();
            let category = account_loggers::parse_category(category).map_err(fault)?;
            list.retain(|l| !(l.account == name && l.category == category));
        }
        _ => return Err(CmdError::Usage),
    }
    save(&list)?;
    Ok(String::new())
}

/// `rlog [-s server]`: removes every account logger.
pub(super) async fn reset_all(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    if !without_server(a).is_empty() {
        return Err(CmdError::Usage);
    }
    save(&[])?;
    Ok(String::new())
}
