//! `zmdkimkeyutil`: the DKIM signing keys of this zcs home's domains
//! (`$ZCS_HOME/conf/dkim`), as Zimbra's command: `-a` add, `-u` rotate, `-r` remove,
//! `-q` show, with `-d <domain>`, `-b <bits>` and `-s <selector>`. The commands are
//! `zcs_mta::dkim_keyutil`'s; this binary finds the home, gives the key files the home's
//! owner (the server may run as another user than the operator) and asks the running
//! MTA to reload so that a change signs the next message.

use std::path::Path;
use std::process::ExitCode;

use zcs_mta::dkim_keyutil::{self, KeyUtilError};
use zcs_server::home::Home;
use zcs_server::mta::reload::request_reload;

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zmdkimkeyutil: {e}");
            return ExitCode::from(1);
        }
    };
    let dir = home.root().join("conf").join("dkim");
    match dkim_keyutil::run(&args, &dir) {
        Ok(out) => {
            print!("{out}");
            if args
                .iter()
                .any(|a| matches!(a.as_str(), "-a" | "-u" | "-r"))
            {
                give_to_owner(home.root(), &dir);
                if let Err(e) = request_reload(home.root()) {
                    eprintln!("zmdkimkeyutil: run zmmtactl reload (cannot ask for one: {e})");
                }
            }
            ExitCode::SUCCESS
        }
        Err(KeyUtilError::Usage(text)) => {
            eprintln!("{text}");
            ExitCode::from(64)
        }
        Err(e) => {
            eprintln!("zmdkimkeyutil: {e}");
            ExitCode::from(1)
        }
    }
}

/// Gives `dir` and what is under it the owner of the home `root`, when they differ
/// (root running the tool for a server that runs as another user). Failures are told.
#[cfg(unix)]
fn give_to_owner(root: &Path, dir: &Path) {
    use std::os::unix::fs::{MetadataExt as _, lchown};
    let Ok(owner) = std::fs::metadata(root) else {
        return;
    };
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            todo.extend(entries.flatten().map(|e| e.path()));
        }
        if (meta.uid(), meta.gid()) != (owner.uid(), owner.gid())
            && let Err(e) = lchown(&path, Some(owner.uid()), Some(owner.gid()))
        {
            eprintln!(
                "zmdkimkeyutil: cannot give {} to the home's owner: {e}",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn give_to_owner(_root: &Path, _dir: &Path) {}
