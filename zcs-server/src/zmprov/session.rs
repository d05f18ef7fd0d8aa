//! zmprov's session with the running server when the command line names an admin
//! (`-a NAME -p PASSWORD` or `-P FILE`), a server (`-s HOST`) or the local admin (`-z`),
//! as Zimbra's zmprov authenticates to the admin SOAP service before it provisions.
//!
//! In charge of: checking `-s` names this home's server (the only one a tool of this
//! home can reach), logging the admin in through the admin port (`AuthRequest`, so a
//! wrong password fails with the server's `account.AUTH_FAILED` before anything runs and
//! the failed login is counted and audited by the server like any other), sending the
//! cache flush after changes as that admin, and ending the session at exit.
//!
//! The commands themselves write the directory directly once the admin is
//! authenticated (zcs has no per-command SOAP mode). A delegated admin's session carries
//! its entry, and every command is first decided by [`super::gate`], the same rights
//! decision the admin SOAP service makes; its cache flush goes as the local admin (a
//! delegated admin holds no flushCache right).

use zcs_directory::Provisioning;
use zcs_directory::rights::{is_delegated_admin, is_global_admin};

use super::options::{Options, names_this_server};
use crate::home::Home;
use crate::search::remote::Remote;

/// An authenticated session with the running server.
pub struct Session {
    remote: Remote,
    /// The admin the session acts as (`-a`), or `None` for the local admin (`-z`, `-s`).
    pub admin: Option<String>,
    /// The `-a` account's entry when it is a delegated admin: every command is gated.
    pub delegated: Option<zcs_core::Entry>,
}

/// Why a session could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    /// The server refused the login: Zimbra's `ERROR: code (reason)` line.
    Auth(String),
    /// The options cannot be honoured here; the text says why.
    Refused(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Auth(s) => f.write_str(s),
            SessionError::Refused(s) => write!(f, "zmprov: {s}"),
        }
    }
}

/// The server's `code: reason` as Zimbra prints a fault: `ERROR: code (reason)`.
pub fn fault_line(text: &str) -> String {
    match text.split_once(": ") {
        Some((code, why)) if code.contains('.') && !code.contains(' ') => {
            format!("ERROR: {code} ({why})")
        }
        _ => format!("ERROR: service.FAILURE ({text})"),
    }
}

/// The password of `-p`, or the first line of the `-P` file.
fn password(o: &Options) -> Result<String, SessionError> {
    if let Some(p) = &o.password {
        return Ok(p.clone());
    }
    let path = o.passfile.as_deref().unwrap_or_default();
    let text = std::fs::read_to_string(path)
        .map_err(|e| SessionError::Refused(format!("-P {path}: {e}")))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// Opens the session the options ask for; `Ok(None)` when they ask for none (the
/// directory is then written directly, and the running server flushed afterwards).
///
/// # Errors
/// [`SessionError::Auth`] when the server refuses the admin's login;
/// [`SessionError::Refused`] when `-s` names another server, no server runs, the
/// password file cannot be read, or the account is not an admin.
pub async fn open(
    home: &Home,
    prov: &Provisioning,
    o: &Options,
) -> Result<Option<Session>, SessionError> {
    if !o.through_server() {
        return Ok(None);
    }
    if let Some(s) = &o.server {
        let hostname = crate::localconfig::LocalConfig::load(home)
            .ok()
            .and_then(|lc| lc.get("zimbra_server_hostname"))
            .unwrap_or_default();
        if !names_this_server(s, &hostname) {
            return Err(SessionError::Refused(format!(
                "-s {s}: only this home's server ({}) can be reached from here; \
                 run zmprov on that server's machine",
                if hostname.is_empty() {
                    "localhost"
                } else {
                    &hostname
                }
            )));
        }
    }
    if crate::control::running_pid(home).is_none() {
        return Err(SessionError::Refused(
            "-a/-p/-s/-z authenticate through the running server's admin port, and no \
             server runs on this home: start it (zmcontrol start) or use -l"
                .into(),
        ));
    }
    let Some(name) = &o.account else {
        let remote = Remote::open(home, prov)
            .await
            .map_err(SessionError::Refused)?;
        return Ok(Some(Session {
            remote,
            admin: None,
            delegated: None,
        }));
    };
    let pw = password(o)?;
    let remote = Remote::login(home, name, &pw, true)
        .await
        .map_err(|e| SessionError::Auth(fault_line(&e)))?;
    let delegated = match prov.get_account(name).await {
        Ok(a) if is_global_admin(&a) => None,
        Ok(a) if is_delegated_admin(&a) => Some(a),
        _ => {
            remote.close(Some(prov)).await;
            return Err(SessionError::Refused(format!("{name} is not an admin")));
        }
    };
    Ok(Some(Session {
        remote,
        admin: Some(name.clone()),
        delegated,
    }))
}

/// What a zmprov-style tool (zmprov, zmarchiveconfig) holds once it has started: the
/// home's directory and the session the options asked for.
pub struct ToolStart {
    /// The home's directory.
    pub prov: Provisioning,
    /// The admin session, when the options name one (see [`open`]).
    pub session: Option<Session>,
}

/// Starts a zmprov-style tool: finds the home, drops root as every tool does, logs
/// only the security lines (admin changes go to audit.log), opens the directory and the
/// session `opts` ask for. On failure the message is printed already and the exit code
/// is returned: 2 for a failure or a refused login, 1 for options that cannot be honoured.
pub async fn start_tool(opts: &Options) -> Result<ToolStart, std::process::ExitCode> {
    use std::process::ExitCode;
    let home = Home::from_env().map_err(|e| {
        eprintln!("ERROR: service.FAILURE ({e})");
        ExitCode::from(2)
    })?;
    crate::privdrop::drop_for_tool(&home).map_err(|e| {
        eprintln!("ERROR: service.FAILURE ({e})");
        ExitCode::from(2)
    })?;
    crate::logging::init_with(
        Some(&home.log()),
        "warn,zimbra.security=info",
        crate::logging::DEFAULT_RETENTION_DAYS,
        false,
    );
    let prov = crate::bootstrap::open_provisioning(&home)
        .await
        .map_err(|e| {
            eprintln!("{}", super::format_fault(&e));
            ExitCode::from(2)
        })?;
    let session = open(&home, &prov, opts).await.map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(match e {
            SessionError::Auth(_) => 2,
            SessionError::Refused(_) => 1,
        })
    })?;
    Ok(ToolStart { prov, session })
}

/// Asks the server running on this home to flush its whole directory cache, so the
/// changes `tool` just made are seen at once (Zimbra's zmprov makes them through the
/// server): as the session's admin when there is one, else as the local admin. A
/// delegated admin holds no flushCache right: its changes are flushed as the local
/// admin. A server that cannot be reached is a warning on stderr.
pub async fn flush_after_change(prov: &Provisioning, session: &Option<Session>, tool: &str) {
    let result = match session.as_ref().filter(|s| s.delegated.is_none()) {
        Some(s) => s.flush_all().await,
        None => super::cache::flush_running_server(prov, "all", false, &[])
            .await
            .map(drop),
    };
    if let Err(e) = result {
        eprintln!("{tool}: warning: the running server's cache was not flushed ({e})");
    }
}

impl Session {
    /// Asks the server to flush its whole directory cache, as this session's admin.
    ///
    /// # Errors
    /// The server's fault or why it could not be reached.
    pub async fn flush_all(&self) -> Result<(), String> {
        let body = super::cache::request_body("all", false, &[]);
        self.remote
            .request(None, "FlushCacheRequest", "urn:zimbraAdmin", body)
            .await
            .map(|_| ())
    }

    /// Ends the session (the login's token is revoked).
    pub async fn close(self, prov: &Provisioning) {
        self.remote.close(Some(prov)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_print_as_zimbra_does() {
        assert_eq!(
            fault_line("account.AUTH_FAILED: authentication failed for [a@x.test]"),
            "ERROR: account.AUTH_FAILED (authentication failed for [a@x.test])"
        );
        assert_eq!(
            fault_line("connect to the admin port 127.0.0.1:1: refused"),
            "ERROR: service.FAILURE (connect to the admin port 127.0.0.1:1: refused)"
        );
    }

    #[test]
    fn password_files_give_their_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\nignored\n").expect("write");
        let o = Options {
            account: Some("a@x.test".into()),
            passfile: Some(path.display().to_string()),
            ..Options::default()
        };
        assert_eq!(password(&o).expect("read"), "s3cret");
        let missing = Options {
            passfile: Some(dir.path().join("none").display().to_string()),
            ..o
        };
        assert!(matches!(password(&missing), Err(SessionError::Refused(_))));
    }
}
