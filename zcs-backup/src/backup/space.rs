//! Free space on the backup target: the pre-flight check `zimbraBackupMinFreeSpace`
//! (spec 04 §1.6: a percentage `NN%` of the target's file system, or a size such as
//! `300MB` or `50GB`; `0` turns it off) and the estimate check before a session.

use std::path::{Path, PathBuf};

use crate::error::BackupError;

/// What `zimbraBackupMinFreeSpace` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinFree {
    /// No check (`0`, the default).
    Off,
    /// At least this share of the file system free (`25%`).
    Percent(u8),
    /// At least this many bytes free (`300MB`).
    Bytes(u64),
}

impl MinFree {
    /// Parses the attribute value: `0`, `NN%` (0 to 100) or a size with an optional
    /// binary unit (`B`, `KB`, `MB`, `GB`, `TB`; 1KB = 1024 bytes).
    ///
    /// # Errors
    /// [`BackupError::Invalid`] naming the value.
    pub fn parse(text: &str) -> Result<MinFree, BackupError> {
        let t = text.trim();
        let bad =
            |why: String| BackupError::Invalid(format!("zimbraBackupMinFreeSpace {t:?}: {why}"));
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<u8>() {
                Ok(0) => Ok(MinFree::Off),
                Ok(p) if p <= 100 => Ok(MinFree::Percent(p)),
                _ => Err(bad("a percentage must be 0% to 100%".into())),
            };
        }
        match zcs_core::attrs::value::parse_size(t).map_err(bad)? {
            0 => Ok(MinFree::Off),
            n => Ok(MinFree::Bytes(n)),
        }
    }

    /// The bytes that must be free on a file system of `total` bytes.
    pub fn required(&self, total: u64) -> u64 {
        match *self {
            MinFree::Off => 0,
            MinFree::Percent(p) => (u128::from(total) * u128::from(p)).div_ceil(100) as u64,
            MinFree::Bytes(n) => n,
        }
    }
}

/// Free and total bytes of a file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsSpace {
    /// Bytes an unprivileged writer may still use.
    pub free: u64,
    /// Size of the file system.
    pub total: u64,
}

/// The nearest existing directory at or above `path` (a target not created yet is
/// measured on the file system it will be created on).
fn existing(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    while !p.exists() {
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    p
}

/// Free and total space of the file system holding `path`.
///
/// # Errors
/// `statvfs` failed.
pub fn fs_space(path: &Path) -> Result<FsSpace, BackupError> {
    use std::os::unix::ffi::OsStrExt;
    let at = existing(path);
    let c = std::ffi::CString::new(at.as_os_str().as_bytes())
        .map_err(|_| BackupError::Invalid(format!("bad path {}", at.display())))?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(BackupError::io(
            "check free space",
            at,
            std::io::Error::last_os_error(),
        ));
    }
    let frsize = st.f_frsize as u64;
    Ok(FsSpace {
        free: (st.f_bavail as u64).saturating_mul(frsize),
        total: (st.f_blocks as u64).saturating_mul(frsize),
    })
}

/// Refuses to start a session when `target` has less free space than `min` asks.
///
/// # Errors
/// [`BackupError::Invalid`] saying how much is free and what the attribute asks, so
/// the operator sees why no session was started.
pub fn check_min_free(target: &Path, spec: &str, min: MinFree) -> Result<(), BackupError> {
    if min == MinFree::Off {
        return Ok(());
    }
    let space = fs_space(target)?;
    let need = min.required(space.total);
    if space.free >= need {
        return Ok(());
    }
    let pct = if space.total == 0 {
        0.0
    } else {
        space.free as f64 * 100.0 / space.total as f64
    };
    tracing::error!(target = %target.display(), free = space.free, need,
        "backup not started: below zimbraBackupMinFreeSpace");
    Err(BackupError::Invalid(format!(
        "backup not started: {} has {} free ({pct:.1}% of {}), less than \
         zimbraBackupMinFreeSpace {} ({}); free some space or lower the attribute",
        target.display(),
        human(space.free),
        human(space.total),
        spec.trim(),
        human(need),
    )))
}

/// `1.5 GB`-style size for messages.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_forms_parse() {
        assert_eq!(MinFree::parse("0").unwrap(), MinFree::Off);
        assert_eq!(MinFree::parse("0%").unwrap(), MinFree::Off);
        assert_eq!(MinFree::parse("25%").unwrap(), MinFree::Percent(25));
        assert_eq!(MinFree::parse("300MB").unwrap(), MinFree::Bytes(300 << 20));
        assert_eq!(MinFree::parse("50GB").unwrap(), MinFree::Bytes(50 << 30));
        assert_eq!(MinFree::parse("4096").unwrap(), MinFree::Bytes(4096));
        for bad in ["120%", "-1", "lots", "5 parsecs", "%"] {
            assert!(MinFree::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(MinFree::Percent(25).required(1000), 250);
        assert_eq!(MinFree::Percent(99).required(101), 100);
        assert_eq!(MinFree::Bytes(7).required(1), 7);
    }

    #[test]
    fn the_check_refuses_below_and_passes_above() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("not-yet");
        check_min_free(&t, "0", MinFree::Off).unwrap();
        check_min_free(&t, "1KB", MinFree::Bytes(1024)).unwrap();
        let err = check_min_free(&t, "100%", MinFree::Percent(100))
            .unwrap_err()
            .to_string();
        assert!(err.contains("backup not started"), "{err}");
        assert!(err.contains("zimbraBackupMinFreeSpace 100%"), "{err}");
        assert!(check_min_free(&t, "1000TB", MinFree::Bytes(1000 << 40)).is_err());
        assert!(!t.exists());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,12}") {
            let _ = MinFree::parse(&s);
        }
    }
}
