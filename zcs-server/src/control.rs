//! Process control for `zmcontrol`: the pid file and listener status file a running
//! server writes, and starting, stopping and probing that server from another process.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::home::Home;

/// One listener a running server reports: the service it belongs to (`mailbox`,
/// `mta`), the protocol, the address it is bound to (or was meant to bind), and why it
/// is not listening when it could not be bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerStatus {
    pub service: String,
    pub protocol: String,
    pub addr: SocketAddr,
    pub error: Option<String>,
}

/// The status file path of `home`.
pub fn status_file(home: &Home) -> std::path::PathBuf {
    home.log().join("zcs.listeners")
}

/// Writes the pid file and the listener status file of a server that has bound all its
/// listeners. Each status line is `service protocol address`, followed by `! reason`
/// for a listener that could not be bound.
///
/// # Errors
/// The log directory is not writable.
pub fn write_running(home: &Home, listeners: &[ListenerStatus]) -> io::Result<()> {
    fs::write(home.pid_file(), format!("{}\n", std::process::id()))?;
    let text: String = listeners
        .iter()
        .map(|l| match &l.error {
            None => format!("{} {} {}\n", l.service, l.protocol, l.addr),
            Some(e) => format!("{} {} {} ! {}\n", l.service, l.protocol, l.addr, e),
        })
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
            let error = line.split_once(" ! ").map(|(_, e)| e.to_string());
            Some(ListenerStatus {
                service,
                protocol,
                addr,
                error,
            })
        })
        .collect()
}

/// The pid of the running server: `None` unless the home's lock is held (a server that
/// died leaves a pid file but not the lock) and the pid file names a live process.
pub fn running_pid(home: &Home) -> Option<i32> {
    if home.root().exists() && home.lock().is_ok() {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_status_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        home.create_dirs().unwrap();
        let listeners = vec![
            ListenerStatus {
                service: "mailbox".into(),
                protocol: "imap".into(),
                addr: "127.0.0.1:7143".parse().unwrap(),
                error: None,
            },
            ListenerStatus {
                service: "mta".into(),
                protocol: "smtp".into(),
                addr: "0.0.0.0:25".parse().unwrap(),
                error: Some("permission denied".into()),
            },
        ];
        write_running(&home, &listeners).unwrap();
        assert_eq!(read_listeners(&home), listeners);
        clear_running(&home);
        assert!(read_listeners(&home).is_empty());
    }

    #[test]
    fn a_pid_file_without_the_lock_is_not_a_running_server() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        home.create_dirs().unwrap();
        fs::write(home.pid_file(), format!("{}\n", std::process::id())).unwrap();
        assert_eq!(running_pid(&home), None);
        let _lock = home.lock().unwrap();
        assert_eq!(running_pid(&home), Some(std::process::id() as i32));
    }
}
