//! The HTTP listeners: the user SOAP/JSON API and REST on `zimbraMailPort` and
//! `zimbraMailSSLPort`, the admin API on `zimbraAdminPort`.
//!
//! LIMITATION: none is served yet (issue 8); this list is where they are added.

use super::Planned;

/// The listeners of this front end.
pub fn listeners() -> Vec<Planned> {
    Vec::new()
}
