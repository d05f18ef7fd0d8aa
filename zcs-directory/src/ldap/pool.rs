//! A small pool of bound ldap3 connections to one server, and the few LDAP operations
//! the backend needs, each returning the server's result code.
//!
//! Each slot holds one connection (ldap3 multiplexes concurrent requests on it); calls
//! take the slots in turn. A slot whose connection failed (I/O error, closed, timeout) is
//! emptied and reconnected (and bound again) by the next call that picks it. Not in
//! charge of what the operations mean.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::{Assertion, MakeCritical, RawControl};
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry, SearchResult,
};
use tokio::sync::Mutex;

use super::LdapDirectoryError;

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long any one operation may take.
const OP_TIMEOUT: Duration = Duration::from_secs(60);

/// LDAP result codes the backend interprets (RFC 4511 appendix A).
pub mod rc {
    /// success
    pub const SUCCESS: u32 = 0;
    /// noSuchObject: the entry, or the parent of an entry being added, is missing.
    pub const NO_SUCH_OBJECT: u32 = 32;
    /// entryAlreadyExists: the DN is taken.
    pub const ALREADY_EXISTS: u32 = 68;
    /// RFC 4528 §3: the assertion control's filter did not match.
    pub const ASSERTION_FAILED: u32 = 122;
    /// Client-side: a filter that does not parse (RFC 4511 filterError is not sent).
    pub const FILTER_ERROR: u32 = 87;
}

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Target {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// The DN to bind as; empty: stay anonymous.
    pub bind_dn: String,
    /// Its password (never logged).
    pub bind_password: String,
    /// StartTLS before binding.
    pub starttls: bool,
    /// The TLS client configuration; `None`: ldap3's (system roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("starttls", &self.starttls)
            .finish_non_exhaustive()
    }
}

/// The pool.
#[derive(Debug)]
pub struct Pool {
    target: Target,
    slots: Vec<Mutex<Option<Ldap>>>,
    next: AtomicUsize,
}

/// A borrowed connection: a clone of the slot's handle.
struct Conn {
    ldap: Ldap,
    slot: usize,
}

type Result<T> = std::result::Result<T, LdapDirectoryError>;

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({})", self.slot)
    }
}

/// Entries per page of a paged search.
pub const PAGE_SIZE: i32 = 500;

/// A search through RFC 2696 paged results, collected like `Ldap::search` does.
async fn paged_search(
    ldap: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: Vec<String>,
) -> std::result::Result<SearchResult, LdapError> {
    let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE_SIZE)),
    ];
    let mut stream = ldap
        .with_timeout(OP_TIMEOUT)
        .streaming_search_with(adapters, base, scope, filter, attrs)
        .await?;
    let mut entries = Vec::new();
    while let Some(entry) = stream.next().await? {
        entries.push(entry);
    }
    let res = stream.finish().await;
    Ok(SearchResult(entries, res))
}

/// The attribute list of an add or the values of a modify, as ldap3 takes them.
fn set(values: &[String]) -> HashSet<String> {
    values.iter().cloned().collect()
}

/// One change in a modify request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace every value (none: delete the attribute).
    Replace(String, Vec<String>),
    /// Add values.
    Add(String, Vec<String>),
    /// Delete values (none: the whole attribute).
    Delete(String, Vec<String>),
}

impl Pool {
    /// A pool of `size` (at least 1) connections to `target`, opened lazily.
    pub fn new(target: Target, size: usize) -> Self {
        Pool {
            target,
            slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Opens and binds one connection.
    async fn connect(&self) -> Result<Ldap> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(CONNECT_TIMEOUT)
            .set_starttls(self.target.starttls);
        if let Some(tls) = &self.target.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.target.url)
            .await
            .map_err(|source| LdapDirectoryError::Connect {
                url: self.target.url.clone(),
                source,
            })?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory LDAP connection ended");
            }
        });
        if !self.target.bind_dn.is_empty() {
            let res = ldap
                .with_timeout(OP_TIMEOUT)
                .simple_bind(&self.target.bind_dn, &self.target.bind_password)
                .await
                .map_err(LdapDirectoryError::op("bind"))?;
            if res.rc != rc::SUCCESS {
                return Err(LdapDirectoryError::Bind {
                    dn: self.target.bind_dn.clone(),
                    rc: res.rc,
                    text: res.text,
                });
            }
        }
        Ok(ldap)
    }

    /// The next slot's connection, (re)connecting it when empty or closed.
    async fn get(&self) -> Result<Conn> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut guard = self.slots[slot].lock().await;
        if let Some(ldap) = guard.as_mut()
            && !ldap.is_closed()
        {
            return Ok(Conn {
                ldap: ldap.clone(),
                slot,
            });
        }
        let ldap = self.connect().await?;
        *guard = Some(ldap.clone());
        Ok(Conn { ldap, slot })
    }

    /// Empties the slot of a connection that failed below the LDAP layer.
    async fn check<T>(&self, c: &Conn, r: &std::result::Result<T, LdapError>) {
        if let Err(e) = r
            && !matches!(e, LdapError::LdapResult { .. })
        {
            tracing::warn!(error = %e, slot = c.slot, "directory LDAP connection dropped");
            *self.slots[c.slot].lock().await = None;
        }
    }

    /// Searches; `noSuchObject` (the base is missing) is an empty result. One-level and
    /// subtree searches ask for pages of [`PAGE_SIZE`] (RFC 2696), so a server's size
    /// limit for the bind DN does not cut listings short.
    pub async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>> {
        let mut c = self.get().await?;
        let attrs: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
        let r = if scope == Scope::Base {
            c.ldap
                .with_timeout(OP_TIMEOUT)
                .search(base, scope, filter, attrs)
                .await
        } else {
            paged_search(&mut c.ldap, base, scope, filter, attrs).await
        };
        self.check(&c, &r).await;
        let res = r.map_err(LdapDirectoryError::op("search"))?;
        match res.1.rc {
            rc::SUCCESS => Ok(res.0.into_iter().map(SearchEntry::construct).collect()),
            rc::NO_SUCH_OBJECT => Ok(Vec::new()),
            code => Err(LdapDirectoryError::Refused {
                step: "search",
                dn: base.to_string(),
                rc: code,
                text: res.1.text,
            }),
        }
    }

    /// Adds an entry; returns the result code.
    pub async fn add(&self, dn: &str, attrs: &[(String, Vec<String>)]) -> Result<(u32, String)> {
        let attrs: Vec<(String, HashSet<String>)> = attrs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.clone(), set(v)))
            .collect();
        let mut c = self.get().await?;
        let r = c.ldap.with_timeout(OP_TIMEOUT).add(dn, attrs).await;
        self.check(&c, &r).await;
        let res = r.map_err(LdapDirectoryError::op("add"))?;
        Ok((res.rc, res.text))
    }

    /// Applies `changes` in order, as one modify request; with `assert`, only when the
    /// entry matches that filter (RFC 4528). Returns the result code.
    pub async fn modify(
        &self,
        dn: &str,
        changes: &[Change],
        assert: Option<&str>,
    ) -> Result<(u32, String)> {
        let mods: Vec<Mod<String>> = changes
            .iter()
            .map(|c| match c {
                Change::Replace(n, v) => Mod::Replace(n.clone(), set(v)),
                Change::Add(n, v) => Mod::Add(n.clone(), set(v)),
                Change::Delete(n, v) => Mod::Delete(n.clone(), set(v)),
            })
            .collect();
        let mut c = self.get().await?;
        let mut ldap = c.ldap.clone();
        let op = ldap.with_timeout(OP_TIMEOUT);
        if let Some(filter) = assert {
            // ldap3 panics on an assertion filter it cannot parse: check it first.
            if ldap3::parse_filter(filter).is_err() {
                return Err(LdapDirectoryError::Refused {
                    step: "modify",
                    dn: dn.to_string(),
                    rc: rc::FILTER_ERROR,
                    text: format!("bad assertion filter {filter:?}"),
                });
            }
            let ctrl: RawControl = Assertion { filter }.critical().into();
            op.with_controls(ctrl);
        }
        let r = op.modify(dn, mods).await;
        c.ldap = ldap;
        self.check(&c, &r).await;
        let res = r.map_err(LdapDirectoryError::op("modify"))?;
        Ok((res.rc, res.text))
    }

    /// Deletes one entry; returns the result code.
    pub async fn delete(&self, dn: &str) -> Result<(u32, String)> {
        let mut c = self.get().await?;
        let r = c.ldap.with_timeout(OP_TIMEOUT).delete(dn).await;
        self.check(&c, &r).await;
        let res = r.map_err(LdapDirectoryError::op("delete"))?;
        Ok((res.rc, res.text))
    }

    /// Renames or moves an entry (deleting the old RDN value); returns the result code.
    pub async fn modify_dn(
        &self,
        dn: &str,
        rdn: &str,
        new_parent: Option<&str>,
    ) -> Result<(u32, String)> {
        let mut c = self.get().await?;
        let r = c
            .ldap
            .with_timeout(OP_TIMEOUT)
            .modifydn(dn, rdn, true, new_parent)
            .await;
        self.check(&c, &r).await;
        let res = r.map_err(LdapDirectoryError::op("rename"))?;
        Ok((res.rc, res.text))
    }

    /// Closes every open connection.
    pub async fn close(&self) {
        for slot in &self.slots {
            if let Some(mut ldap) = slot.lock().await.take() {
                let _ = ldap.unbind().await;
            }
        }
    }
}
