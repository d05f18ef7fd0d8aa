//! Process control for `zmcontrol`: the pid file and listener status file a running
//! server writes, and starting, stopping and probing that server from another process.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::home::Home;

/// One listener a running server reports: the service it belongs to (`mailbox`,
/// `mta`), the protocol and the address it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerStatus {
    pub service: String,
    pub protocol: String,
    pub addr: SocketAddr,
}

/// The status file path of `home`.
pub fn status_file(home: &Home) -> std::path::PathBuf {
    home.log().join("zcs.listeners")
}

/// Writes the pid file and the listener status file of a server that has bound all its
/// listeners. Each status line is `service protocol address`.
///
/// # Errors
/// The log directory is not writable.
pub fn write_running(home: &Home, listeners: &[ListenerStatus]) -> io::Result<()> {
    fs::write(home.pid_file(), format!("{}\n", std::process::id()))?;
    let text: String = listeners
        .iter()
        .map(|l| format!("{} {} {}\n", l.service, l.protocol, l.addr))
        .collect();
    let tmp = status_file(home).with_extension("tmp");
    fs::write(&tmp, text)?;
    fs::rename(tmp, status_file(home))
}

/// Removes the pid and status files at a clean shutdown. Missing files are fine.
pub fn clear_running(home: &Home) {
    let _ = fs::remove_file(home.pid_file());
    let _ = fs::remove_file(status_file(home));
}

/// The listeners the server last reported; empty when none or unreadable.
pub fn read_listeners(home: &Home) -> Vec<ListenerStatus> {
    let Ok(text) = fs::read_to_string(status_file(home)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let service = parts.next()?.to_string();
            let protocol = parts.next()?.to_string();
            let addr = parts.next()?.parse().ok()?;
            Some(ListenerStatus {
                service,
                protocol,
                addr,
            })
        })
        .collect()
}

/// The pid of the running server, if the pid file names a live process.
pub fn running_pid(home: &Home) -> Option<i32> {
    let text = fs::read_to_string(home.pid_file()).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive.then_some(pid)
}

/// Whether something accepts TCP connections at `addr` (an unspecified address is
/// probed on loopback).
pub fn probe(addr: SocketAddr) -> bool {
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    TcpStream::connect_timeout(&target, Duration::from_millis(500)).is_ok()
}

/// Sends SIGTERM to `pid` and waits up to `timeout` for it to exit, then SIGKILL.
/// Returns whether the process exited on SIGTERM.
pub fn stop_pid(pid: i32, timeout: Duration) -> bool {
    // SAFETY: plain signal delivery to a pid we read from our own pid file.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        // SAFETY: as above, signal 0 probes for existence.
        if unsafe { libc::kill(pid, 0) } != 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    false
}

/// The last `lines` lines of a log file, for showing why a start failed.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
