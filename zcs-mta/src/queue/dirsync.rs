//! Group commit of the queue directories' fsyncs: a queue file is durable once its
//! own data is fsynced, it is renamed into its queue directory and that directory is
//! fsynced (the new name is on disk). Concurrent writers into one directory share the
//! directory fsync: each takes a ticket after its rename; one of them fsyncs the
//! directory for every ticket taken so far while the others wait; who arrives during
//! that fsync waits for the next one, which one of them starts. A lone writer fsyncs at
//! once, as before; under load there is one directory fsync per round instead of one
//! per message.
//!
//! Correctness: a ticket is taken only after its rename returned, and a round covers
//! the tickets taken before its fsync started, so every covered rename is in the
//! directory the fsync makes durable. A failed fsync fails every ticket of its round
//! (each caller reports the error and removes nothing it cannot vouch for).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The fsync rounds of one directory.
#[derive(Default)]
pub(crate) struct DirGroup {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Tickets handed out.
    taken: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A round is running.
    syncing: bool,
    /// The last failed round: the tickets up to `.0` failed with `.1`.
    failed: Option<(u64, io::ErrorKind, String)>,
}

impl DirGroup {
    /// Returns once a `sync` run after this call started has succeeded (or failed:
    /// its error). `sync` is what makes the directory durable; one caller runs it for
    /// the whole round.
    pub(crate) fn sync_with(&self, sync: impl Fn() -> io::Result<()>) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.taken += 1;
        let ticket = st.taken;
        loop {
            if let Some((upto, kind, text)) = &st.failed
                && ticket <= *upto
                && ticket > st.synced
            {
                return Err(io::Error::new(*kind, text.clone()));
            }
            if st.synced >= ticket {
                return Ok(());
            }
            if !st.syncing {
                // Lead a round covering every ticket taken so far.
                st.syncing = true;
                let upto = st.taken;
                drop(st);
                let result = sync();
                st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                st.syncing = false;
                match &result {
                    Ok(()) => st.synced = st.synced.max(upto),
                    Err(e) => st.failed = Some((upto, e.kind(), e.to_string())),
                }
                self.done.notify_all();
                return result;
            }
            st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The [`DirGroup`] of each directory of one queue.
#[derive(Default)]
pub(crate) struct DirSyncs {
    groups: Mutex<HashMap<PathBuf, Arc<DirGroup>>>,
}

impl DirSyncs {
    /// Makes `dir`'s entries as of this call durable, sharing the fsync with concurrent
    /// callers for the same directory.
    pub(crate) fn sync(&self, dir: &Path) -> io::Result<()> {
        let group = {
            let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            groups.entry(dir.to_path_buf()).or_default().clone()
        };
        group.sync_with(|| std::fs::File::open(dir).and_then(|d| d.sync_all()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lone_caller_syncs_at_once() {
        let g = DirGroup::default();
        let runs = AtomicUsize::new(0);
        for _ in 0..3 {
            g.sync_with(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn concurrent_callers_share_rounds() {
        let g = Arc::new(DirGroup::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (g, runs) = (g.clone(), runs.clone());
                std::thread::spawn(move || {
                    g.sync_with(|| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        Ok(())
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let runs = runs.load(Ordering::SeqCst);
        assert!((1..32).contains(&runs), "{runs} fsyncs for 32 callers");
    }

    #[test]
    fn a_failed_round_fails_its_callers_and_the_next_round_runs_again() {
        let g = DirGroup::default();
        let err = g.sync_with(|| Err(io::Error::other("disk gone")));
        assert_eq!(err.unwrap_err().to_string(), "disk gone");
        // A later caller is not answered by the failed round: it runs its own.
        let runs = AtomicUsize::new(0);
        g.sync_with(|| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
