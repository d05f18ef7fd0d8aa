//! What every command-line tool does before its real work.

/// Lets the tool end quietly when its output pipe closes (`zmlocalconfig | head -2`), as
/// C tools do, instead of panicking on the failed write: Rust ignores SIGPIPE by default,
/// this puts the default action back.
pub fn default_sigpipe() {
    // SAFETY: SIG_DFL is a valid disposition for SIGPIPE, and nothing else in the tools
    // installs a handler for it that this could race with.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
