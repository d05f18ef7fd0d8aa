//! Files posted to `/service/upload`, kept in memory until a request uses them by
//! upload id (`aid`): SendMsg/SaveDraft `attach aid=`, AddMsg `m aid=`, SaveDocument
//! `upload id=`. An upload belongs to the account that posted it and no other can read
//! it; unused uploads expire after [`UPLOAD_TTL`] (Zimbra's `zimbraFileUploadTimeout`
//! is of the same order) and the whole table is bounded by [`MAX_TOTAL_BYTES`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zcs_core::ZimbraId;

/// How long an upload is kept when no request uses it.
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);

/// Most bytes held by all uploads together.
pub const MAX_TOTAL_BYTES: usize = 512 * 1024 * 1024;

/// One uploaded file.
#[derive(Debug)]
pub struct Upload {
    /// Its upload id (`aid`): `<uuid>:<uuid>` as Zimbra writes them.
    pub id: String,
    /// The account that posted it.
    pub account: ZimbraId,
    /// The client's file name, if it gave one.
    pub filename: Option<String>,
    /// The declared content type (`application/octet-stream` when none).
    pub content_type: String,
    pub data: Vec<u8>,
    created: Instant,
}

/// The upload table.
#[derive(Debug)]
pub struct Uploads {
    map: Mutex<HashMap<String, Arc<Upload>>>,
    limit: usize,
}

impl Default for Uploads {
    fn default() -> Uploads {
        Uploads::with_limit(MAX_TOTAL_BYTES)
    }
}

/// Why an upload was not kept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    /// The server holds too many upload bytes already.
    #[error("upload storage is full")]
    Full,
}

impl Uploads {
    /// A table holding at most `limit` bytes.
    pub fn with_limit(limit: usize) -> Uploads {
        Uploads {
            map: Mutex::new(HashMap::new()),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Upload>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `data` for `account`; returns the new upload id.
    ///
    /// # Errors
    /// [`UploadError::Full`] when the table would exceed its limit.
    pub fn put(
        &self,
        account: ZimbraId,
        filename: Option<String>,
        content_type: Option<String>,
        data: Vec<u8>,
    ) -> Result<String, UploadError> {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, u| now.saturating_duration_since(u.created) < UPLOAD_TTL);
        let held: usize = map.values().map(|u| u.data.len()).sum();
        if held.saturating_add(data.len()) > self.limit {
            return Err(UploadError::Full);
        }
        let id = format!("{}:{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let content_type = content_type
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/octet-stream".into());
        map.insert(
            id.clone(),
            Arc::new(Upload {
                id: id.clone(),
                account,
                filename,
                content_type,
                data,
                created: now,
            }),
        );
        Ok(id)
    }

    /// The upload `aid` of `account`; `None` when unknown, expired or another
    /// account's (the same answer, so ids of others cannot be probed).
    pub fn get(&self, account: ZimbraId, aid: &str) -> Option<Arc<Upload>> {
        let map = self.lock();
        let u = map.get(aid.trim())?;
        (u.account == account && u.created.elapsed() < UPLOAD_TTL).then(|| u.clone())
    }

    /// As [`Uploads::get`], and forgets the upload (it has been used).
    pub fn take(&self, account: ZimbraId, aid: &str) -> Option<Arc<Upload>> {
        let u = self.get(account, aid)?;
        self.lock().remove(aid.trim());
        Some(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_only_and_single_use() {
        let t = Uploads::default();
        let (a, b) = (ZimbraId::new(), ZimbraId::new());
        let id = t
            .put(a, Some("x.txt".into()), None, b"hello".to_vec())
            .expect("put");
        assert!(t.get(b, &id).is_none());
        let u = t.get(a, &id).expect("owner reads");
        assert_eq!(u.content_type, "application/octet-stream");
        assert_eq!(u.data, b"hello");
        assert!(t.take(a, &id).is_some());
        assert!(t.get(a, &id).is_none());
        assert!(t.get(a, "nonsense").is_none());
    }

    #[test]
    fn bounded() {
        let t = Uploads::with_limit(10);
        let big = vec![0u8; 10];
        let a = ZimbraId::new();
        assert!(t.put(a, None, None, big).is_ok());
        assert_eq!(t.put(a, None, None, vec![1]), Err(UploadError::Full));
    }
}
