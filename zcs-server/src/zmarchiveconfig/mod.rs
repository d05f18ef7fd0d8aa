//! `zmarchiveconfig`: switches archiving on and off for an account (spec 05 §1.1,
//! spec 06 §3.12). The binary (`bin/zmarchiveconfig.rs`) reads zmprov's options and
//! opens the directory and the admin session the way zmprov does; this module parses the
//! command words and applies them to [`Provisioning`].
//!
//! `enable <account> [archive-address <addr>] [archive-cos <cos>] [archive-create
//! TRUE|FALSE] [archive-password <pw>] [<attr> <value>]...`:
//! - the archive address is `archive-address`, else the account's (or its COS's)
//!   `zimbraArchiveAccountNameTemplate` with `${DATE}` from
//!   `zimbraArchiveAccountDateTemplate` ([`template`]); a result that is not an email
//!   address is refused before anything changes;
//! - unless `archive-create FALSE` (a third-party archive reached by SMTP), the archive
//!   account is created when missing (its domain too): `zimbraIsSystemResource` TRUE,
//!   hidden from the GAL, never archived itself; without `archive-cos` also quota 0 and
//!   spam and virus checks off; the extra `attr value` pairs are set on it;
//! - the account gets `zimbraArchiveEnabled` TRUE, `amavisArchiveQuarantineTo` (the
//!   current archive) and the address added to `zimbraArchiveAccount` (every archive
//!   it ever had). Re-running after a template change moves to the new name and keeps
//!   the old one in the history.
//!
//! `disable <account>`: `zimbraArchiveEnabled` FALSE and no current archive; the history
//! and the archive mailboxes stay.
//!
//! Copies are only made on a server that runs the `archiving` service
//! (`zimbraServiceEnabled`; see `crate::delivery`).

pub mod template;

use std::io::Write;

use chrono::NaiveDateTime;
use zcs_core::{AttrEdit, Attrs, ServiceError, ServiceResult};
use zcs_directory::{EntryKey, Provisioning};

/// The usage text, as `zmarchiveconfig -h` prints it.
pub const USAGE: &str = "zmarchiveconfig [args] [cmd] [cmd-args ...]\n\n  \
-h/--help                      display usage\n  \
-s/--server {host}[:{port}]    server hostname and optional port\n  \
-a/--account {name}            account name to auth as\n  \
-p/--password {pass}           password for account\n  \
-P/--passfile {file}           read password from file\n  \
-l/--ldap                      the directory only (no running server)\n  \
-z/--zadmin                    use the local admin\n  \
-d/--debug                     debug mode\n\n  \
disable {account}\n  \
enable {account} [archive-address {aaddr} [archive-cos {cos}] [archive-create \
{TRUE/FALSE}] [archive-password {pa..}] [{zimbraAccountAttrName} {archive-attr-value}]+]\n";

/// One command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `enable`.
    Enable(Enable),
    /// `disable <account>`.
    Disable {
        /// The account (name or id).
        account: String,
    },
}

/// The arguments of `enable`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enable {
    /// The account to archive (name or id).
    pub account: String,
    /// `archive-address`: the archive's address instead of the templated one.
    pub address: Option<String>,
    /// `archive-cos`: the COS (name or id) of a created archive account.
    pub cos: Option<String>,
    /// `archive-create`: create the archive account (default TRUE).
    pub create: bool,
    /// `archive-password`.
    pub password: Option<String>,
    /// Other `attr value` pairs, set on a created archive account.
    pub attrs: Vec<(String, String)>,
}

/// What was done, for the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// Archiving is on, to `address`; `created` when the archive account was made now.
    Enabled {
        /// The account.
        account: String,
        /// Its current archive.
        address: String,
        /// The archive account was created by this run.
        created: bool,
    },
    /// Archiving is off.
    Disabled {
        /// The account.
        account: String,
    },
}

/// Parses the command words (after the options).
///
/// # Errors
/// A message (for the usage) on an unknown command, a missing account or value, or an
/// `archive-create` that is neither TRUE nor FALSE.
pub fn parse(words: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = words.split_first() else {
        return Err("no command".into());
    };
    let Some((account, rest)) = rest.split_first() else {
        return Err(format!("{cmd}: missing account"));
    };
    match cmd.to_ascii_lowercase().as_str() {
        "disable" if rest.is_empty() => Ok(Command::Disable {
            account: account.clone(),
        }),
        "disable" => Err("disable takes one account".into()),
        "enable" => {
            let mut e = Enable {
                account: account.clone(),
                create: true,
                ..Enable::default()
            };
            if rest.len() % 2 != 0 {
                return Err(format!("enable: no value for {}", rest[rest.len() - 1]));
            }
            for pair in rest.chunks(2) {
                let (key, value) = (&pair[0], pair[1].clone());
                match key.to_ascii_lowercase().as_str() {
                    "archive-address" => e.address = Some(value),
                    "archive-cos" => e.cos = Some(value),
                    "archive-password" => e.password = Some(value),
                    "archive-create" => {
                        e.create = match value.to_ascii_uppercase().as_str() {
                            "TRUE" | "1" | "YES" => true,
                            "FALSE" | "0" | "NO" => false,
                            _ => return Err(format!("archive-create: TRUE or FALSE, not {value}")),
                        }
                    }
                    _ => e.attrs.push((key.clone(), value)),
                }
            }
            Ok(Command::Enable(e))
        }
        other => Err(format!("unknown command: {other}")),
    }
}

/// Whether an attribute is TRUE.
fn is_true(attrs: &Attrs, name: &str) -> bool {
    attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Runs `cmd` at local time `now` (for `${DATE}`).
///
/// # Errors
/// The directory's fault (no such account or COS, ...), or `service.INVALID_REQUEST`
/// for an archive address that is not an email address or an archive account that
/// would archive itself.
pub async fn run(prov: &Provisioning, cmd: &Command, now: NaiveDateTime) -> ServiceResult<Done> {
    match cmd {
        Command::Disable { account } => {
            let acct = prov.get_account(account).await?;
            let edits = [
                AttrEdit::Replace("zimbraArchiveEnabled".into(), vec!["FALSE".into()]),
                AttrEdit::Replace("amavisArchiveQuarantineTo".into(), Vec::new()),
            ];
            prov.modify_account(&acct.id.to_string(), &edits).await?;
            tracing::info!(account = %acct.name, "archiving disabled");
            Ok(Done::Disabled { account: acct.name })
        }
        Command::Enable(e) => enable(prov, e, now).await,
    }
}

/// `enable`: see the module documentation.
async fn enable(prov: &Provisioning, e: &Enable, now: NaiveDateTime) -> ServiceResult<Done> {
    let acct = prov.get_account(&e.account).await?;
    let effective = prov.effective_account_attrs(&acct).await?;
    let address = match &e.address {
        Some(a) => a.trim().to_ascii_lowercase(),
        None => template::archive_name(
            effective
                .get("zimbraArchiveAccountNameTemplate")
                .unwrap_or(template::DEFAULT_NAME_TEMPLATE),
            effective
                .get("zimbraArchiveAccountDateTemplate")
                .unwrap_or(template::DEFAULT_DATE_TEMPLATE),
            &acct.name,
            &acct.id.to_string(),
            now,
        )
        .to_ascii_lowercase(),
    };
    if !template::is_valid_address(&address) {
        return Err(ServiceError::invalid_request(format!(
            "invalid archive account name: {address}"
        )));
    }
    if address.eq_ignore_ascii_case(&acct.name) {
        return Err(ServiceError::invalid_request(
            "an account cannot be its own archive",
        ));
    }
    let mut created = false;
    if e.create && prov.find_account(&address).await?.is_none() {
        create_archive_account(prov, e, &address).await?;
        created = true;
    }
    let mut edits = vec![
        AttrEdit::Replace("zimbraArchiveEnabled".into(), vec!["TRUE".into()]),
        AttrEdit::Replace("amavisArchiveQuarantineTo".into(), vec![address.clone()]),
    ];
    if !acct
        .attrs
        .get_all("zimbraArchiveAccount")
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&address))
    {
        edits.push(AttrEdit::Add(
            "zimbraArchiveAccount".into(),
            address.clone(),
        ));
    }
    prov.modify_account(&acct.id.to_string(), &edits).await?;
    tracing::info!(account = %acct.name, archive = %address, created, "archiving enabled");
    Ok(Done::Enabled {
        account: acct.name,
        address,
        created,
    })
}

/// Creates the archive account `address` (and its domain when missing).
async fn create_archive_account(
    prov: &Provisioning,
    e: &Enable,
    address: &str,
) -> ServiceResult<()> {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return Err(ServiceError::invalid_request(
            "archive address without a domain",
        ));
    };
    if prov
        .get_domain(&EntryKey::Name(domain.to_string()))
        .await
        .is_err()
    {
        // The archive pseudo-domain (`<domain>.archive` by default).
        prov.create_domain(domain, Attrs::new()).await?;
        tracing::info!(domain, "archive domain created");
    }
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraIsSystemResource", "TRUE");
    attrs.set_one("zimbraHideInGal", "TRUE");
    // An archive is never archived again.
    attrs.set_one("zimbraArchiveEnabled", "FALSE");
    match &e.cos {
        Some(cos) => {
            let cos = prov.get_cos(&EntryKey::parse(cos)).await?;
            attrs.set_one("zimbraCOSId", cos.id.to_string());
        }
        None => {
            // Spec 05 §1.1: no COS gives unlimited quota and no spam or virus checks.
            attrs.set_one("zimbraMailQuota", "0");
            attrs.set_one("amavisBypassSpamChecks", "TRUE");
            attrs.set_one("amavisBypassVirusChecks", "TRUE");
        }
    }
    for (name, value) in &e.attrs {
        attrs.add(name, value.clone());
    }
    if is_true(&attrs, "zimbraArchiveEnabled") {
        return Err(ServiceError::invalid_request(
            "an archive account cannot archive itself",
        ));
    }
    prov.create_account(address, e.password.as_deref(), attrs)
        .await?;
    Ok(())
}

/// Writes what was done: one line naming the account and its archive.
pub fn print(done: &Done, out: &mut dyn Write) -> std::io::Result<()> {
    match done {
        Done::Enabled {
            account,
            address,
            created,
        } => {
            if *created {
                writeln!(out, "created archive account {address}")?;
            }
            writeln!(
                out,
                "archiving enabled for {account}: archived to {address}"
            )
        }
        Done::Disabled { account } => writeln!(out, "archiving disabled for {account}"),
    }
}

#[cfg(test)]
mod tests;
