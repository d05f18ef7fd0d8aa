//! Copying blob files into a session fast and durably: each file copied in the kernel
//! (`std::io::copy` between files uses `copy_file_range` on Linux, so the bytes never
//! pass through user space), its write-back started at once so the disk works while the
//! next file is copied, several files at a time on a multi-core machine, and one
//! `syncfs` of the session's file system before its catalog is written, instead of an
//! `fsync` per blob. A session is only ever named complete after that sync, so a crash
//! cannot leave a complete-looking session whose blobs were never written.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::BackupError;

/// Copies `src` to the new file `dst` (which must not exist) and starts its
/// write-back; `charge` is told the size before any byte is written (the space seam).
/// Returns the bytes copied.
///
/// # Errors
/// I/O errors as they are (`NotFound` when `src` went away); `charge`'s error.
pub(crate) fn copy_file(
    src: &Path,
    dst: &Path,
    charge: impl FnOnce(u64) -> Result<(), BackupError>,
) -> Result<u64, CopyError> {
    let mut from = std::fs::File::open(src).map_err(CopyError::Read)?;
    let len = from.metadata().map_err(CopyError::Read)?.len();
    charge(len).map_err(CopyError::Budget)?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)
        .map_err(CopyError::Write)?;
    let n = std::io::copy(&mut from, &mut to).map_err(CopyError::Write)?;
    start_writeback(&to);
    Ok(n)
}

/// Why [`copy_file`] failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Opening or reading the source.
    Read(std::io::Error),
    /// Creating or writing the copy.
    Write(std::io::Error),
    /// The space seam refused it.
    Budget(BackupError),
}

/// Asks the kernel to start writing `f`'s dirty pages now, without waiting for them.
#[cfg(target_os = "linux")]
fn start_writeback(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; the call only schedules write-back.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_f: &std::fs::File) {}

/// Makes everything written under `dir` durable: one `syncfs` of its file system on
/// Linux (files, their data and the directory entries), an `fsync` of every file and
/// directory elsewhere.
///
/// # Errors
/// The sync fails (a write error the disk reported late, such as `EIO` or `ENOSPC`).
pub(crate) fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    let d = std::fs::File::open(dir).map_err(|e| BackupError::io("open", dir, e))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor of a directory on the session's file system.
        if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
            return Err(BackupError::io(
                "sync",
                dir,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).map_err(|e| BackupError::io("list", &p, e))? {
                let e = e.map_err(|e| BackupError::io("list", &p, e))?;
                if e.path().is_dir() {
                    stack.push(e.path());
                }
                let f = std::fs::File::open(e.path())
                    .map_err(|err| BackupError::io("open", e.path(), err))?;
                f.sync_all()
                    .map_err(|err| BackupError::io("sync", e.path(), err))?;
            }
        }
        d.sync_all().map_err(|e| BackupError::io("sync", dir, e))
    }
}

/// Runs `work` on every item of `items` on up to `threads` threads (at least one),
/// returning the results in order, or the first error (the other threads stop taking
/// items once one failed).
///
/// # Errors
/// The first error `work` returned.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<R, BackupError> + Sync,
) -> Result<Vec<R>, BackupError> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&work).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut parts: Vec<Result<Vec<(usize, R)>, BackupError>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        match work(item) {
                            Ok(r) => done.push((i, r)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        for h in handles {
            parts.push(h.join().unwrap_or_else(|_| {
                Err(BackupError::Invalid("a blob copy thread panicked".into()))
            }));
        }
    });
    let mut all = Vec::with_capacity(items.len());
    for p in parts {
        all.extend(p?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// How many threads copy blobs: the machine's cores, at most 4 (more only queue on
/// the same disk).
pub(crate) fn copy_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order_and_stops_at_an_error() {
        let items: Vec<u32> = (0..100).collect();
        let out = parallel_map(&items, 3, |n| Ok(n * 2)).unwrap();
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let err = parallel_map(&items, 3, |n| {
            if *n == 40 {
                Err(BackupError::Invalid("forty".into()))
            } else {
                Ok(*n)
            }
        });
        assert!(matches!(err, Err(BackupError::Invalid(m)) if m == "forty"));
        assert!(
            parallel_map::<u32, u32>(&[], 4, |n| Ok(*n))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn copy_file_copies_refuses_an_existing_copy_and_charges_first() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::write(&src, vec![7u8; 100_000]).unwrap();
        let mut charged = 0;
        let n = copy_file(&src, &dst, |n| {
            charged = n;
            Ok(())
        })
        .unwrap();
        assert_eq!((n, charged), (100_000, 100_000));
        assert_eq!(std::fs::read(&dst).unwrap(), vec![7u8; 100_000]);
        assert!(matches!(
            copy_file(&src, &dst, |_| Ok(())),
            Err(CopyError::Write(_))
        ));
        let refused = copy_file(&src, &tmp.path().join("c"), |_| {
            Err(BackupError::Invalid("full".into()))
        });
        assert!(matches!(refused, Err(CopyError::Budget(_))));
        assert!(!tmp.path().join("c").exists());
        let gone = copy_file(&tmp.path().join("none"), &tmp.path().join("d"), |_| Ok(()));
        assert!(
            matches!(gone, Err(CopyError::Read(e)) if e.kind() == std::io::ErrorKind::NotFound)
        );
        sync_tree(tmp.path()).unwrap();
    }
}
