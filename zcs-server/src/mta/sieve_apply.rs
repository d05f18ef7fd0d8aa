//! Sieve at delivery: which scripts run for an account (`zimbraMailSieveScript`, and the
//! out-of-office reply when `zimbraPrefOutOfOfficeReplyEnabled`, within its dates, to
//! senders that may be answered: [`out_of_office_text`]), what their actions
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

use super::outbound::header_values;

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
/// from `sender` and returns the plan. `vacation` remembers who got a reply. Whether the
/// sender is in the account's address book is not known here (see [`plan_for_sender`]).
///
/// Cost: up to two script compilations and runs.
pub fn plan_for(
    effective: &Attrs,
    account: &str,
    message: &[u8],
    sender: &str,
    vacation: Option<&dyn VacationTracker>,
) -> DeliveryPlan {
    plan_for_sender(effective, account, message, sender, vacation, None)
}

/// As [`plan_for`], knowing whether `sender` is in the account's address book
/// (`in_address_book`, from [`sender_in_address_book`] when
/// [`needs_address_book`]; `None`: unknown), which the out-of-office reply needs for
/// `zimbraPrefExternalSendersType` `INAB` and `ALLNOTINAB`.
pub fn plan_for_sender(
    effective: &Attrs,
    account: &str,
    message: &[u8],
    sender: &str,
    vacation: Option<&dyn VacationTracker>,
    in_address_book: Option<bool>,
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
    let now = chrono::Utc::now().timestamp_millis();
    if plan.reject.is_none()
        && let Some(reply) = out_of_office_text(
            effective,
            account,
            message,
            OutOfOfficeSender {
                address: sender,
                in_address_book,
            },
            now,
        )
    {
        let days = effective
            .get("zimbraPrefOutOfOfficeCacheDuration")
            .and_then(|v| zcs_core::attrs::value::parse_duration_ms(v).ok())
            .map(|ms| (ms / 86_400_000).max(1) as u32)
            .unwrap_or(7);
        let script = out_of_office_script(&reply, days, None);
        for action in run_sieve(&script, message, envelope, ctx) {
            if let SieveAction::Send { to, message } = action {
                plan.replies.push((to, message));
            }
        }
    }
    plan
}

/// The sender an out-of-office reply would answer.
#[derive(Clone, Copy, Debug)]
pub struct OutOfOfficeSender<'a> {
    /// The envelope sender (`""` for `<>`).
    pub address: &'a str,
    /// Whether it is in the account's address book; `None` when not looked up (it then
    /// counts as matching `INAB` and `ALLNOTINAB` alike, as Zimbra counts a failed
    /// contacts lookup).
    pub in_address_book: Option<bool>,
}

/// `zimbraPrefExternalSendersType`: which outside senders get the external reply (or,
/// with `zimbraPrefOutOfOfficeSuppressExternalReply`, none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalSendersType {
    /// Every sender outside the account's domain and `zimbraInternalSendersDomain`
    /// (the default, and the reading of an unknown value).
    All,
    /// Outside senders that are not in the account's address book.
    AllNotInAddressBook,
    /// Outside senders that are in the account's address book.
    InAddressBook,
    /// Outside senders as `All`; in addition, senders of the domains in
    /// `zimbraPrefOutOfOfficeSpecificDomains` always get the external reply and are
    /// never suppressed, even when that domain counts as internal.
    SpecificDomains,
}

impl ExternalSendersType {
    /// The account's `zimbraPrefExternalSendersType` (`ALL`, `ALLNOTINAB`, `INAB`,
    /// `INSD`, any case); `All` when unset or unknown.
    pub fn of(effective: &Attrs) -> Self {
        match effective
            .get("zimbraPrefExternalSendersType")
            .map(|v| v.trim().to_ascii_uppercase())
            .as_deref()
        {
            Some("ALLNOTINAB") => Self::AllNotInAddressBook,
            Some("INAB") => Self::InAddressBook,
            Some("INSD") => Self::SpecificDomains,
            _ => Self::All,
        }
    }
}

/// Whether the out-of-office decision for this account depends on the address book
/// (it is on, and `zimbraPrefExternalSendersType` is `INAB` or `ALLNOTINAB`), so that
/// the caller looks the sender up with [`sender_in_address_book`] only then.
pub fn needs_address_book(effective: &Attrs) -> bool {
    flag(effective, "zimbraPrefOutOfOfficeReplyEnabled")
        && matches!(
            ExternalSendersType::of(effective),
            ExternalSendersType::AllNotInAddressBook | ExternalSendersType::InAddressBook
        )
}

/// Whether `sender` is an e-mail address (`email`, `email2`, ... fields, any case) of a
/// contact in one of the account's address books (folders of view `contact`, the Trash
/// excluded). `None` when the store cannot answer (logged).
///
/// Cost: one folder listing and one read per address book.
pub async fn sender_in_address_book(mb: &Mailbox, sender: &str) -> Option<bool> {
    let sender = sender.trim();
    if sender.is_empty() {
        return Some(false);
    }
    let folders = match mb.folders().await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(account = %mb.account(), error = %e, "address book not readable");
            return None;
        }
    };
    for f in folders
        .iter()
        .filter(|f| f.view.eq_ignore_ascii_case("contact") && f.id.0 != folder::TRASH)
    {
        let contacts = match mb.contacts(f.id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(account = %mb.account(), error = %e, "address book not readable");
                return None;
            }
        };
        let found = contacts.iter().any(|c| {
            c.fields.iter().any(|(name, value)| {
                is_email_field(name) && value.trim().eq_ignore_ascii_case(sender)
            })
        });
        if found {
            return Some(true);
        }
    }
    Some(false)
}

/// Zimbra's contact e-mail fields: `email`, `email2`, `email3`, ..., `workEmail1`, ...
fn is_email_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    base == "email" || base == "workemail" || base == "homeemail"
}

/// The out-of-office text to answer `sender` with at `now` (ms since the epoch), or
/// `None` when no reply is due:
/// - `zimbraPrefOutOfOfficeReplyEnabled` is not TRUE, or `now` is before
///   `zimbraPrefOutOfOfficeFromDate` or after `zimbraPrefOutOfOfficeUntilDate` (when set);
/// - the message must not be answered (RFC 3834 §2, RFC 5230 §4.5): no sender,
///   `Auto-Submitted` other than `no`, `Precedence: bulk|list|junk`, a list header
///   (`List-Id`, RFC 2919), a sender that is a robot (`MAILER-DAEMON`, `owner-*`,
///   `*-request`, `LISTSERV`, `majordomo`) or the account itself;
/// - `zimbraPrefOutOfOfficeSuppressExternalReply` is TRUE and the sender is external:
///   outside the account's domain and `zimbraInternalSendersDomain`, and of the
///   [`ExternalSendersType`] chosen (in or not in the address book), and not of a
///   `zimbraPrefOutOfOfficeSpecificDomains` domain under `INSD`.
///
/// External senders get `zimbraPrefOutOfOfficeExternalReply` when
/// `zimbraPrefOutOfOfficeExternalReplyEnabled` is TRUE; under `INSD`, senders of the
/// specific domains get it whatever that switch says (the web client's "send the
/// external reply to these domains"); everyone else gets `zimbraPrefOutOfOfficeReply`.
pub fn out_of_office_text(
    effective: &Attrs,
    account: &str,
    message: &[u8],
    sender: OutOfOfficeSender<'_>,
    now: i64,
) -> Option<String> {
    if !flag(effective, "zimbraPrefOutOfOfficeReplyEnabled") {
        return None;
    }
    let date = |name: &str| {
        effective
            .get(name)
            .and_then(|v| zcs_core::attrs::value::parse_time(v.trim()).ok())
    };
    if date("zimbraPrefOutOfOfficeFromDate").is_some_and(|from| now < from)
        || date("zimbraPrefOutOfOfficeUntilDate").is_some_and(|until| now > until)
    {
        return None;
    }
    if !may_answer(message, sender.address, account) {
        return None;
    }
    let domain_of = |a: &str| {
        a.rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
    };
    let sender_domain = domain_of(sender.address).unwrap_or_default();
    let listed = |attr: &str| {
        effective
            .get_all(attr)
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case(&sender_domain))
    };
    let internal = domain_of(account).is_some_and(|d| d == sender_domain)
        || listed("zimbraInternalSendersDomain");
    let kind = ExternalSendersType::of(effective);
    let of_type = match kind {
        ExternalSendersType::All | ExternalSendersType::SpecificDomains => true,
        ExternalSendersType::InAddressBook => sender.in_address_book.unwrap_or(true),
        ExternalSendersType::AllNotInAddressBook => !sender.in_address_book.unwrap_or(false),
    };
    let specific = kind == ExternalSendersType::SpecificDomains
        && listed("zimbraPrefOutOfOfficeSpecificDomains");
    let external = !internal && of_type;
    if external && !specific && flag(effective, "zimbraPrefOutOfOfficeSuppressExternalReply") {
        return None;
    }
    let external_reply =
        specific || (external && flag(effective, "zimbraPrefOutOfOfficeExternalReplyEnabled"));
    if external_reply && let Some(text) = effective.get("zimbraPrefOutOfOfficeExternalReply") {
        return Some(text.to_string());
    }
    effective
        .get("zimbraPrefOutOfOfficeReply")
        .map(str::to_string)
}

/// Whether an automatic reply to `message` from `sender` is allowed (RFC 3834 §2,
/// RFC 5230 §4.5).
fn may_answer(message: &[u8], sender: &str, account: &str) -> bool {
    let sender = sender.trim();
    if sender.is_empty() || sender.eq_ignore_ascii_case(account) {
        return false;
    }
    let local = sender
        .rsplit_once('@')
        .map_or(sender, |(l, _)| l)
        .to_ascii_lowercase();
    if local == "mailer-daemon"
        || local == "listserv"
        || local == "majordomo"
        || local.starts_with("owner-")
        || local.ends_with("-request")
    {
        return false;
    }
    let auto = header_values(message, "Auto-Submitted");
    if auto.iter().any(|v| {
        let v = v.split(';').next().unwrap_or("").trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("no")
    }) {
        return false;
    }
    if header_values(message, "Precedence").iter().any(|v| {
        let v = v.trim();
        ["bulk", "list", "junk"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    }) {
        return false;
    }
    header_values(message, "List-Id").is_empty()
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

    const NOW: i64 = 1_796_551_200_000; // 2026-12-06T10:00:00Z

    fn ooo() -> Attrs {
        let mut a = Attrs::new();
        a.set_one("zimbraPrefOutOfOfficeReplyEnabled", "TRUE");
        a.set_one("zimbraPrefOutOfOfficeReply", "away");
        a
    }

    fn text(a: &Attrs, message: &[u8], sender: &str) -> Option<String> {
        text_ab(a, message, sender, None)
    }

    fn text_ab(a: &Attrs, message: &[u8], sender: &str, ab: Option<bool>) -> Option<String> {
        let sender = OutOfOfficeSender {
            address: sender,
            in_address_book: ab,
        };
        out_of_office_text(a, "u@x.test", message, sender, NOW)
    }

    const PLAIN: &[u8] = b"From: s@y.test\r\nTo: u@x.test\r\nSubject: hi\r\n\r\nb\r\n";

    #[test]
    fn out_of_office_dates() {
        let mut a = ooo();
        assert_eq!(text(&a, PLAIN, "s@y.test").as_deref(), Some("away"));
        a.set_one("zimbraPrefOutOfOfficeFromDate", "20261207000000Z");
        assert_eq!(text(&a, PLAIN, "s@y.test"), None, "not started yet");
        a.set_one("zimbraPrefOutOfOfficeFromDate", "20261201000000Z");
        a.set_one("zimbraPrefOutOfOfficeUntilDate", "20261205235959Z");
        assert_eq!(text(&a, PLAIN, "s@y.test"), None, "over");
        a.set_one("zimbraPrefOutOfOfficeUntilDate", "20261231000000Z");
        assert_eq!(text(&a, PLAIN, "s@y.test").as_deref(), Some("away"));
        a.set_one("zimbraPrefOutOfOfficeReplyEnabled", "FALSE");
        assert_eq!(text(&a, PLAIN, "s@y.test"), None);
    }

    #[test]
    fn out_of_office_never_answers_robots_and_lists() {
        let a = ooo();
        for sender in [
            "",
            "u@x.test",
            "MAILER-DAEMON@y.test",
            "owner-list@y.test",
            "list-request@y.test",
        ] {
            assert_eq!(text(&a, PLAIN, sender), None, "{sender}");
        }
        for header in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "Precedence: LIST",
            "List-Id: <team.y.test>",
        ] {
            let msg = format!("{header}\r\nFrom: s@y.test\r\n\r\nb\r\n");
            assert_eq!(text(&a, msg.as_bytes(), "s@y.test"), None, "{header}");
        }
        let msg = b"Auto-Submitted: no\r\nFrom: s@y.test\r\n\r\nb\r\n";
        assert!(text(&a, msg, "s@y.test").is_some());
    }

    #[test]
    fn out_of_office_external_senders() {
        let mut a = ooo();
        a.set_one("zimbraPrefOutOfOfficeExternalReplyEnabled", "TRUE");
        a.set_one("zimbraPrefOutOfOfficeExternalReply", "away (outside)");
        assert_eq!(
            text(&a, PLAIN, "s@y.test").as_deref(),
            Some("away (outside)")
        );
        assert_eq!(text(&a, PLAIN, "colleague@X.test").as_deref(), Some("away"));
        a.set_one("zimbraInternalSendersDomain", "y.test");
        assert_eq!(text(&a, PLAIN, "s@y.test").as_deref(), Some("away"));
        a.set_one("zimbraInternalSendersDomain", "z.test");
        a.set_one("zimbraPrefOutOfOfficeSuppressExternalReply", "TRUE");
        assert_eq!(text(&a, PLAIN, "s@y.test"), None);
        assert_eq!(text(&a, PLAIN, "colleague@x.test").as_deref(), Some("away"));
    }

    /// `zimbraPrefExternalSendersType INSD` with `zimbraPrefOutOfOfficeSpecificDomains`:
    /// senders of those domains get the external reply (even with the external reply
    /// switch off, even from an internal-senders domain, and are never suppressed);
    /// other outside senders are treated as under `ALL`.
    #[test]
    fn out_of_office_specific_domains() {
        let mut a = ooo();
        a.set_one("zimbraPrefOutOfOfficeExternalReply", "away (partners)");
        a.set(
            "zimbraPrefOutOfOfficeSpecificDomains",
            vec!["partner.test".into(), "Other.TEST".into()],
        );
        // Without INSD the list means nothing.
        assert_eq!(text(&a, PLAIN, "p@partner.test").as_deref(), Some("away"));
        a.set_one("zimbraPrefExternalSendersType", "INSD");
        assert_eq!(
            text(&a, PLAIN, "p@PARTNER.test").as_deref(),
            Some("away (partners)")
        );
        assert_eq!(
            text(&a, PLAIN, "q@other.test").as_deref(),
            Some("away (partners)")
        );
        assert_eq!(text(&a, PLAIN, "s@y.test").as_deref(), Some("away"));
        assert_eq!(text(&a, PLAIN, "c@x.test").as_deref(), Some("away"));
        // Suppression spares the specific domains only.
        a.set_one("zimbraPrefOutOfOfficeSuppressExternalReply", "TRUE");
        assert_eq!(text(&a, PLAIN, "s@y.test"), None);
        assert_eq!(
            text(&a, PLAIN, "p@partner.test").as_deref(),
            Some("away (partners)")
        );
        assert_eq!(text(&a, PLAIN, "c@x.test").as_deref(), Some("away"));
        // A specific domain that is also an internal one still gets the external text.
        a.set_one("zimbraInternalSendersDomain", "partner.test");
        assert_eq!(
            text(&a, PLAIN, "p@partner.test").as_deref(),
            Some("away (partners)")
        );
        // No external text set: the ordinary reply.
        a.set("zimbraPrefOutOfOfficeExternalReply", Vec::new());
        assert_eq!(text(&a, PLAIN, "p@partner.test").as_deref(), Some("away"));
    }

    /// `INAB` / `ALLNOTINAB`: the external reply (or its suppression) applies to outside
    /// senders in / not in the address book; an unknown lookup counts as matching.
    #[test]
    fn out_of_office_address_book_types() {
        let mut a = ooo();
        a.set_one("zimbraPrefOutOfOfficeExternalReplyEnabled", "TRUE");
        a.set_one("zimbraPrefOutOfOfficeExternalReply", "away (outside)");
        a.set_one("zimbraPrefExternalSendersType", "INAB");
        assert!(needs_address_book(&a));
        let ext = Some("away (outside)");
        assert_eq!(text_ab(&a, PLAIN, "s@y.test", Some(true)).as_deref(), ext);
        assert_eq!(
            text_ab(&a, PLAIN, "s@y.test", Some(false)).as_deref(),
            Some("away")
        );
        assert_eq!(text_ab(&a, PLAIN, "s@y.test", None).as_deref(), ext);
        assert_eq!(
            text_ab(&a, PLAIN, "c@x.test", Some(true)).as_deref(),
            Some("away")
        );
        a.set_one("zimbraPrefExternalSendersType", "allnotinab");
        assert_eq!(
            text_ab(&a, PLAIN, "s@y.test", Some(true)).as_deref(),
            Some("away")
        );
        assert_eq!(text_ab(&a, PLAIN, "s@y.test", Some(false)).as_deref(), ext);
        a.set_one("zimbraPrefOutOfOfficeSuppressExternalReply", "TRUE");
        assert_eq!(text_ab(&a, PLAIN, "s@y.test", Some(false)), None);
        assert_eq!(
            text_ab(&a, PLAIN, "s@y.test", Some(true)).as_deref(),
            Some("away")
        );
        a.set_one("zimbraPrefExternalSendersType", "ALL");
        assert!(!needs_address_book(&a));
        assert!(is_email_field("email") && is_email_field("email2"));
        assert!(is_email_field("workEmail1") && !is_email_field("emailer"));
    }

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
