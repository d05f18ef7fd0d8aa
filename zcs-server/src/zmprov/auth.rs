//! `zmprov` commands about authentication and domains beyond the basic ones:
//! `cps` (checkPasswordStrength), `gdpak` / `gdpa` (preauth), `cad` (alias domains) and
//! `rd` (renameDomain).

use zcs_directory::{EntryKey, Provisioning};

use super::commands::{CmdError, attrs_from};

/// `cps`: the account's strength rules only (no history, no age), as in Zimbra.
pub(super) async fn check_password_strength(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let acct = p.get_account(&a[0]).await?;
    p.check_password_policy(&acct, &a[1]).await?;
    Ok("Password passed strength check.\n".into())
}

/// `gdpak`: prints `preAuthKey: <64 hex>`.
pub(super) async fn generate_preauth_key(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let key = p
        .generate_domain_preauth_key(&EntryKey::parse(&a[0]))
        .await?;
    Ok(format!("preAuthKey: {key}\n"))
}

/// `gdpa {domain} {name} {by} {timestamp|0} {expires|0}`: a timestamp of 0 means now.
pub(super) async fn generate_preauth(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| CmdError::Usage);
    let mut timestamp = num(&a[3])?;
    if timestamp == 0 {
        timestamp = chrono::Utc::now().timestamp_millis();
    }
    let expires = num(&a[4])?;
    let by = a[2].as_str();
    let pre = p
        .compute_domain_preauth(&EntryKey::parse(&a[0]), &a[1], by, expires, timestamp)
        .await?;
    Ok(format!(
        "account: {}\nby: {by}\ntimestamp: {timestamp}\nexpires: {expires}\npreAuth: {pre}\n",
        a[1]
    ))
}

pub(super) async fn create_alias_domain(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let e = p
        .create_alias_domain(&a[0], &EntryKey::parse(&a[1]), attrs_from(&a[2..])?)
        .await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn rename_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_domain(&EntryKey::parse(&a[0]), &a[1]).await?;
    Ok(String::new())
}
