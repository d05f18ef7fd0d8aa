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

/// The default home when `ZCS_HOME` is unset: `./zcs-data` under the working directory
/// (see [`Home::from_env`] for the full order).
pub const DEFAULT_HOME: &str = "zcs-data";

/// Paths under one zcs home.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home the tools and the server use, found in this order:
    /// 1. `ZCS_HOME`, made absolute against the working directory;
    /// 2. `./zcs-data` when it exists in the working directory;
    /// 3. the home last started from a working directory (without `ZCS_HOME`), as
    ///    recorded by [`Home::remember`], when it still exists;
    /// 4. `./zcs-data` (to be created by a first start).
    ///
    /// So `zmcontrol status` run from another directory finds the server that
    /// `zmcontrol start` started, instead of an empty home of its own.
    ///
    /// # Errors
    /// The working directory cannot be read.
    pub fn from_env() -> io::Result<Home> {
        let cwd = std::env::current_dir()?;
        let env = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty());
        let remembered = pointer_file().and_then(|p| read_pointer(&p));
        Ok(resolve(env.map(PathBuf::from), &cwd, remembered))
    }

    /// Whether `ZCS_HOME` names the home (rather than the working directory or the
    /// remembered home).
    pub fn from_env_var() -> bool {
        std::env::var_os(HOME_ENV).is_some_and(|v| !v.is_empty())
    }

    /// Records this home as the one later tools find when neither `ZCS_HOME` nor
    /// `./zcs-data` names one (step 3 of [`Home::from_env`]): the file
    /// `$XDG_CONFIG_HOME/zcs/home` (else `~/.config/zcs/home`). Does nothing when
    /// `ZCS_HOME` is set, since then the operator names the home each time.
    ///
    /// # Errors
    /// The pointer file could not be written.
    pub fn remember(&self) -> io::Result<()> {
        if Home::from_env_var() {
            return Ok(());
        }
        let Some(path) = pointer_file() else {
            return Ok(());
        };
        write_pointer(&path, &self.root)
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

/// Where [`Home::remember`] records the home: `$XDG_CONFIG_HOME/zcs/home`, else
/// `$HOME/.config/zcs/home`; `None` when neither variable is set.
pub fn pointer_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("zcs").join("home"))
}

/// The home recorded in `path`, if the file names an absolute directory that exists.
fn read_pointer(path: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(path).ok()?;
    let root = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    (root.is_absolute() && root.is_dir()).then_some(root)
}

fn write_pointer(path: &Path, root: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut text = root.as_os_str().as_encoded_bytes().to_vec();
    text.push(b'\n');
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

/// [`Home::from_env`]'s order over given inputs: the `ZCS_HOME` value, the working
/// directory and the remembered home.
fn resolve(env: Option<PathBuf>, cwd: &Path, remembered: Option<PathBuf>) -> Home {
    if let Some(raw) = env {
        let root = if raw.is_absolute() {
            raw
        } else {
            cwd.join(raw)
        };
        return Home { root };
    }
    let local = cwd.join(DEFAULT_HOME);
    if local.is_dir() {
        return Home { root: local };
    }
    Home {
        root: remembered.unwrap_or(local),
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

    #[test]
    fn resolution_order_env_then_local_then_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("elsewhere");
        fs::create_dir_all(&cwd).unwrap();
        let started = dir.path().join("started/zcs-data");
        fs::create_dir_all(&started).unwrap();
        // ZCS_HOME wins, relative to the working directory.
        let h = resolve(Some("h".into()), &cwd, Some(started.clone()));
        assert_eq!(h.root(), cwd.join("h"));
        // No ./zcs-data here: the remembered home.
        let h = resolve(None, &cwd, Some(started.clone()));
        assert_eq!(h.root(), started);
        // Nothing remembered: ./zcs-data, to be created.
        assert_eq!(resolve(None, &cwd, None).root(), cwd.join(DEFAULT_HOME));
        // A ./zcs-data that exists beats the remembered one.
        fs::create_dir_all(cwd.join(DEFAULT_HOME)).unwrap();
        let h = resolve(None, &cwd, Some(started));
        assert_eq!(h.root(), cwd.join(DEFAULT_HOME));
    }

    #[test]
    fn pointer_round_trips_and_ignores_missing_homes() {
        let dir = tempfile::tempdir().unwrap();
        let ptr = dir.path().join("cfg/zcs/home");
        let home = dir.path().join("my home");
        fs::create_dir_all(&home).unwrap();
        write_pointer(&ptr, &home).unwrap();
        assert_eq!(read_pointer(&ptr), Some(home.clone()));
        fs::remove_dir(&home).unwrap();
        assert_eq!(read_pointer(&ptr), None);
        fs::write(&ptr, "relative/path\n").unwrap();
        assert_eq!(read_pointer(&ptr), None);
    }
}
