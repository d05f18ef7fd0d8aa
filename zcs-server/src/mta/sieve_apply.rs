//! Sieve at delivery: which scripts run for an account (`zimbraMailSieveScript`, and the
//! out-of-office reply when `zimbraPrefOutOfOfficeReplyEnabled`), what their actions
//! mean for the store ([`DeliveryPlan`]), the folder a `fileinto` names, and the
//! once-per-sender memory of vacation replies ([`FileVacation`]).
//!
//! Running the scripts is `zcs_mta::sieve`; storing and queueing is the caller's.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use zcs_core::{Attrs, ItemId, folder};
use zcs_mta::sieve::{
    SieveAction, SieveContext, SieveEnvelope, VacationTracker, out_of_office_script, run_sieve,
};
use zcs_store::{Mailbox, StoreError};

/// One copy to store for the recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    /// The folder path of a `fileinto`; `None` for the implicit or explicit keep.
    pub folder: Option<String>,
    /// Create the folder when missing (`fileinto :create`).
    pub create: bool,
    /// IMAP flags (`\Seen`, `\Flagged`) and keywords.
    pub flags: Vec<String>,
    /// Zimbra tag names.
    pub tags: Vec<String>,
}

/// What to do with one message for one account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryPlan {
    /// Copies to store (empty after `discard`, `redirect` or `reject` alone).
    pub copies: Vec<Copy>,
    /// Addresses to redirect the message to, through the queue.
    pub redirects: Vec<String>,
    /// `reject` / `ereject`: the reason text.
    pub reject: Option<String>,
    /// Vacation replies: destination and complete message, sent with `<>`.
    pub replies: Vec<(String, Vec<u8>)>,
}

impl DeliveryPlan {
    /// The plan without any script: keep in the Inbox.
    pub fn keep() -> Self {
        DeliveryPlan {
            copies: vec![Copy {
                folder: None,
                create: false,
                flags: Vec::new(),
                tags: Vec::new(),
            }],
            ..DeliveryPlan::default()
        }
    }

    /// Folds script actions into the plan; copies for the same folder merge.
    pub fn add(&mut self, actions: Vec<SieveAction>) {
        for action in actions {
            let copy = match action {
                SieveAction::Keep { flags, tags } => Copy {
                    folder: None,
                    create: false,
                    flags,
                    tags,
                },
                SieveAction::FileInto {
                    folder,
                    flags,
                    tags,
                    create,
                } => Copy {
                    folder: Some(folder),
                    create,
                    flags,
                    tags,
                },
                SieveAction::Discard => continue,
                SieveAction::Redirect { address } => {
                    self.redirects.push(address);
                    continue;
                }
                SieveAction::Reject { reason, .. } => {
                    self.reject = Some(reason);
                    continue;
                }
                SieveAction::Send { to, message } => {
                    self.replies.push((to, message));
                    continue;
                }
            };
            match self.copies.iter_mut().find(|c| c.folder == copy.folder) {
                Some(c) => {
                    c.flags.extend(copy.flags);
                    c.tags.extend(copy.tags);
                    c.create |= copy.create;
                }
                None => self.copies.push(copy),
            }
        }
    }
}

/// Whether a boolean account attribute is TRUE.
fn flag(attrs: &Attrs, name: &str) -> bool {
    attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Runs the account's filter script, then its out-of-office script, over `message`
/// from `sender` and returns the plan. `vacation` remembers who got a reply.
///
/// Cost: up to two script compilations and runs.
pub fn plan_for(
    effective: &Attrs,
    account: &str,
    message: &[u8],
    sender: &str,
    vacation: Option<&dyn VacationTracker>,
) -> DeliveryPlan {
    let display = effective.get("displayName").unwrap_or(account);
    let ctx = SieveContext {
        user_address: account,
        user_name: display,
        vacation,
    };
    let envelope = SieveEnvelope {
        from: sender,
        to: account,
    };
    let mut plan = DeliveryPlan::default();
    match effective
        .get("zimbraMailSieveScript")
        .filter(|s| !s.trim().is_empty())
    {
        Some(script) => plan.add(run_sieve(script, message, envelope, ctx)),
        None => plan = DeliveryPlan::keep(),
    }

    // `zimbraPrefOutOfOfficeReplyEnabled`: a separate script whose only effect we take
    // is the reply (its implicit keep is the user script's business).
    if flag(effective, "zimbraPrefOutOfOfficeReplyEnabled")
        && plan.reject.is_none()
        && let Some(reply) = effective.get("zimbraPrefOutOfOfficeReply")
    {
        let days = effective
            .get("zimbraPrefOutOfOfficeCacheDuration")
            .and_then(|v| zcs_core::attrs::value::parse_duration_ms(v).ok())
            .map(|ms| (ms / 86_400_000).max(1) as u32)
            .unwrap_or(7);
        let script = out_of_office_script(reply, days, None);
        for action in run_sieve(&script, message, envelope, ctx) {
            if let SieveAction::Send { to, message } = action {
                plan.replies.push((to, message));
            }
        }
    }
    plan
}

/// The folder a copy goes to: the Inbox for a keep; for `fileinto`, the folder at that
/// path, created (with its missing parents) when `create` or, as Zimbra does, always;
/// the Inbox when it cannot be made.
pub async fn folder_for(mb: &Mailbox, copy: &Copy, spam: bool) -> ItemId {
    let Some(path) = copy.folder.as_deref() else {
        return ItemId(if spam { folder::JUNK } else { folder::INBOX });
    };
    match find_or_create(mb, path).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(account = %mb.account(), path, error = %e,
                "fileinto folder unusable; filed in Inbox");
            ItemId(folder::INBOX)
        }
    }
}

async fn find_or_create(mb: &Mailbox, path: &str) -> Result<ItemId, StoreError> {
    if let Some(f) = mb.folder_by_path(path).await? {
        return Ok(f.id);
    }
    // Zimbra's `fileinto` creates a missing folder whether or not `:create` was given.
    let mut parent = ItemId(folder::USER_ROOT);
    let mut walked = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        walked.push('/');
        walked.push_str(seg);
        parent = match mb.folder_by_path(&walked).await? {
            Some(f) => f.id,
            None => mb.create_folder(parent, seg).await?.id,
        };
    }
    Ok(parent)
}

/// Vacation memory in a file per account under the home
/// (`data/mta/vacation/<account id>`): one `seconds-since-epoch TAB key` line per reply.
pub struct FileVacation {
    path: PathBuf,
}

impl FileVacation {
    /// The memory of account `account_id` under `dir`.
    pub fn new(dir: &Path, account_id: &str) -> Self {
        FileVacation {
            path: dir.join(account_id),
        }
    }
}

impl VacationTracker for FileVacation {
    /// Reads the file, answers whether `key` was recorded within `period_secs`, and if
    /// not appends it. A file that cannot be read counts as empty; one that cannot be
    /// written is logged (the reply is then sent, at worst once more later).
    fn seen_within(&self, key: &str, period_secs: u64) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let key: String = key.chars().filter(|c| *c != '\n' && *c != '\t').collect();
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let seen = text.lines().any(|line| {
            line.split_once('\t').is_some_and(|(t, k)| {
                k == key
                    && t.parse::<u64>()
                        .is_ok_and(|t| now.saturating_sub(t) < period_secs)
            })
        });
        if seen {
            return true;
        }
        let written = self
            .path
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                writeln!(f, "{now}\t{key}")
            });
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "vacation memory not saved");
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_merge_and_vacation_remembers() {
        let mut a = Attrs::new();
        assert_eq!(
            plan_for(&a, "u@x.test", b"Subject: s\r\n\r\nb\r\n", "s@y.test", None),
            DeliveryPlan::keep()
        );
        a.set_one(
            "zimbraMailSieveScript",
            "require [\"fileinto\"]; fileinto \"Work/Reports\"; redirect \"f@y.test\";",
        );
        let p = plan_for(&a, "u@x.test", b"Subject: s\r\n\r\nb\r\n", "s@y.test", None);
        assert_eq!(p.copies.len(), 1);
        assert_eq!(p.copies[0].folder.as_deref(), Some("Work/Reports"));
        assert_eq!(p.redirects, vec!["f@y.test"]);

        let dir = tempfile::tempdir().expect("tempdir");
        let v = FileVacation::new(dir.path(), "id1");
        assert!(!v.seen_within("a@b", 60));
        assert!(v.seen_within("a@b", 60));
        assert!(!v.seen_within("c@d", 60));
        assert!(!v.seen_within("a@b", 0));
    }
}
