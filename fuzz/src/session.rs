//! Runs one IMAP connection over bytes in memory: the client's input is read from a
//! buffer (then end of file), everything the server writes is collected and returned.
//!
//! The stream never returns `Pending`, so a session runs to completion without any
//! timer firing (authentication failures are not delayed in the fuzz configuration).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use zcs_server::imap::{ImapBackend, ImapConfig, serve_connection};

/// More server output than this makes writes fail, as a client that stopped reading.
const MAX_OUTPUT: usize = 32 << 20;

/// The client side of the connection, as the server sees it.
struct MemStream {
    input: Vec<u8>,
    pos: usize,
    output: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for MemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let rest = &self.input[self.pos..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        if out.len() + data.len() > MAX_OUTPUT {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        out.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime can always be built")
    })
}

/// The listener settings used by the fuzz targets: the shipped defaults, except that
/// failed logins are not delayed and literals are capped at 1 MiB to keep runs fast.
pub fn config() -> ImapConfig {
    ImapConfig {
        auth_failure_delay: Duration::ZERO,
        max_literal: 1 << 20,
        max_bad_commands: 1000,
        max_auth_failures: 1000,
        ..ImapConfig::default()
    }
}

/// Runs one connection to completion: greeting, then `input` as the client's bytes,
/// then end of file. Returns every byte the server wrote.
pub fn run(backend: Arc<dyn ImapBackend>, config: ImapConfig, input: &[u8]) -> Vec<u8> {
    let output = Arc::new(Mutex::new(Vec::new()));
    let stream = MemStream {
        input: input.to_vec(),
        pos: 0,
        output: output.clone(),
    };
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 14300));
    let (_keep, shutdown) = watch::channel(false);
    runtime().block_on(serve_connection(
        stream,
        peer,
        Arc::new(config),
        backend,
        shutdown,
    ));
    let out = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if debug() {
        eprintln!(
            "--- client\n{}\n--- server\n{}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(&out)
        );
    }
    out
}

/// Whether `ZCS_FUZZ_DEBUG` is set: then [`run`] prints the conversation to stderr (for
/// looking at what a seed or a crash input does; never set it while fuzzing).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("ZCS_FUZZ_DEBUG").is_some())
}
