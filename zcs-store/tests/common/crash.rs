//! Kill tests: a child process (the test binary itself, running one named test) that
//! appends to a store from four tasks forever and prints `ACK <id> <n>` after each
//! append returns, and the parent half that starts it, collects acknowledgements and
//! kills it with SIGKILL.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Store, StoreConfig, StoreOptions};

use super::simple_message;

const CHILD_DIR: &str = "ZCS_STORE_CRASH_CHILD_DIR";
const CHILD_ACCOUNT: &str = "ZCS_STORE_CRASH_CHILD_ACCOUNT";
const CHILD_ROLLOVER: &str = "ZCS_STORE_CRASH_CHILD_ROLLOVER";

/// The child half: does nothing unless [`run_and_kill`] started this process. Call it
/// from a `#[test]` named as the parent passes to `run_and_kill`.
pub fn child_appends_forever() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let acct: ZimbraId = std::env::var(CHILD_ACCOUNT).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut opts = StoreOptions::default();
        if let Ok(bytes) = std::env::var(CHILD_ROLLOVER) {
            opts.redo_rollover_bytes = bytes.parse().unwrap();
        }
        let store = Store::open_with(StoreConfig::under(&dir), opts)
            .await
            .unwrap();
        let mb = store.mailbox(acct).await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..4usize {
            let mb = mb.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let n = t * 1_000_000 + i;
                    let m = mb
                        .append(ItemId(folder::INBOX), &simple_message(n), Flags(0), 1)
                        .await
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {} {n}", m.id.0).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Starts the test `child_test` of this binary as the child (appending to the store
/// under `dir` for `acct`, rolling the redo log over at `rollover` bytes when given),
/// reads `count` acknowledgements, kills it with SIGKILL and returns them as
/// `(item id, message number)`.
pub fn run_and_kill(
    child_test: &str,
    dir: &Path,
    acct: ZimbraId,
    rollover: Option<u64>,
    count: usize,
) -> Vec<(i32, usize)> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    if let Some(bytes) = rollover {
        cmd.env(CHILD_ROLLOVER, bytes.to_string());
    }
    let mut child = cmd
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ACCOUNT, acct.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("ACK ") else {
            continue;
        };
        let mut parts = rest.split(' ');
        let id: i32 = parts.next().unwrap().parse().unwrap();
        let n: usize = parts.next().unwrap().parse().unwrap();
        acked.push((id, n));
        if acked.len() >= count {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(acked.len() >= count, "child stopped early");
    acked
}
