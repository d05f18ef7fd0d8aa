//! `zmprov` calendar resource commands: `ccr`, `dcr`, `gacr`, `gcr`, `mcr`, `rcr`.

use zcs_directory::Provisioning;

use super::commands::{CmdError, attrs_from, edits, format_entry, list, verbose};

/// `ccr {name} [{password}] [attr value ...]`: the guide's syntax has no password and
/// Zimbra's has one; an odd number of words after the name means the first is the
/// password.
pub(super) async fn create(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let rest = &a[1..];
    let (password, pairs) = if rest.len() % 2 == 1 {
        (Some(rest[0].as_str()).filter(|s| !s.is_empty()), &rest[1..])
    } else {
        (None, rest)
    };
    let e = p
        .create_calendar_resource(&a[0], password, attrs_from(pairs)?)
        .await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn delete(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_calendar_resource(&a[0]).await?;
    Ok(String::new())
}

pub(super) async fn get_all(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    if rest.len() > 1 {
        return Err(CmdError::Usage);
    }
    let all = p
        .all_calendar_resources(rest.first().map(String::as_str))
        .await?;
    Ok(list(all, v))
}

pub(super) async fn get(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_calendar_resource(&a[0]).await?;
    let attrs = p.effective_account_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

pub(super) async fn modify(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_calendar_resource(&a[0], &edits(&a[1..])?).await?;
    Ok(String::new())
}

pub(super) async fn rename(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_calendar_resource(&a[0], &a[1]).await?;
    Ok(String::new())
}
