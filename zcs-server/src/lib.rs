//! zcs server: the protocol front ends, the composition of the subsystems into one
//! running server, and the library code behind the command-line tools.
//!
//! Nothing below this crate opens a socket for clients; everything here may.

pub mod account_loggers;
pub mod admin_client;
pub mod authwatch;
pub mod autoprov_poller;
pub mod autoprov_welcome;
pub mod bootstrap;
pub mod certmgr;
pub mod control;
pub mod cron;
pub mod delivery;
pub mod disklog;
pub mod egress;
pub mod frontends;
pub mod galsync_poller;
pub mod home;
pub mod hsm_job;
pub mod imap;
pub mod imap_backend;
pub mod indexer;
pub mod jobs;
pub mod listener;
pub mod localconfig;
pub mod logging;
pub mod login;
pub mod metrics;
pub mod metrics_access;
pub mod mta;
pub mod notify;
pub mod pop3;
pub mod pop3_backend;
pub mod privdrop;
pub mod proxy;
pub mod purge_job;
pub mod search;
pub mod server;
pub mod server_main;
pub mod soap;
pub mod spamtrain;
pub mod tls;
pub mod tool;
pub mod zmarchiveconfig;
pub mod zmmailbox;
pub mod zmprov;
pub mod zmstat_chart;

/// A random password of `len` characters from an alphabet without look-alikes
/// (no 0/O, 1/l/I), for generated admin and localconfig secrets.
pub fn random_password(len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Makes every file and directory this process creates private to its owner (umask
/// 077): a zcs home holds mail, password hashes and local-config secrets. Each binary
/// calls it first thing.
pub fn private_umask() {
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Caps glibc's malloc arenas at two per core (glibc's own cap is eight per core) unless
/// `MALLOC_ARENA_MAX` is set. The server allocates on many threads (the runtime's
/// workers, SQLite's, the indexer's), and each arena keeps the memory it once held: in
/// the LMTP benchmark of `benches/RESULTS.md` the server's peak RSS fell from 250-300 MB
/// to about 150 MB. The server calls it first thing, before any thread starts.
pub fn bounded_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores.saturating_mul(2).max(2)).unwrap_or(64);
        // SAFETY: mallopt only tunes the allocator; called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
