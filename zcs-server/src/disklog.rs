//! Disk and log housekeeping for the scheduled jobs and zmcontrol (Zimbra's `zmdisklog` and
//! the log-pruning crontab line): the usage of each volume of the home, the alert lines at the
//! `zmdisklog_warn_threshold` / `zmdisklog_critical_threshold` percentages, and the removal of
//! rolled-over logs past their retention.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::frontends::Context;

/// Usage of the file system holding `path`, in percent, with its device name when the
/// mount table says.
pub fn disk_usage(path: &Path) -> Option<u8> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` has room for the result.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded and filled `st`.
    let st = unsafe { st.assume_init() };
    let total = st.f_blocks as u128 * st.f_frsize as u128;
    let avail = st.f_bavail as u128 * st.f_frsize as u128;
    let free = st.f_bfree as u128 * st.f_frsize as u128;
    if total == 0 {
        return None;
    }
    // As df computes it: used / (used + available to users).
    let used = total.saturating_sub(free);
    let denom = used + avail;
    (denom > 0).then(|| ((used * 100).div_ceil(denom)).min(100) as u8)
}

/// The alert lines for every volume of the home over `zmdisklog_warn_threshold` (85)
/// or `zmdisklog_critical_threshold` (95), in Zimbra's words.
pub fn disk_alerts(ctx: &Context) -> Vec<String> {
    let get = |k: &str, d: u8| ctx.subs.lc.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let warn = get("zmdisklog_warn_threshold", 85);
    let crit = get("zmdisklog_critical_threshold", 95);
    let path = |k: &str| ctx.subs.lc.get(k).map(PathBuf::from);
    let mut volumes: Vec<PathBuf> = vec![ctx.home.root().to_path_buf()];
    volumes.extend(
        [
            "zcs_store_volume",
            "zcs_index_volume",
            "zcs_redolog_directory",
        ]
        .iter()
        .filter_map(|k| path(k)),
    );
    alerts_for(&ctx.subs.hostname, &volumes, warn, crit, disk_usage)
}

/// [`disk_alerts`] over given volumes and a usage probe.
pub fn alerts_for(
    host: &str,
    volumes: &[PathBuf],
    warn: u8,
    crit: u8,
    usage: impl Fn(&Path) -> Option<u8>,
) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for v in volumes {
        let Some(pct) = usage(v) else { continue };
        if !seen.insert(pct.to_string() + &v.display().to_string()) {
            continue;
        }
        let level = if pct >= crit {
            "critical"
        } else if pct >= warn {
            "warning"
        } else {
            continue;
        };
        out.push(format!(
            "Disk {level}: {host} {} on device {} at {pct}%",
            v.display(),
            v.display()
        ));
    }
    out
}

/// Removes rolled-over logs (`*.log.*`, `*.out.*`) in `dir` older than `days`; returns
/// how many.
pub fn prune_logs(dir: &Path, days: u32, now: std::time::SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let limit = Duration::from_secs(u64::from(days) * 86_400);
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.contains(".log.") || name.contains(".out.")) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > limit);
        if old && e.metadata().is_ok_and(|m| m.is_file()) && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_follow_thresholds() {
        let vols = vec![
            PathBuf::from("/a"),
            PathBuf::from("/b"),
            PathBuf::from("/c"),
        ];
        let usage = |p: &Path| match p.to_str() {
            Some("/a") => Some(50),
            Some("/b") => Some(90),
            _ => Some(97),
        };
        let alerts = alerts_for("mail.test", &vols, 85, 95, usage);
        assert_eq!(alerts.len(), 2);
        assert!(
            alerts[0].starts_with("Disk warning: mail.test /b"),
            "{alerts:?}"
        );
        assert!(alerts[1].starts_with("Disk critical: mail.test /c") && alerts[1].ends_with("97%"));
        assert!(disk_usage(Path::new("/")).is_some_and(|p| p <= 100));
    }

    #[test]
    fn prune_removes_only_old_rolled_logs() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "mailbox.log",
            "mailbox.log.2026-01-01",
            "zcs.out.202601010000",
            "keep.txt",
        ] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        let later = std::time::SystemTime::now() + Duration::from_secs(40 * 86_400);
        assert_eq!(prune_logs(dir.path(), 30, later), 2);
        assert!(dir.path().join("mailbox.log").exists() && dir.path().join("keep.txt").exists());
        assert_eq!(prune_logs(dir.path(), 30, std::time::SystemTime::now()), 0);
    }
}
