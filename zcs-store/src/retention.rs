//! Folder retention policies (Zimbra's `RetentionPolicy` on a folder): a *keep*
//! (retention) range, which only lets clients warn before a delete, and a *purge*
//! (disposal) threshold, past which the purge job hard-deletes the folder's messages,
//! contacts, appointments, tasks and documents (into the dumpster when it is enabled).
//! Each is a list of policies, either the user's own with a lifetime
//! (`type="user" lifetime="30d"`) or a named system policy (`type="system" id=".."`,
//! from `zimbraMailPurgeSystemPolicy`, resolved by the caller).
//!
//! In charge of: the policy model and its stored JSON, setting and reading a folder's
//! policy through the redo log, and the items (messages and other kinds) a purge at a given time
//! disposes of. The SOAP shape (`FolderAction op=retentionpolicy`, `<retentionPolicy>`
//! in `GetFolder`) is the server's.

use std::collections::HashMap;

use zcs_core::ItemId;

use crate::db::DbConn;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;

/// Who defined a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// The user's own policy on this folder, with a lifetime.
    User,
    /// A named system policy (`zimbraMailPurgeSystemPolicy`), referenced by id.
    System,
}

/// One policy of a keep or purge list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// User or system.
    pub kind: PolicyKind,
    /// The system policy's id (empty for user policies).
    pub id: String,
    /// The system policy's name, when the client sent one.
    pub name: String,
    /// The lifetime as Zimbra writes it (`30d`, `12h`, `90m`, `3600s`, `500ms`; a bare
    /// number is seconds); empty for a system policy, whose lifetime the system
    /// policy list gives.
    pub lifetime: String,
}

impl Policy {
    /// A user policy with `lifetime` (Zimbra duration syntax).
    pub fn user(lifetime: &str) -> Policy {
        Policy {
            kind: PolicyKind::User,
            id: String::new(),
            name: String::new(),
            lifetime: lifetime.to_string(),
        }
    }

    /// The lifetime in ms: the user policy's own, or the system policy's from `system`
    /// (id to ms). `None` when unknown or unparsable.
    pub fn lifetime_ms(&self, system: &HashMap<String, i64>) -> Option<i64> {
        match self.kind {
            PolicyKind::User => parse_lifetime(&self.lifetime),
            PolicyKind::System => system.get(&self.id).copied(),
        }
        .filter(|ms| *ms > 0)
    }
}

/// A folder's retention policy; both lists empty means none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Retention (keep) policies: clients warn before deleting younger items.
    pub keep: Vec<Policy>,
    /// Disposal (purge) policies: the purge job removes older messages.
    pub purge: Vec<Policy>,
}

impl RetentionPolicy {
    /// Whether neither list holds a policy.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.purge.is_empty()
    }

    /// The shortest purge lifetime in ms (`system` resolves system policies).
    pub fn purge_lifetime_ms(&self, system: &HashMap<String, i64>) -> Option<i64> {
        self.purge
            .iter()
            .filter_map(|p| p.lifetime_ms(system))
            .min()
    }

    fn to_json(&self) -> String {
        let list = |ps: &[Policy]| -> Vec<serde_json::Value> {
            ps.iter()
                .map(|p| {
                    serde_json::json!({
                        "type": if p.kind == PolicyKind::User { "user" } else { "system" },
                        "id": p.id, "name": p.name, "lifetime": p.lifetime,
                    })
                })
                .collect()
        };
        serde_json::json!({ "keep": list(&self.keep), "purge": list(&self.purge) }).to_string()
    }

    fn from_json(text: &str) -> RetentionPolicy {
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let list = |k: &str| -> Vec<Policy> {
            v.get(k)
                .and_then(|l| l.as_array())
                .map(|l| {
                    l.iter()
                        .map(|p| {
                            let s = |f: &str| {
                                p.get(f).and_then(|x| x.as_str()).unwrap_or("").to_string()
                            };
                            Policy {
                                kind: if s("type") == "system" {
                                    PolicyKind::System
                                } else {
                                    PolicyKind::User
                                },
                                id: s("id"),
                                name: s("name"),
                                lifetime: s("lifetime"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        RetentionPolicy {
            keep: list("keep"),
            purge: list("purge"),
        }
    }
}

/// A Zimbra duration (`30d`, `2w`, `12h`, `90m`, `3600s`, `500ms`; a bare number is
/// seconds) in ms; `None` when it does not parse.
pub fn parse_lifetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    let n: i64 = t[..digits].parse().ok()?;
    let unit: i64 = match t[digits..].to_ascii_lowercase().as_str() {
        "" | "s" => 1_000,
        "ms" => 1,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Applies a `SetRetentionPolicy` record: stores (or with empty `policy` removes) the
/// folder's policy and raises the folder's modseq.
pub(crate) async fn apply_set(
    conn: &mut DbConn,
    mb: zcs_core::MailboxId,
    folder: i32,
    policy: &str,
    change: i64,
) -> Result<(), StoreError> {
    if policy.is_empty() {
        sqlx::query("DELETE FROM retention_policy WHERE mailbox_id = ? AND folder_id = ?")
            .bind(mb.0)
            .bind(folder)
            .execute(&mut *conn)
            .await
            .db("clear retention policy")?;
    } else {
        sqlx::query(
            "INSERT OR REPLACE INTO retention_policy (mailbox_id, folder_id, policy, modseq)
             VALUES (?, ?, ?, ?)",
        )
        .bind(mb.0)
        .bind(folder)
        .bind(policy)
        .bind(change)
        .execute(&mut *conn)
        .await
        .db("set retention policy")?;
    }
    crate::apply::touch_folder(conn, mb, folder, change).await
}

impl Mailbox {
    /// Folder `folder`'s retention policy (empty when none is set).
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; database errors.
    pub async fn retention_policy(&self, folder: ItemId) -> Result<RetentionPolicy, StoreError> {
        let (folders, _) = self.folder_rows().await?;
        if !folders.contains_key(&folder.0) {
            return Err(StoreError::no_such_folder(folder));
        }
        let text: Option<String> = sqlx::query_scalar(
            "SELECT policy FROM retention_policy WHERE mailbox_id = ? AND folder_id = ?",
        )
        .bind(self.id().0)
        .bind(folder.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("read retention policy")?;
        Ok(text
            .map(|t| RetentionPolicy::from_json(&t))
            .unwrap_or_default())
    }

    /// Every folder with a retention policy, by folder id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn retention_policies(&self) -> Result<Vec<(ItemId, RetentionPolicy)>, StoreError> {
        self.check_maintenance()?;
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT folder_id, policy FROM retention_policy WHERE mailbox_id = ?
             ORDER BY folder_id",
        )
        .bind(self.id().0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list retention policies")?;
        Ok(rows
            .into_iter()
            .map(|(f, t)| (ItemId(f as i32), RetentionPolicy::from_json(&t)))
            .collect())
    }

    /// Sets folder `folder`'s retention policy (`FolderAction op=retentionpolicy`); an
    /// empty policy clears it. One logged change; the folder's modseq moves.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; `service.INVALID_REQUEST` for a user policy whose
    /// lifetime does not parse or a system policy without an id.
    pub async fn set_retention_policy(
        &self,
        folder: ItemId,
        policy: &RetentionPolicy,
    ) -> Result<(), StoreError> {
        for p in policy.keep.iter().chain(&policy.purge) {
            match p.kind {
                PolicyKind::User if parse_lifetime(&p.lifetime).is_none() => {
                    return Err(StoreError::InvalidRequest(format!(
                        "bad retention lifetime {:?}",
                        p.lifetime
                    )));
                }
                PolicyKind::System if p.id.is_empty() => {
                    return Err(StoreError::InvalidRequest(
                        "a system retention policy needs an id".into(),
                    ));
                }
                _ => {}
            }
        }
        let text = if policy.is_empty() {
            String::new()
        } else {
            policy.to_json()
        };
        self.locked(move |mb| async move {
            let (folders, _) = mb.folder_rows().await?;
            if !folders.contains_key(&folder.0) {
                return Err(StoreError::no_such_folder(folder));
            }
            let change = mb.state().await?.change + 1;
            mb.commit(RedoOp::SetRetentionPolicy {
                change,
                folder: folder.0,
                policy: text,
            })
            .await
        })
        .await
    }

    /// What folder purge policies dispose of at `now_ms` (`system` resolves system
    /// policies): the messages whose internal date is older than the folder's shortest
    /// purge lifetime, and the contacts, appointments, tasks and documents that entered
    /// the folder (created there or moved in) before that lifetime.
    pub(crate) async fn retention_expired(
        &self,
        now_ms: i64,
        system: &HashMap<String, i64>,
    ) -> Result<(Vec<i32>, Vec<i32>), StoreError> {
        let (mut messages, mut items) = (Vec::new(), Vec::new());
        for (folder, policy) in self.retention_policies().await? {
            let Some(lifetime) = policy.purge_lifetime_ms(system) else {
                continue;
            };
            let before = now_ms.saturating_sub(lifetime);
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM mail_item WHERE mailbox_id = ? AND folder_id = ? AND date < ?",
            )
            .bind(self.id().0)
            .bind(folder.0)
            .bind(before)
            .fetch_all(&self.inner.pool)
            .await
            .db("find messages past retention")?;
            messages.extend(ids.into_iter().map(|i| i as i32));
            items.extend(crate::dumpster::expired_items(self, folder.0, before).await?);
        }
        Ok((messages, items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lifetimes_parse_as_zimbra_writes_them() {
        assert_eq!(parse_lifetime("30d"), Some(30 * 86_400_000));
        assert_eq!(parse_lifetime("12h"), Some(12 * 3_600_000));
        assert_eq!(parse_lifetime("90m"), Some(90 * 60_000));
        assert_eq!(parse_lifetime("3600"), Some(3_600_000));
        assert_eq!(parse_lifetime("500ms"), Some(500));
        assert_eq!(parse_lifetime("2w"), Some(14 * 86_400_000));
        assert_eq!(parse_lifetime("d"), None);
        assert_eq!(parse_lifetime("3x"), None);
    }

    #[test]
    fn json_round_trip() {
        let p = RetentionPolicy {
            keep: vec![Policy::user("30d")],
            purge: vec![Policy {
                kind: PolicyKind::System,
                id: "abc".into(),
                name: "short".into(),
                lifetime: String::new(),
            }],
        };
        assert_eq!(RetentionPolicy::from_json(&p.to_json()), p);
        let sys = HashMap::from([("abc".to_string(), 5_i64)]);
        assert_eq!(p.purge_lifetime_ms(&sys), Some(5));
        assert_eq!(p.purge_lifetime_ms(&HashMap::new()), None);
    }

    proptest! {
        #[test]
        fn lifetime_parser_never_panics(s in ".{0,24}") {
            let _ = parse_lifetime(&s);
        }

        #[test]
        fn stored_json_never_panics(s in ".{0,80}") {
            let _ = RetentionPolicy::from_json(&s);
        }
    }
}
