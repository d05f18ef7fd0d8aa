//! The entry cache seen from `Provisioning`: putting a [`CachedDirectory`] in front of
//! the directory (`with_cache`) and Zimbra's `flushCache` by cache type and optional
//! names or ids (`flush_cache`, `flush_cache_types`).
//!
//! Not in charge of the cache itself (`crate::cache`) nor of reaching a running server
//! (the server's `flushCache` request and `zmprov fc` do that).

use std::sync::Arc;

use zcs_core::{ServiceError, ServiceResult};

use super::Provisioning;
use crate::cache::{CacheKind, CacheSettings, CachedDirectory};
use crate::directory::EntryKey;

/// The `flushCache` types Zimbra knows that hold no directory entries here (file-based
/// caches, the license, the rights caches): flushing them succeeds and does nothing.
pub const NON_ENTRY_CACHES: &[&str] = &[
    "acl",
    "globalgrant",
    "locale",
    "skin",
    "uistrings",
    "license",
    "mime",
    "galgroup",
];

/// One `flushCache` type as the caller named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushType {
    /// A cache of directory entries.
    Entries(CacheKind),
    /// `all`: every entry cache.
    All,
    /// A cache that holds no directory entries here ([`NON_ENTRY_CACHES`]).
    Other,
}

impl FlushType {
    /// Parses a `flushCache` type (any case): the entry kinds (`account`, `cos`,
    /// `domain`, `group`, `server`, `config`, `zimlet`), `all`, Zimbra's other names
    /// (`acl`, `skin`, ...). `None` for anything else.
    pub fn parse(name: &str) -> Option<FlushType> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("all") {
            return Some(FlushType::All);
        }
        if let Some(k) = CacheKind::parse(name) {
            return Some(FlushType::Entries(k));
        }
        NON_ENTRY_CACHES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
            .then_some(FlushType::Other)
    }
}

impl Provisioning {
    /// The same provisioning with an entry cache in front of its directory, every read
    /// and write of this handle (and its clones) going through it. Calling it twice
    /// replaces the first cache's settings, not stacks a second one.
    pub fn with_cache(mut self, settings: CacheSettings) -> Self {
        let inner = match &self.cache {
            Some(c) => c.inner().clone(),
            None => self.dir.clone(),
        };
        let cache = Arc::new(CachedDirectory::new(inner, settings));
        self.dir = cache.clone();
        self.cache = Some(cache);
        self
    }

    /// The cache in front of the directory, if [`Provisioning::with_cache`] put one.
    pub fn cache(&self) -> Option<&Arc<CachedDirectory>> {
        self.cache.as_ref()
    }

    /// `flushCache <kind> [key]`: drops the cached entry `key` names (or every entry of
    /// `kind`); the next read goes to the directory. Returns how many entries were
    /// dropped; 0 without a cache.
    pub fn flush_cache(&self, kind: CacheKind, key: Option<&EntryKey>) -> usize {
        self.cache.as_ref().map_or(0, |c| c.flush_cache(kind, key))
    }

    /// `zmprov flushCache type[,type...] [name|id ...]` on this process's cache: each
    /// type is parsed with [`FlushType::parse`]; names apply to every entry type given
    /// (and are ignored for `all`, which empties every entry cache). Returns how many
    /// cached entries were dropped.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` naming an unknown type; nothing is flushed then.
    pub fn flush_cache_types(&self, types: &[&str], keys: &[String]) -> ServiceResult<usize> {
        let mut parsed = Vec::new();
        for t in types
            .iter()
            .flat_map(|t| t.split(','))
            .filter(|t| !t.trim().is_empty())
        {
            parsed.push(FlushType::parse(t).ok_or_else(|| {
                ServiceError::invalid_request(format!("invalid cache type: {}", t.trim()))
            })?);
        }
        if parsed.is_empty() {
            return Err(ServiceError::invalid_request("missing cache type"));
        }
        let mut dropped = 0;
        for t in parsed {
            match t {
                FlushType::All => {
                    for k in CacheKind::ALL {
                        dropped += self.flush_cache(k, None);
                    }
                }
                FlushType::Entries(k) if keys.is_empty() => dropped += self.flush_cache(k, None),
                FlushType::Entries(k) => {
                    for key in keys {
                        dropped += self.flush_cache(k, Some(&EntryKey::parse(key)));
                    }
                }
                FlushType::Other => {}
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_types_parse() {
        assert_eq!(FlushType::parse("ALL"), Some(FlushType::All));
        assert_eq!(
            FlushType::parse(" account"),
            Some(FlushType::Entries(CacheKind::Account))
        );
        assert_eq!(FlushType::parse("skin"), Some(FlushType::Other));
        assert_eq!(FlushType::parse("galgroup"), Some(FlushType::Other));
        assert_eq!(FlushType::parse("bogus"), None);
    }
}
