//! The POP3 front end's backend: `pop3::Pop3Backend` implemented on the directory (who
//! may log in, and the account's POP3 preferences) and the store (the account's Inbox,
//! nothing else).
//!
//! What POP3 shows and does follows the account's effective attributes, read at login:
//! - `zimbraPop3Enabled` (COS feature) and `zimbraPrefPop3Enabled` (user choice) must
//!   both allow POP3, or the login fails like a wrong password;
//! - `zimbraPrefPop3DownloadSince` hides messages that arrived before that time;
//! - `zimbraPrefPop3IncludeSpam` adds the Junk folder's messages;
//! - `zimbraPrefPop3DeleteOption` says what DELE does at QUIT: `delete` (the default)
//!   removes the message, `trash` moves it to Trash, `read` marks it read, `keep`
//!   leaves it alone.
//!
//! The UIDL unique-id is Zimbra's: `<item id>.<content digest>`. Item ids are never
//! reused in a mailbox and a message keeps its id across moves, so the id is stable
//! and unique; the digest (URL-safe base64 SHA-256, 44 characters) makes it change if
//! the content ever did.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Flags, ItemId, folder};
use zcs_directory::Provisioning;
use zcs_index::IndexBackend;
use zcs_store::{Mailbox, MessageMeta, Store, StoreError};

use crate::login::{LoginRefusal, protocol_login};
use crate::pop3::{Pop3AuthError, Pop3Backend, Pop3Error, Pop3Maildrop, Pop3Message, Pop3Result};

/// Authenticates POP3 users against the directory and opens their maildrops.
pub struct StorePop3Backend {
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
}

impl StorePop3Backend {
    /// A backend over these subsystems; `index` loses the entries of deleted messages.
    pub fn new(prov: Arc<Provisioning>, store: Arc<Store>, index: Arc<dyn IndexBackend>) -> Self {
        StorePop3Backend { prov, store, index }
    }
}

/// What DELE does at QUIT (`zimbraPrefPop3DeleteOption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeleteOption {
    Delete,
    Trash,
    Read,
    Keep,
}

/// Parses an LDAP generalized time (`20240131235959Z`, fractions and offsets are not
/// used by Zimbra for this attribute) into ms since the epoch.
fn generalized_time_ms(value: &str) -> Option<i64> {
    let digits = value.trim().trim_end_matches('Z');
    let digits = digits.split('.').next()?;
    let parsed = match digits.len() {
        14 => chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()?,
        12 => chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok()?,
        _ => return None,
    };
    Some(parsed.and_utc().timestamp_millis())
}

#[async_trait]
impl Pop3Backend for StorePop3Backend {
    async fn proxy_trusted(&self, peer: std::net::IpAddr) -> bool {
        crate::proxy::peer_trusted(&self.prov, peer).await
    }

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        remote_ip: IpAddr,
    ) -> Result<Arc<dyn Pop3Maildrop>, Pop3AuthError> {
        let switches = ["zimbraPop3Enabled", "zimbraPrefPop3Enabled"];
        let (account, effective) =
            match protocol_login(&self.prov, "pop3", user, password, remote_ip, &switches).await {
                Ok(found) => found,
                Err(LoginRefusal::Failed) => return Err(Pop3AuthError::Failed),
                Err(LoginRefusal::Unavailable) => {
                    return Err(Pop3AuthError::Unavailable("directory unavailable".into()));
                }
            };
        let since_ms = effective
            .get("zimbraPrefPop3DownloadSince")
            .and_then(generalized_time_ms);
        let include_spam = effective
            .get("zimbraPrefPop3IncludeSpam")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        let delete_option = match effective
            .get("zimbraPrefPop3DeleteOption")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("trash") => DeleteOption::Trash,
            Some("read") => DeleteOption::Read,
            Some("keep") => DeleteOption::Keep,
            _ => DeleteOption::Delete,
        };
        let mailbox = self.store.mailbox(account.id).await.map_err(|e| {
            tracing::error!(account = %account.name, error = %e, "open mailbox failed");
            Pop3AuthError::Unavailable("mailbox unavailable".into())
        })?;
        Ok(Arc::new(StoreMaildrop {
            prov: self.prov.clone(),
            key: account.id.to_string(),
            name: account.name,
            mailbox,
            index: self.index.clone(),
            since_ms,
            include_spam,
            delete_option,
        }))
    }
}

/// One logged-in account's maildrop.
struct StoreMaildrop {
    prov: Arc<Provisioning>,
    key: String,
    name: String,
    mailbox: Mailbox,
    index: Arc<dyn IndexBackend>,
    since_ms: Option<i64>,
    include_spam: bool,
    delete_option: DeleteOption,
}

fn pop3_error(e: StoreError) -> Pop3Error {
    match e {
        StoreError::NoSuchMessage(_) | StoreError::NoSuchFolder(_) => Pop3Error::NotFound,
        StoreError::NoSuchMailbox(_) => Pop3Error::NotFound,
        StoreError::Locked(_) | StoreError::Closed => {
            Pop3Error::Unavailable("mailbox unavailable".into())
        }
        other => {
            tracing::error!(error = %other, "store failure");
            Pop3Error::Other("store failure".into())
        }
    }
}

fn pop3_message(m: &MessageMeta) -> Pop3Message {
    Pop3Message {
        id: m.id,
        size: m.size,
        uid: format!("{}.{}", m.id.0, m.blob_digest),
    }
}

impl StoreMaildrop {
    /// The ids among `ids` that are still the account's messages.
    async fn present(&self, ids: &[ItemId]) -> Pop3Result<Vec<ItemId>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.mailbox.message(*id).await {
                Ok(_) => out.push(*id),
                Err(StoreError::NoSuchMessage(_)) => {}
                Err(e) => return Err(pop3_error(e)),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Pop3Maildrop for StoreMaildrop {
    fn account_key(&self) -> &str {
        &self.key
    }

    fn account_name(&self) -> &str {
        &self.name
    }

    async fn messages(&self) -> Pop3Result<Vec<Pop3Message>> {
        let mut metas = self
            .mailbox
            .messages(ItemId(folder::INBOX))
            .await
            .map_err(pop3_error)?;
        if self.include_spam {
            metas.extend(
                self.mailbox
                    .messages(ItemId(folder::JUNK))
                    .await
                    .map_err(pop3_error)?,
            );
        }
        if let Some(since) = self.since_ms {
            metas.retain(|m| m.internal_date_ms >= since);
        }
        // Arrival order: item ids grow with every new item.
        metas.sort_by_key(|m| m.id.0);
        Ok(metas.iter().map(pop3_message).collect())
    }

    async fn read(&self, id: ItemId) -> Pop3Result<Vec<u8>> {
        let meta = self.mailbox.message(id).await.map_err(pop3_error)?;
        let visible = meta.folder == ItemId(folder::INBOX)
            || (self.include_spam && meta.folder == ItemId(folder::JUNK));
        if !visible {
            // Moved out of the maildrop by another front end since the listing.
            return Err(Pop3Error::NotFound);
        }
        self.mailbox.read_message(id).await.map_err(pop3_error)
    }

    async fn delete(&self, ids: &[ItemId]) -> Pop3Result<()> {
        let ids = self.present(ids).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let done = self.apply_delete(ids).await;
        // IMAP sessions of the account (IDLE) learn of it at once.
        crate::notify::publish(self.mailbox.account());
        done
    }

    /// The account still exists, is active (or only `lockout`), and POP3 is still
    /// enabled for it (`zimbraPop3Enabled`, `zimbraPrefPop3Enabled`).
    async fn still_allowed(&self) -> bool {
        crate::imap_backend::session_still_allowed(
            &self.prov,
            self.mailbox.account(),
            &self.name,
            &["zimbraPop3Enabled", "zimbraPrefPop3Enabled"],
        )
        .await
    }
}

impl StoreMaildrop {
    /// Applies `zimbraPrefPop3DeleteOption` to messages still in the maildrop.
    async fn apply_delete(&self, ids: Vec<ItemId>) -> Pop3Result<()> {
        match self.delete_option {
            DeleteOption::Keep => Ok(()),
            DeleteOption::Read => self
                .mailbox
                .set_flags(&ids, Flags::UNREAD, false)
                .await
                .map(|_| ())
                .map_err(pop3_error),
            DeleteOption::Trash => self
                .mailbox
                .move_items(&ids, ItemId(folder::TRASH))
                .await
                .map(|_| ())
                .map_err(pop3_error),
            DeleteOption::Delete => {
                self.mailbox.delete_items(&ids).await.map_err(pop3_error)?;
                let index = self.index.clone();
                let mailbox = self.mailbox.id();
                // Housekeeping: searches never show items the store no longer has.
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = index.delete(mailbox, &ids).and_then(|_| index.commit()) {
                        tracing::warn!(error = %e, "index delete failed");
                    }
                });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_generalized_time() {
        assert_eq!(generalized_time_ms("19700101000001Z"), Some(1000));
        assert_eq!(generalized_time_ms("197001010001Z"), Some(60_000));
        assert_eq!(generalized_time_ms("19700101000001.5Z"), Some(1000));
        assert_eq!(generalized_time_ms("garbage"), None);
        assert_eq!(generalized_time_ms(""), None);
    }
}
