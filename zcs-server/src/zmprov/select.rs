//! `zmprov selectMailbox sm {account} [{zmmailbox command}]` (spec/06 §2.11): runs
//! zmmailbox commands on one account's mailbox. zcs's `zmmailbox` is its own program,
//! so `sm` runs it beside this one (`zmmailbox -z -m {account} ...`, the home's
//! administrator, as Zimbra's `sm` authenticates with zmprov's admin session): with
//! commands, their output is `sm`'s; without, on a terminal, the mailbox shell takes
//! over until `exit` returns to `prov>`. Zimbra's `--admin-priv` (`-A`) is accepted:
//! the session is an administrator's already. Only global admins reach this command
//! (`gate` refuses it to delegated admins, whose grants `-z` would bypass).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::Stdio;

use zcs_core::ServiceError;
use zcs_directory::Provisioning;

use super::commands::CmdError;

/// The `zmmailbox` program installed beside this one.
fn zmmailbox() -> Result<PathBuf, CmdError> {
    let exe = std::env::current_exe()
        .map_err(|e| ServiceError::failure(format!("cannot find zmmailbox: {e}")))?;
    let path = exe.with_file_name("zmmailbox");
    if !path.is_file() {
        return Err(ServiceError::failure(format!(
            "cannot find zmmailbox beside zmprov ({})",
            path.display()
        ))
        .into());
    }
    Ok(path)
}

/// The account name and the zmmailbox words of `sm`'s arguments, without
/// `--admin-priv`/`-A`.
fn split_args(a: &[String]) -> Option<(&str, Vec<&str>)> {
    let mut words = a
        .iter()
        .map(String::as_str)
        .skip_while(|w| matches!(*w, "--admin-priv" | "-A"));
    let account = words.next()?;
    Some((account, words.collect()))
}

/// `sm {account} [command...]`.
pub(super) async fn select_mailbox(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let Some((account, words)) = split_args(a) else {
        return Err(CmdError::Usage);
    };
    let entry = p.get_account(account).await?;
    let program = zmmailbox()?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("-z").arg("-m").arg(&entry.name);
    if words.is_empty() {
        if !std::io::stdin().is_terminal() {
            return Err(ServiceError::invalid_request(
                "command only valid in interactive mode or with arguments",
            )
            .into());
        }
        let status = cmd
            .status()
            .await
            .map_err(|e| ServiceError::failure(format!("zmmailbox: {e}")))?;
        return if status.success() {
            Ok(String::new())
        } else {
            Err(ServiceError::failure("zmmailbox ended with an error").into())
        };
    }
    cmd.args(&words)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .await
        .map_err(|e| ServiceError::failure(format!("zmmailbox: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("zmmailbox ended with an error");
    Err(CmdError::Partial(
        stdout,
        ServiceError::failure(reason.trim_start_matches("ERROR: ").to_string()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_priv_is_dropped_and_commands_kept() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let args = w("--admin-priv a@ex.test gaf");
        assert_eq!(split_args(&args), Some(("a@ex.test", vec!["gaf"])));
        let args = w("a@ex.test s -t message in:inbox");
        assert_eq!(
            split_args(&args),
            Some(("a@ex.test", vec!["s", "-t", "message", "in:inbox"]))
        );
        assert_eq!(split_args(&w("-A")), None);
    }
}
