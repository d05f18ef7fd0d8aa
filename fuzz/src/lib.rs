//! Shared harness code for the zcs fuzz targets: an in-memory IMAP account
//! ([`backend`]), an in-memory client connection and the driver that runs one IMAP
//! session over it ([`session`]), and a strict checker of the FETCH responses the
//! server writes ([`wire`]).
//!
//! Nothing here is product code; it exists so the IMAP targets can reach the private
//! parsers of `zcs-server` (command parser, sequence sets, MIME walk) through the one
//! public entry point that takes raw bytes, `zcs_server::imap::serve_connection`.

pub mod backend;
pub mod session;
pub mod wire;
