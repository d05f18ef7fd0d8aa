//! The zcs home directory: where each kind of data lives, and the lock that keeps two
//! servers from opening one home at once.
//!
//! Layout (ARCHITECTURE.md "Data on disk"): `conf/` local config and TLS material,
//! `db/` SQLite files, `store/` message volumes, `index/`, `redolog/`, `backup/`, `log/`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the home directory.
pub const HOME_ENV: &str = "ZCS_HOME";

/// The default home when `ZCS_HOME` is unset: `./zcs-data` under the working directory.
pub const DEFAULT_HOME: &str = "zcs-data";

/// Paths under one zcs home.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home named by `ZCS_HOME`, else `./zcs-data`, made absolute against the
    /// working directory so that a server started in the background keeps using it.
    pub fn from_env() -> io::Result<Home> {
        let raw = std::env::var_os(HOME_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
        let root = if raw.is_absolute() {
            raw
        } else {
            std::env::current_dir()?.join(raw)
        };
        Ok(Home { root })
    }

    /// A home rooted at `root` as given.
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn conf(&self) -> PathBuf {
        self.root.join("conf")
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("db")
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn redolog(&self) -> PathBuf {
        self.root.join("redolog")
    }
    pub fn backup(&self) -> PathBuf {
        self.root.join("backup")
    }
    pub fn log(&self) -> PathBuf {
        self.root.join("log")
    }
    /// The local config file.
    pub fn localconfig(&self) -> PathBuf {
        self.conf().join("localconfig.toml")
    }
    /// The pid file a running server writes.
    pub fn pid_file(&self) -> PathBuf {
        self.log().join("zcs.pid")
    }

    /// Creates every directory of the layout that is missing.
    ///
    /// # Errors
    /// The file system refused to create one; the error names it.
    pub fn create_dirs(&self) -> io::Result<()> {
        for dir in [
            self.conf(),
            self.db(),
            self.store(),
            self.index(),
            self.redolog(),
            self.backup(),
            self.log(),
        ] {
            fs::create_dir_all(&dir)
                .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", dir.display())))?;
        }
        Ok(())
    }

    /// Takes the exclusive lock on this home, held until the returned guard drops.
    ///
    /// # Errors
    /// `WouldBlock` when another process holds it: a server is already running here.
    pub fn lock(&self) -> io::Result<HomeLock> {
        let path = self.root.join("zcs.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked: another zcs server is using this home",
                    path.display()
                ),
            ));
        }
        Ok(HomeLock { _file: file })
    }
}

/// Holds the home's lock; dropping it (or the process exiting) releases it.
#[derive(Debug)]
pub struct HomeLock {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_home_fails() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let first = home.lock().unwrap();
        let err = home.lock().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(first);
        home.lock().unwrap();
    }
}
