//! Running as root only as long as needed: a server started as root binds its listeners
//! (the low ports 25, 110, 143, 465, 587, 993, 995 need root), hands the home to the
//! unprivileged user named by the local config key `zimbra_user` (Zimbra runs as
//! `zimbra`), and becomes that user for the rest of its life.
//!
//! A server started as an ordinary user does nothing here.

use std::ffi::{CStr, CString};
use std::io;
use std::path::Path;

use crate::home::Home;
use crate::localconfig::LocalConfig;

/// The user a root-started server becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Why the server could not become its user.
#[derive(Debug, thiserror::Error)]
pub enum PrivDropError {
    #[error("the user {0:?} does not exist; create it (useradd -r {0}) or set zimbra_user")]
    NoSuchUser(String),
    #[error("{step}: {source}")]
    Os {
        step: String,
        #[source]
        source: io::Error,
    },
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Looks a user up in the system's user database.
///
/// # Errors
/// `NoSuchUser` when it is not there.
pub fn lookup(name: &str) -> Result<RunAs, PrivDropError> {
    let c_name = CString::new(name).map_err(|_| PrivDropError::NoSuchUser(name.into()))?;
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getpwnam_r writes `pwd` and strings
    // into `buf` (of the given length) and sets `result` to `pwd` or null.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(PrivDropError::NoSuchUser(name.into()));
    }
    // SAFETY: getpwnam_r succeeded and `result` points at the initialised `pwd`.
    let pwd = unsafe { pwd.assume_init() };
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwnam_r.
    let found = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Ok(RunAs {
        name: found,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

fn os(step: impl Into<String>) -> impl FnOnce(io::Error) -> PrivDropError {
    let step = step.into();
    move |source| PrivDropError::Os { step, source }
}

/// Gives every file and directory under `root` (and `root` itself) to `user`, leaving
/// entries that already belong to it alone. Symbolic links are changed themselves,
/// never followed.
///
/// # Errors
/// The first entry that could not be changed.
pub fn chown_tree(root: &Path, user: &RunAs) -> Result<(), PrivDropError> {
    use std::os::unix::fs::{MetadataExt, lchown};
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).map_err(os(path.display().to_string()))?;
        if meta.uid() != user.uid || meta.gid() != user.gid {
            lchown(&path, Some(user.uid), Some(user.gid))
                .map_err(os(format!("chown {}", path.display())))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(os(path.display().to_string()))? {
                stack.push(entry.map_err(os(path.display().to_string()))?.path());
            }
        }
    }
    Ok(())
}

/// Checks that `user` may pass through every directory above `root` (the home's
/// parents stay root's; a server that could not reach its own home would fail later
/// with a bare "permission denied").
///
/// # Errors
/// `Os` naming the first directory `user` cannot traverse.
pub fn check_reachable(root: &Path, user: &RunAs) -> Result<(), PrivDropError> {
    use std::os::unix::fs::MetadataExt;
    for dir in root.ancestors().skip(1) {
        let meta = std::fs::metadata(dir).map_err(os(dir.display().to_string()))?;
        let mode = meta.mode();
        let ok = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(PrivDropError::Os {
                step: format!(
                    "{} cannot enter {} on the way to the home (chmod o+x it)",
                    user.name,
                    dir.display()
                ),
                source: io::Error::from(io::ErrorKind::PermissionDenied),
            });
        }
    }
    Ok(())
}

/// Becomes `user`: its group, no supplementary groups, then its user id. Irreversible.
/// glibc applies each change to every thread of the process.
///
/// # Errors
/// The kernel refused a step; the process keeps its identity from before that step.
pub fn become_user(user: &RunAs) -> Result<(), PrivDropError> {
    // SAFETY: plain system calls on integers; their failure is reported via errno.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(os("setgroups")(io::Error::last_os_error()));
        }
        if libc::setgid(user.gid) != 0 {
            return Err(os("setgid")(io::Error::last_os_error()));
        }
        if libc::setuid(user.uid) != 0 {
            return Err(os("setuid")(io::Error::last_os_error()));
        }
        // Regaining root must now be impossible.
        if libc::setuid(0) == 0 {
            return Err(os("setuid check")(io::Error::other(
                "could switch back to root after dropping privileges",
            )));
        }
    }
    Ok(())
}

/// The user a root process of `home` should become: the local config's `zimbra_user`,
/// when set to someone other than root.
///
/// # Errors
/// `NoSuchUser` when the key names a user the system does not have.
pub fn configured_user(lc: &LocalConfig) -> Result<Option<RunAs>, PrivDropError> {
    match lc
        .get("zimbra_user")
        .filter(|n| !n.is_empty() && n != "root")
    {
        Some(name) => lookup(&name).map(Some),
        None => Ok(None),
    }
}

/// What a command-line tool (zmprov, zmlocalconfig, zmcertmgr) calls first: run as root
/// on a home with a `zimbra_user`, it becomes that user, so that every file it writes
/// stays readable by the server (Zimbra's tools are run as `zimbra` for the same
/// reason). Otherwise it does nothing.
///
/// # Errors
/// The configured user does not exist or the switch failed.
pub fn drop_for_tool(home: &Home) -> Result<(), PrivDropError> {
    if !is_root() {
        return Ok(());
    }
    let Ok(lc) = LocalConfig::load(home) else {
        return Ok(());
    };
    let Some(user) = configured_user(&lc)? else {
        return Ok(());
    };
    // Files root wrote before zimbra_user was set (or since) become the user's first,
    // so that the tool, once it is that user, can still read and write them. A home
    // that is already the user's only needs its small directories checked.
    check_reachable(home.root(), &user)?;
    use std::os::unix::fs::MetadataExt;
    let root_owned = std::fs::metadata(home.root()).is_ok_and(|m| m.uid() == user.uid);
    if root_owned {
        for dir in [home.conf(), home.db(), home.log()] {
            if dir.exists() {
                chown_tree(&dir, &user)?;
            }
        }
    } else {
        chown_tree(home.root(), &user)?;
    }
    become_user(&user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_nonsense_does_not() {
        let root = lookup("root").expect("root is in every passwd");
        assert_eq!(root.uid, 0);
        assert!(matches!(
            lookup("no-such-user-zcs-\u{1}"),
            Err(PrivDropError::NoSuchUser(_))
        ));
        assert!(lookup("with\0nul").is_err());
    }

    #[test]
    fn chown_to_the_owner_is_a_no_op() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::fs::write(dir.path().join("a/b/f"), "x").expect("write");
        let meta = std::fs::metadata(dir.path()).expect("meta");
        let me = RunAs {
            name: "me".into(),
            uid: meta.uid(),
            gid: meta.gid(),
        };
        chown_tree(dir.path(), &me).expect("chown");
    }
}
