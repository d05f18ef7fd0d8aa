//! A message's conversations with all the milters of a listener, step by step as the
//! SMTP transaction goes (as Postfix's `smtpd_milters` do): opened at `MAIL` (connect,
//! HELO and MAIL), told each recipient at `RCPT`, given the content at the end of data.
//! A refusal of `MAIL` or `RCPT` is answered to that command; the content verdict and
//! modifications at the end of data. [`run_milters`] runs every step at once, for mail
//! that did not come over SMTP (`zimbraMtaNonSmtpdMilters`).
//!
//! Failures (a milter that cannot be reached, times out or breaks the protocol) get
//! `zimbraMtaMilterDefaultAction` at the step where they happen.

use tracing::{info, warn};

use super::apply::{apply_edits, bare};
use super::client::{Answer, Conversation, MilterContext, MilterError, MilterOutcome, Verdict};
use super::codec::Response;
use super::{DefaultAction, MessageEdit, MilterSettings};

/// A milter's refusal of a command: the reply code (4xx for now, 5xx for good), the
/// enhanced status and the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilterRefusal {
    /// SMTP reply code.
    pub code: u16,
    /// RFC 3463 enhanced status (class, subject, detail).
    pub status: (u8, u16, u16),
    /// Reply text (already safe to send).
    pub text: String,
}

impl MilterRefusal {
    /// The refusal as the outcome of the whole message.
    pub fn into_outcome(self) -> MilterOutcome {
        if (400..500).contains(&self.code) {
            MilterOutcome::TempFail(self.code, self.status, self.text)
        } else {
            MilterOutcome::Reject(self.code, self.status, self.text)
        }
    }

    fn from_outcome(outcome: MilterOutcome) -> Option<MilterRefusal> {
        match outcome {
            MilterOutcome::Reject(code, status, text)
            | MilterOutcome::TempFail(code, status, text) => {
                Some(MilterRefusal { code, status, text })
            }
            MilterOutcome::Deliver(_) | MilterOutcome::Discard => None,
        }
    }
}

/// What a failed milter means under `action`: `Err` refuses, `Ok(Some(reason))` holds
/// the message, `Ok(None)` goes on without that milter.
fn default_action(action: DefaultAction, addr: &str) -> Result<Option<String>, MilterRefusal> {
    match action {
        DefaultAction::Accept => Ok(None),
        DefaultAction::Quarantine => Ok(Some(format!("milter {addr} failed"))),
        DefaultAction::Reject => Err(MilterRefusal {
            code: 550,
            status: (5, 7, 1),
            text: "Message rejected: content filter unavailable".into(),
        }),
        DefaultAction::TempFail => Err(MilterRefusal {
            code: 451,
            status: (4, 7, 1),
            text: "Content filter unavailable, try again later".into(),
        }),
    }
}

/// The milters' view of one message, from `MAIL` to the end of data. Dropping it (RSET,
/// a disconnect) closes the conversations.
pub struct MilterTransaction {
    settings: MilterSettings,
    id: String,
    /// Conversations still open, in the order of the milter list.
    live: Vec<Conversation>,
    /// Hold the message (a failed milter under the `quarantine` default action).
    hold: Option<String>,
    /// A milter discarded the message: `250` at the end, nothing delivered.
    discard: bool,
    /// A milter failed after `MAIL` under a refusing default action: every later step
    /// is refused the same way.
    failed: Option<MilterRefusal>,
}

impl MilterTransaction {
    /// Opens a conversation with every milter of `settings` and gives each the connect,
    /// HELO and MAIL steps of `ctx` (`ctx.rcpts` is not used). `Err`: `MAIL` is refused
    /// (by a milter, or by the default action when one failed).
    pub async fn begin(
        settings: &MilterSettings,
        ctx: MilterContext<'_>,
    ) -> Result<MilterTransaction, MilterRefusal> {
        let mut tx = MilterTransaction {
            settings: settings.clone(),
            id: ctx.id.to_string(),
            live: Vec::new(),
            hold: None,
            discard: false,
            failed: None,
        };
        for milter in &settings.milters {
            let addr = milter.addr.as_str();
            match Conversation::open(addr, settings, ctx).await {
                Ok((conv, Answer::Go)) => tx.live.push(conv),
                Ok((conv, Answer::Accept)) => conv.quit().await,
                Ok((conv, Answer::Final(outcome))) => {
                    info!(
                        id = ctx.id,
                        milter = addr,
                        ?outcome,
                        "milter verdict at MAIL"
                    );
                    conv.quit().await;
                    match MilterRefusal::from_outcome(outcome) {
                        Some(refusal) => {
                            tx.quit_all().await;
                            return Err(refusal);
                        }
                        None => {
                            tx.discard = true;
                            tx.quit_all().await;
                            return Ok(tx);
                        }
                    }
                }
                Err(e) => {
                    tx.failure(addr, &e)?;
                }
            }
        }
        Ok(tx)
    }

    /// A milter failed: the default action (logged); `Err` refuses the current step.
    fn failure(&mut self, addr: &str, e: &MilterError) -> Result<(), MilterRefusal> {
        let action = self.settings.default_action;
        warn!(id = %self.id, milter = addr, error = %e, ?action, "milter failed; default action");
        if let Some(reason) = default_action(action, addr)? {
            self.hold = Some(reason);
        }
        Ok(())
    }

    async fn quit_all(&mut self) {
        for conv in self.live.drain(..) {
            conv.quit().await;
        }
    }

    /// Tells the milters about one recipient. `Err`: this recipient is refused (the
    /// others and the message go on), or, after a failure under a refusing default
    /// action, every recipient is.
    pub async fn rcpt(&mut self, rcpt: &str) -> Result<(), MilterRefusal> {
        if let Some(refusal) = &self.failed {
            return Err(refusal.clone());
        }
        let mut i = 0;
        while i < self.live.len() {
            match self.live[i].rcpt(rcpt).await {
                Ok(Answer::Go) => i += 1,
                Ok(Answer::Accept) => self.live.remove(i).quit().await,
                Ok(Answer::Final(outcome)) => {
                    let addr = self.live[i].addr.clone();
                    info!(id = %self.id, milter = %addr, rcpt, ?outcome, "milter verdict at RCPT");
                    match MilterRefusal::from_outcome(outcome) {
                        Some(refusal) => return Err(refusal),
                        None => {
                            self.discard = true;
                            self.quit_all().await;
                            return Ok(());
                        }
                    }
                }
                Err(e) => {
                    let conv = self.live.remove(i);
                    let addr = conv.addr.clone();
                    drop(conv);
                    if let Err(refusal) = self.failure(&addr, &e) {
                        self.failed = Some(refusal.clone());
                        self.quit_all().await;
                        return Err(refusal);
                    }
                }
            }
        }
        Ok(())
    }

    /// The end of data: each milter still listening gets the message `content` as the
    /// ones before it left it; their modifications are summed up, and a reject,
    /// tempfail or discard ends the round.
    pub async fn finish(mut self, content: &[u8]) -> MilterOutcome {
        if self.discard {
            return MilterOutcome::Discard;
        }
        if let Some(refusal) = self.failed.take() {
            return refusal.into_outcome();
        }
        let mut edit = MessageEdit {
            quarantine: self.hold.take(),
            ..MessageEdit::default()
        };
        let live = std::mem::take(&mut self.live);
        let mut rest = live.into_iter();
        while let Some(mut conv) = rest.next() {
            let current = edit.content.as_deref().unwrap_or(content);
            let timeout = self.settings.content_timeout;
            let result = conv.content(&self.id, current, timeout).await;
            let addr = conv.addr.clone();
            conv.quit().await;
            let edits = match result {
                Ok(Verdict::Go(edits)) => edits,
                Ok(Verdict::Final(outcome)) => {
                    info!(id = %self.id, milter = %addr, ?outcome, "milter verdict");
                    for other in rest {
                        other.quit().await;
                    }
                    return outcome;
                }
                Err(e) => match self.failure(&addr, &e) {
                    Ok(()) => {
                        if let Some(reason) = self.hold.take() {
                            edit.quarantine = Some(reason);
                        }
                        continue;
                    }
                    Err(refusal) => {
                        for other in rest {
                            other.quit().await;
                        }
                        return refusal.into_outcome();
                    }
                },
            };
            let changed = edits.iter().any(|e| {
                matches!(
                    e,
                    Response::AddHeader(..)
                        | Response::InsertHeader(..)
                        | Response::ChangeHeader(..)
                        | Response::ReplaceBody(_)
                )
            });
            let rewritten = changed.then(|| apply_edits(current, &edits));
            sum_edits(&mut edit, &edits);
            if rewritten.is_some() {
                edit.content = rewritten;
            }
        }
        MilterOutcome::Deliver(edit)
    }
}

/// Adds one milter's envelope modifications and quarantine request to `edit` (the
/// content changes are applied by the caller).
fn sum_edits(edit: &mut MessageEdit, edits: &[Response]) {
    for e in edits {
        match e {
            Response::AddRcpt(r) => {
                let r = bare(r);
                edit.del_rcpts.retain(|d| !d.eq_ignore_ascii_case(&r));
                edit.add_rcpts.push(r);
            }
            Response::DelRcpt(r) => {
                let r = bare(r);
                edit.add_rcpts.retain(|a| !a.eq_ignore_ascii_case(&r));
                edit.del_rcpts.push(r);
            }
            Response::ChangeFrom(f) => {
                edit.new_from = Some(bare(f.split('\0').next().unwrap_or("")));
            }
            Response::Quarantine(reason) => edit.quarantine = Some(reason.clone()),
            _ => {}
        }
    }
}

/// Asks every milter of `settings` about a message at once: the steps of `ctx` (every
/// recipient of `ctx.rcpts`), then `content`. A refusal at any step refuses the whole
/// message (there is no client to refuse a single recipient to).
pub async fn run_milters(
    settings: &MilterSettings,
    ctx: MilterContext<'_>,
    content: &[u8],
) -> MilterOutcome {
    let mut tx = match MilterTransaction::begin(settings, ctx).await {
        Ok(tx) => tx,
        Err(refusal) => return refusal.into_outcome(),
    };
    for rcpt in ctx.rcpts {
        if let Err(refusal) = tx.rcpt(rcpt).await {
            return refusal.into_outcome();
        }
    }
    tx.finish(content).await
}
