//! Sieve filtering (RFC 5228) of a message for one recipient, over sieve-rs: compiles a
//! user's script (`zimbraMailSieveScript`), runs it, and returns the actions for the
//! server to apply (file into folders, flags and tags, discard, redirect, reject,
//! vacation replies).
//!
//! A pure function: nothing is stored or sent here. Any failure (a script that does not
//! compile, a runtime error, a panic in the interpreter) gives the implicit keep, as
//! RFC 5228 §2.10.6 asks. Zimbra's own `tag` and `flag` commands are rewritten into
//! `addflag` with marker flags before compiling (see `zimbra`).
//!
//! How a delivery agent applies the result, per recipient:
//! - every `Keep` / `FileInto` stores one copy (Inbox / the folder, created when
//!   missing and `create`, else the Inbox), with its flags and tags; several actions for
//!   the same folder store one copy;
//! - `Discard` alone stores nothing (the message counts as delivered);
//! - `Redirect` queues the unchanged message to the address with the original sender,
//!   after checking the forwarding-loop marker;
//! - `Reject { extended: true }` during LMTP answers `550 5.7.1` for that recipient;
//!   otherwise (or for `reject`) a bounce goes to the envelope sender;
//! - `Send` queues the message (a vacation reply or a notification) with the null
//!   sender `<>`.
//!
//! `notify` (RFC 5435) sends mail notifications only (`mailto:`, RFC 5436; see
//! [`notify`]): `valid_notify_method` is true for `mailto:` URIs alone,
//! `notify_method_capability` answers `maybe` for `online` (RFC 5436 §2.2), other
//! methods are refused (logged, the rest of the script runs). At most
//! [`MAX_NOTIFICATIONS`] per message and recipient, none about a message that is itself
//! auto-submitted.

mod notify;
mod zimbra;

use std::panic::{AssertUnwindSafe, catch_unwind};

use sieve::{Compiler, Envelope as SieveEnv, Event, Input, Recipient, Runtime};
use tracing::debug;

pub use notify::{MAX_NOTIFICATIONS, MAX_RECIPIENTS};
pub use zimbra::{out_of_office_script, rewrite_zimbra_commands};

/// Longest script compiled, in octets (Zimbra caps `zimbraMailSieveScript` far lower).
const MAX_SCRIPT: usize = 256 * 1024;
/// Interpreter steps before a script is stopped.
const CPU_LIMIT: usize = 20_000;
/// Flag prefix that carries a Zimbra tag through sieve-rs.
pub(crate) const TAG_FLAG_PREFIX: &str = "$zcs-tag:";

/// One thing the server must do with the message for this recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SieveAction {
    /// Store in the Inbox with these IMAP flags (`\Seen`, `\Flagged`, keywords) and
    /// Zimbra tags.
    Keep {
        /// IMAP flags and keywords.
        flags: Vec<String>,
        /// Zimbra tag names.
        tags: Vec<String>,
    },
    /// Store in `folder` (a path like `Work/Reports`; create it when missing if
    /// `create`). With `fileinto :copy` a `Keep` is returned too.
    FileInto {
        /// Folder path as the script wrote it.
        folder: String,
        /// IMAP flags and keywords.
        flags: Vec<String>,
        /// Zimbra tag names.
        tags: Vec<String>,
        /// `:create` (RFC 5490 §3.2).
        create: bool,
    },
    /// Drop the message silently (cancels the implicit keep).
    Discard,
    /// Forward the message unchanged to `address` (RFC 5228 §4.2).
    Redirect {
        /// Destination address.
        address: String,
    },
    /// Refuse the message with `reason` (RFC 5429): at SMTP time when still possible
    /// (`ereject`), else with a bounce (MDN) to the sender.
    Reject {
        /// The reason text.
        reason: String,
        /// `ereject` rather than `reject`.
        extended: bool,
    },
    /// Send `message` (a complete RFC 5322 message: the vacation reply, or a `notify`
    /// notification) to `to`, from the recipient, with the null envelope sender
    /// (RFC 5230 §5, RFC 3834 §3.3). A notification to several addresses is one
    /// `Send` per address, with the same message.
    Send {
        /// Destination address.
        to: String,
        /// The reply message.
        message: Vec<u8>,
    },
}

/// The envelope the script sees.
#[derive(Clone, Copy, Debug)]
pub struct SieveEnvelope<'a> {
    /// The envelope sender, `""` for `<>`.
    pub from: &'a str,
    /// The recipient whose script runs.
    pub to: &'a str,
}

/// Remembers which vacation replies were sent, so one sender gets one reply per period
/// (RFC 5230 §4.1, Zimbra's `zimbraPrefOutOfOfficeCacheDuration`). The server keeps it
/// per account (in the mailbox or in memory).
pub trait VacationTracker: Send + Sync {
    /// True when `key` (it names the sender and the reply) was recorded less than
    /// `period_secs` seconds ago: no reply then. Otherwise records it now and returns
    /// false.
    fn seen_within(&self, key: &str, period_secs: u64) -> bool;
}

/// What the script runs with besides the message.
#[derive(Clone, Copy)]
pub struct SieveContext<'a> {
    /// The recipient's primary address (vacation checks it is among the message's
    /// recipients and sends from it).
    pub user_address: &'a str,
    /// The recipient's display name, for the vacation `From`.
    pub user_name: &'a str,
    /// Vacation memory; without it every vacation reply is sent.
    pub vacation: Option<&'a dyn VacationTracker>,
}

/// Why a script is refused; for the admin or SOAP call that saves it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SieveError {
    /// Larger than the limit.
    #[error("script too large")]
    TooLarge,
    /// Did not compile.
    #[error("script does not compile: {0}")]
    Compile(String),
}

/// Compiles `script` (after rewriting Zimbra's `tag`/`flag`), to check it before saving.
pub fn validate(script: &str) -> Result<(), SieveError> {
    compile(script).map(|_| ())
}

fn compile(script: &str) -> Result<sieve::Sieve, SieveError> {
    if script.len() > MAX_SCRIPT {
        return Err(SieveError::TooLarge);
    }
    let script = rewrite_zimbra_commands(script);
    // Zimbra accepts `tag` and `flag` without a matching `require`; so do we.
    let compiler = Compiler::new().with_no_capability_check(true);
    match catch_unwind(AssertUnwindSafe(|| compiler.compile(script.as_bytes()))) {
        Ok(Ok(compiled)) => Ok(compiled),
        Ok(Err(e)) => Err(SieveError::Compile(e.to_string())),
        Err(_) => Err(SieveError::Compile("compiler failure".into())),
    }
}

/// The implicit keep (RFC 5228 §2.10.2).
fn implicit_keep() -> Vec<SieveAction> {
    vec![SieveAction::Keep {
        flags: Vec::new(),
        tags: Vec::new(),
    }]
}

/// Runs `script` on `message` (raw RFC 5322 octets) for `envelope.to` and returns the
/// actions to apply, in the order the script made them. An empty or failing script
/// gives `[Keep]`; the list is never empty unless the script discarded, redirected or
/// rejected. Cost: one compile plus at most `CPU_LIMIT` interpreter steps.
pub fn run_sieve(
    script: &str,
    message: &[u8],
    envelope: SieveEnvelope<'_>,
    ctx: SieveContext<'_>,
) -> Vec<SieveAction> {
    if script.trim().is_empty() {
        return implicit_keep();
    }
    let compiled = match compile(script) {
        Ok(c) => c,
        Err(e) => {
            debug!(error = %e, "sieve script does not compile, keeping");
            return implicit_keep();
        }
    };
    match catch_unwind(AssertUnwindSafe(|| {
        execute(compiled, message, envelope, ctx)
    })) {
        Ok(Some(actions)) => actions,
        Ok(None) => implicit_keep(),
        Err(_) => {
            debug!("sieve interpreter panicked, keeping");
            implicit_keep()
        }
    }
}

/// The event loop; `None` on a runtime error.
fn execute(
    compiled: sieve::Sieve,
    message: &[u8],
    envelope: SieveEnvelope<'_>,
    ctx: SieveContext<'_>,
) -> Option<Vec<SieveAction>> {
    // sieve-rs counts every `notify` run as an outgoing message, next to the vacation
    // reply and redirects, even those we drop; so its budget is not the limit here:
    // redirects have theirs, a script sends one vacation reply, and notifications are
    // capped by `Notices` (MAX_NOTIFICATIONS).
    let runtime = Runtime::new()
        .with_cpu_limit(CPU_LIMIT)
        .with_max_redirects(4)
        .with_max_out_messages(CPU_LIMIT)
        // RFC 5435 §4 (valid_notify_method), RFC 5436 §2.1: the one method we send.
        .with_valid_notification_uri("mailto");
    let mut instance = runtime
        .filter(message)
        .with_user_address(ctx.user_address)
        .with_user_full_name(ctx.user_name)
        .with_envelope(SieveEnv::From, envelope.from)
        .with_envelope(SieveEnv::To, envelope.to);
    let mut actions = Vec::new();
    let mut created: Vec<Vec<u8>> = Vec::new();
    let mut notices = Notices::new(message, ctx);
    // The message sieve-rs made just before a `notify` is its `:fcc` copy.
    let mut last_created = None;
    let mut fcc_copy = None;
    let mut input = Input::script("zimbraMailSieveScript", compiled);
    while let Some(result) = instance.run(input) {
        let event = match result {
            Ok(event) => event,
            Err(e) => {
                debug!(error = ?e, "sieve runtime error, keeping");
                return None;
            }
        };
        input = true.into();
        let just_created = last_created.take();
        match event {
            Event::IncludeScript { .. } => input = false.into(),
            Event::MailboxExists { .. } => input = true.into(),
            Event::ListContains { .. } => input = false.into(),
            Event::DuplicateId { id, expiry, .. } => {
                let seen = ctx.vacation.is_some_and(|t| t.seen_within(&id, expiry));
                input = seen.into();
            }
            Event::SetEnvelope { .. } => {}
            Event::Notify {
                method,
                from,
                importance,
                message: text,
                options,
            } => {
                fcc_copy = just_created;
                let importance = match importance {
                    sieve::Importance::High => Some("1"),
                    sieve::Importance::Low => Some("3"),
                    sieve::Importance::Normal => None,
                };
                let request = NotifyRequest {
                    method: &method,
                    from: from.as_deref(),
                    importance,
                    text: &text,
                    options: &options,
                };
                actions.extend(notices.send(request));
            }
            Event::Function { .. } => input = false.into(),
            // LIMITATION: edits made by `editheader` (a later message_id) are not kept;
            // the original message is filed.
            Event::Keep { flags, .. } => {
                let (flags, tags) = split_tags(flags);
                actions.push(SieveAction::Keep { flags, tags });
            }
            Event::Discard => actions.push(SieveAction::Discard),
            Event::Reject { extended, reason } => {
                actions.push(SieveAction::Reject { reason, extended })
            }
            Event::FileInto { message_id, .. }
                if message_id > 0 && fcc_copy == Some(message_id) =>
            {
                // LIMITATION: `notify :fcc` does not file a copy of the notification.
                debug!("notify :fcc not filed");
            }
            Event::FileInto {
                folder,
                flags,
                create,
                ..
            } => {
                let (flags, tags) = split_tags(flags);
                actions.push(SieveAction::FileInto {
                    folder,
                    flags,
                    tags,
                    create,
                });
            }
            Event::CreatedMessage {
                message_id,
                message,
            } => {
                if created.len() < message_id {
                    created.resize(message_id, Vec::new());
                }
                if let Some(slot) = message_id.checked_sub(1).and_then(|i| created.get_mut(i)) {
                    *slot = message;
                }
                last_created = Some(message_id);
            }
            Event::SendMessage {
                recipient: Recipient::Group(_),
                ..
            } => {
                // sieve-rs's own mailto notification: only a `notify` the rewrite could
                // not reach (a `text:` method) comes this way; refused like other
                // methods we do not handle.
                debug!("notify not rewritten, not sent");
            }
            Event::SendMessage {
                recipient,
                message_id,
                ..
            } => {
                let to = match recipient {
                    Recipient::Address(a) => vec![a],
                    Recipient::List(l) => vec![l],
                    Recipient::Group(g) => g,
                };
                for to in to {
                    if message_id == 0 {
                        actions.push(SieveAction::Redirect { address: to });
                    } else if let Some(m) = message_id.checked_sub(1).and_then(|i| created.get(i)) {
                        actions.push(SieveAction::Send {
                            to,
                            message: m.clone(),
                        });
                    }
                }
            }
        }
    }
    Some(actions)
}

/// One `notify` as sieve-rs evaluated it.
struct NotifyRequest<'a> {
    method: &'a str,
    from: Option<&'a str>,
    importance: Option<&'a str>,
    /// `:message`, or the triggering subject when absent.
    text: &'a str,
    options: &'a [String],
}

/// The notifications of one run: the cap, duplicates, the auto-submitted rule.
struct Notices<'a> {
    message: &'a [u8],
    owner: notify::Owner<'a>,
    /// Parsed on the first `notify`.
    original: Option<notify::Original>,
    /// Envelope recipients and subject of each sent notification (duplicates dropped).
    sent: Vec<(Vec<String>, Vec<u8>)>,
    auto_submitted: bool,
}

impl<'a> Notices<'a> {
    fn new(message: &'a [u8], ctx: SieveContext<'a>) -> Self {
        Notices {
            message,
            owner: notify::Owner {
                address: ctx.user_address,
                name: ctx.user_name,
            },
            original: None,
            sent: Vec::new(),
            auto_submitted: notify::is_auto_submitted(message),
        }
    }

    /// The `Send` actions for one `notify`: none when the method is not ours, the
    /// triggering message is auto-submitted (RFC 5436 §2.7), the cap is reached or the
    /// same notification went out already in this run.
    fn send(&mut self, r: NotifyRequest<'_>) -> Vec<SieveAction> {
        if self.auto_submitted {
            debug!("notify: the message is auto-submitted, no notification");
            return Vec::new();
        }
        if self.sent.len() >= notify::MAX_NOTIFICATIONS {
            tracing::info!(
                max = notify::MAX_NOTIFICATIONS,
                "notify: notification limit reached"
            );
            return Vec::new();
        }
        let message = self.message;
        let original = self
            .original
            .get_or_insert_with(|| notify::Original::parse(message));
        let made = if let Some(uri) = r.method.strip_prefix(notify::MAILTO_PREFIX) {
            notify::mailto(uri, r.from, r.importance, r.text, self.owner, original)
        } else if r.method == notify::ZIMBRA_METHOD {
            notify::zimbra(r.options, self.owner, original)
        } else {
            // RFC 5435 §3: a method we do not support sends nothing.
            let scheme = r.method.split(':').next().unwrap_or("");
            tracing::info!(scheme, "notify: method not supported, not sent");
            None
        };
        let Some(n) = made else {
            debug!("notify: no valid recipient, not sent");
            return Vec::new();
        };
        // Duplicates: the same recipients and header block minus Date and Message-ID.
        let key = (n.to.clone(), subject_of(&n.message));
        if self.sent.contains(&key) {
            return Vec::new();
        }
        self.sent.push(key);
        n.to.into_iter()
            .map(|to| SieveAction::Send {
                to,
                message: n.message.clone(),
            })
            .collect()
    }
}

/// The `Subject` line of a built notification, for duplicate detection.
fn subject_of(message: &[u8]) -> Vec<u8> {
    message
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"Subject:"))
        .unwrap_or_default()
        .to_vec()
}

/// Splits marker flags carrying Zimbra tags off the IMAP flags.
fn split_tags(flags: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut imap = Vec::new();
    let mut tags = Vec::new();
    for f in flags {
        match f.strip_prefix(TAG_FLAG_PREFIX) {
            Some(tag) if !tag.is_empty() => tags.push(tag.to_string()),
            Some(_) => {}
            None => imap.push(f),
        }
    }
    (imap, tags)
}

#[cfg(test)]
mod tests;
