//! The content filters run at the end of data, in this order: (a) virus scan by clamd,
//! (b) spam score by spamd, (c) DKIM, SPF and DMARC checks (`Authentication-Results`,
//! RFC 8601), (d) the domain disclaimer and DKIM signing of mail from our own users, in
//! that order so that the signature covers the disclaimer. What each finds becomes a
//! verdict (accept with extra header fields and maybe new content, reject, tempfail,
//! discard) for the session.
//!
//! The scanners' wire protocols are in `clamd` and `spamd`; the DKIM/SPF/DMARC work is
//! in `crate::dkim`.

pub mod archive;
pub mod attachments;
pub mod clamd;
pub mod notice;
pub mod spamd;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use tracing::{info, warn};

use crate::disclaimer::DisclaimerPolicy;
use crate::dkim::{AuthChecker, DkimKeys, DmarcPolicy};
use crate::dmarc_report::DmarcLog;
use clamd::{ClamdClient, ClamdVerdict};
use spamd::SpamdClient;

/// A scanner failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Could not connect, or no answer in time.
    #[error("scanner unreachable: {0}")]
    Unreachable(String),
    /// The scanner answered with an error or something unreadable.
    #[error("scanner error: {0}")]
    Protocol(String),
}

/// What to do with a message when a scanner cannot be asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnScannerFailure {
    /// `451 4.7.1`: the client tries again later.
    #[default]
    TempFail,
    /// Let the message through unscanned.
    Accept,
}

/// What happens to a message at or over the kill level
/// (`zimbraAmavisFinalSpamDestiny`, amavis `final_spam_destiny`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpamDestiny {
    /// `554 5.7.1` at the end of data (`D_REJECT`, and `D_BOUNCE`: the sending MTA
    /// bounces it, we never do).
    Reject,
    /// Accepted and dropped, no bounce (`D_DISCARD`, Zimbra's default).
    #[default]
    Discard,
    /// Delivered with `X-Spam-Flag: YES`, so delivery files it to Junk (`D_PASS`).
    Pass,
}

/// Spam levels as Zimbra sets them: percentages of a 20-point scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpamPolicy {
    /// `zimbraSpamTagPercent` (default 33): at or over it the message is tagged
    /// (`X-Spam-Flag: YES`).
    pub tag_percent: u32,
    /// `zimbraSpamKillPercent` (default 75): at or over it `destiny` applies.
    pub kill_percent: u32,
    /// The fate of killed messages (default `Discard`, as Zimbra).
    pub destiny: SpamDestiny,
    /// When spamd cannot be asked (default: accept unscanned, as amavis does).
    pub on_failure: OnScannerFailure,
    /// Scan mail from authenticated users too (default false).
    pub scan_authenticated: bool,
}

impl SpamDestiny {
    /// Parses a `zimbraAmavisFinalSpamDestiny` value (`D_PASS`, `D_BOUNCE`, `D_REJECT`,
    /// `D_DISCARD`, case-insensitive); `None` for anything else.
    pub fn from_zimbra(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "D_PASS" => Some(SpamDestiny::Pass),
            "D_BOUNCE" | "D_REJECT" => Some(SpamDestiny::Reject),
            "D_DISCARD" => Some(SpamDestiny::Discard),
            _ => None,
        }
    }
}

impl Default for SpamPolicy {
    fn default() -> Self {
        SpamPolicy {
            tag_percent: 33,
            kill_percent: 75,
            destiny: SpamDestiny::Discard,
            on_failure: OnScannerFailure::Accept,
            scan_authenticated: false,
        }
    }
}

impl SpamPolicy {
    /// Zimbra maps percentages onto a 20-point SpamAssassin scale (zmconfigd writes
    /// `sa_tag2_level_deflt = 20 * zimbraSpamTagPercent / 100`).
    pub fn tag_level(&self) -> f64 {
        f64::from(self.tag_percent) * 20.0 / 100.0
    }

    /// `sa_kill_level_deflt = 20 * zimbraSpamKillPercent / 100`.
    pub fn kill_level(&self) -> f64 {
        f64::from(self.kill_percent) * 20.0 / 100.0
    }
}

/// The filter settings of one listener. All off by default.
#[derive(Clone, Default)]
pub struct Filters {
    /// Virus scanning through clamd.
    pub clamd: Option<ClamdClient>,
    /// When clamd cannot be asked (default `TempFail`).
    pub clamd_on_failure: OnScannerFailure,
    /// `zimbraAmavisQuarantineAccount`: infected mail is delivered there instead of to
    /// its recipients (the client gets `250`). Without it infected mail is refused with
    /// `554 5.7.1`.
    pub virus_quarantine: Option<String>,
    /// `zimbraMtaBlockedExtension`: attachments with these extensions (`exe`, `bat`,
    /// ...) make the message refused with `554 5.7.1`. Empty: nothing is blocked.
    pub blocked_extensions: Vec<String>,
    /// `zimbraVirusBlockEncryptedArchive`: with clamd on, a ZIP attachment with an
    /// encrypted entry counts as infected ([`archive::ENCRYPTED_ZIP`]).
    pub block_encrypted_archives: bool,
    /// `zimbraVirusWarnRecipient`: local recipients of a quarantined message get a
    /// notice ([`notice`]).
    pub virus_warn_recipient: bool,
    /// `zimbraMtaBlockedExtensionWarnRecipient`: local recipients of a message refused
    /// for its attachment get a notice.
    pub blocked_warn_recipient: bool,
    /// Spam scoring through spamd.
    pub spamd: Option<SpamdClient>,
    /// Spam levels and destiny.
    pub spam: SpamPolicy,
    /// DKIM/SPF/DMARC verification of mail from unauthenticated, untrusted clients.
    pub auth_check: Option<Arc<AuthChecker>>,
    /// Honour the sender domain's DMARC policy when DMARC fails (OpenDMARC's
    /// `RejectFailures`): `p=reject` is refused with `550 5.7.1`, `p=quarantine` is
    /// delivered to Junk (`X-Spam-Flag: YES`). Off: the header only.
    pub dmarc_enforce: bool,
    /// DKIM keys for signing mail from authenticated or trusted clients.
    pub dkim_keys: Option<Arc<DkimKeys>>,
    /// Where DMARC evaluations are recorded for aggregate reports (RFC 7489 §7.2);
    /// none recorded without it.
    pub dmarc_log: Option<Arc<DmarcLog>>,
    /// Domain disclaimers added to mail from authenticated or trusted clients.
    pub disclaimers: Option<DisclaimerPolicy>,
    /// `zimbraVirusWarnAdmin`: the administrator gets a notice of each quarantined
    /// message (when `admin_address` is set).
    pub virus_warn_admin: bool,
    /// `zimbraMtaBlockedExtensionWarnAdmin`: the administrator gets a notice of each
    /// message refused for its attachment (when `admin_address` is set).
    pub blocked_warn_admin: bool,
    /// Where administrator notices go (amavis's `virus_admin`); none without it.
    pub admin_address: Option<String>,
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filters")
            .field("clamd", &self.clamd)
            .field("clamd_on_failure", &self.clamd_on_failure)
            .field("virus_quarantine", &self.virus_quarantine)
            .field("blocked_extensions", &self.blocked_extensions)
            .field("block_encrypted_archives", &self.block_encrypted_archives)
            .field("virus_warn_recipient", &self.virus_warn_recipient)
            .field("blocked_warn_recipient", &self.blocked_warn_recipient)
            .field("spamd", &self.spamd)
            .field("spam", &self.spam)
            .field("auth_check", &self.auth_check.is_some())
            .field("dmarc_enforce", &self.dmarc_enforce)
            .field("dkim_keys", &self.dkim_keys.as_ref().map(|k| k.domains()))
            .field("dmarc_log", &self.dmarc_log.as_ref().map(|l| l.dir()))
            .field("disclaimers", &self.disclaimers)
            .field("virus_warn_admin", &self.virus_warn_admin)
            .field("blocked_warn_admin", &self.blocked_warn_admin)
            .field("admin_address", &self.admin_address)
            .finish()
    }
}

/// What the filters found, kept with the envelope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanReport {
    /// The virus signature clamd reported (the message was refused then).
    pub virus: Option<String>,
    /// spamd's score, when it was asked.
    pub spam_score: Option<f64>,
    /// The message is at or over the tag level (`X-Spam-Flag: YES`): file it to Junk.
    pub spam: bool,
    /// The `Authentication-Results` value added, if any.
    pub auth_results: Option<String>,
    /// The domain whose key signed the message, if it was signed.
    pub dkim_signed_by: Option<String>,
}

/// Who sent the message, for the filters.
#[derive(Clone, Copy, Debug)]
pub struct FilterContext<'a> {
    /// Our host name (the `authserv-id` of `Authentication-Results`).
    pub hostname: &'a str,
    /// The client address.
    pub ip: IpAddr,
    /// The HELO/EHLO argument.
    pub helo: &'a str,
    /// The envelope sender, `""` for `<>`.
    pub mail_from: &'a str,
    /// The client authenticated with `AUTH`.
    pub authenticated: bool,
    /// The client is in `zimbraMtaMyNetworks`.
    pub trusted: bool,
    /// Message id, for logs.
    pub id: &'a str,
    /// The envelope recipients (for `zimbraAmavisOutboundDisclaimersOnly`).
    pub recipients: &'a [&'a str],
}

/// The filters' decision.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterVerdict {
    /// Deliver, with `headers` (CRLF-terminated fields) put in front of the content.
    Accept {
        /// Header fields to add.
        headers: Vec<u8>,
        /// The content to deliver instead of the client's (a disclaimer was added);
        /// `None`: the content as sent.
        content: Option<Vec<u8>>,
        /// What was found.
        report: ScanReport,
    },
    /// Refuse for good: `(code, (class, subject, detail), text)`.
    Reject(u16, (u8, u16, u16), String),
    /// Refuse for now.
    TempFail(u16, (u8, u16, u16), String),
    /// Say `250` and drop the message.
    Discard(ScanReport),
    /// Refuse for good (`554 5.7.1` with `text`): an attachment's type is blocked.
    Blocked {
        /// The attachment's file name.
        attachment: String,
        /// The reply text.
        text: String,
    },
    /// Say `250` and deliver to the quarantine account only, with `headers` added.
    Quarantine {
        /// The quarantine account's address.
        to: String,
        /// Header fields to add (`X-Amavis-Alert`).
        headers: Vec<u8>,
        /// What was found.
        report: ScanReport,
    },
}

/// Runs the configured filters over `content` (the message as the client sent it).
/// Costs one round trip per configured scanner, plus DNS lookups for the checks.
pub async fn run_filters(
    filters: &Filters,
    content: &[u8],
    ctx: FilterContext<'_>,
) -> FilterVerdict {
    let mut report = ScanReport::default();
    let mut headers = String::new();
    let id = ctx.id;

    // (a) Virus.
    if let Some(clamd) = &filters.clamd {
        match clamd.scan(content).await {
            Ok(ClamdVerdict::Clean) => {
                if filters.block_encrypted_archives
                    && let Some(file) = archive::encrypted_archive(content)
                {
                    info!(id, attachment = %file, "encrypted archive");
                    return infected(filters, archive::ENCRYPTED_ZIP.into(), ctx, report);
                }
            }
            Ok(ClamdVerdict::Infected(name)) => return infected(filters, name, ctx, report),
            Err(e) => {
                warn!(id, error = %e, "virus scan failed");
                if filters.clamd_on_failure == OnScannerFailure::TempFail {
                    let text = "Virus scanner unavailable, try again later".to_string();
                    return FilterVerdict::TempFail(451, (4, 7, 1), text);
                }
            }
        }
    }

    // Banned attachments (amavis's banned files check comes right after the virus scan).
    if let Some(name) = attachments::blocked_attachment(content, &filters.blocked_extensions) {
        info!(id, ip = %ctx.ip, attachment = %name, "blocked attachment, message refused");
        let text = format!(
            "Message rejected: attachment type not allowed ({})",
            crate::reply::sanitize(&name)
        );
        return FilterVerdict::Blocked {
            attachment: name,
            text,
        };
    }

    // (b) Spam.
    let scan_spam = !ctx.authenticated || filters.spam.scan_authenticated;
    if let (Some(spamd), true) = (&filters.spamd, scan_spam) {
        match spamd.check(content).await {
            Ok(result) => {
                let policy = &filters.spam;
                let tag = result.score >= policy.tag_level();
                let kill = result.score >= policy.kill_level();
                report.spam_score = Some(result.score);
                report.spam = tag;
                info!(id, score = result.score, tag, kill, "spam scored");
                if kill && policy.destiny == SpamDestiny::Reject {
                    return FilterVerdict::Reject(
                        554,
                        (5, 7, 1),
                        "Message rejected as spam".into(),
                    );
                }
                if kill && policy.destiny == SpamDestiny::Discard {
                    return FilterVerdict::Discard(report);
                }
                spam_headers(&mut headers, &result, tag, policy.tag_level());
            }
            Err(e) => {
                warn!(id, error = %e, "spam scan failed");
                if filters.spam.on_failure == OnScannerFailure::TempFail {
                    let text = "Spam scanner unavailable, try again later".to_string();
                    return FilterVerdict::TempFail(451, (4, 7, 1), text);
                }
            }
        }
    }

    // (c) DKIM, SPF, DMARC for mail from the outside.
    if let (Some(checker), false) = (&filters.auth_check, ctx.authenticated || ctx.trusted) {
        let checked = checker
            .check(content, ctx.ip, ctx.helo, ctx.mail_from)
            .await;
        let dmarc = &checked.dmarc;
        if dmarc.failed {
            info!(id, domain = %dmarc.domain, policy = ?dmarc.policy, "DMARC failed");
        }
        if let (Some(log), Some(eval)) = (&filters.dmarc_log, &checked.evaluation) {
            use mail_auth::report::ActionDisposition;
            let done = match (filters.dmarc_enforce && dmarc.failed, dmarc.policy) {
                (true, DmarcPolicy::Reject) => ActionDisposition::Reject,
                (true, DmarcPolicy::Quarantine) => ActionDisposition::Quarantine,
                _ => ActionDisposition::None,
            };
            log.record(&eval.clone().with_disposition(done));
        }
        if filters.dmarc_enforce && dmarc.failed {
            match dmarc.policy {
                // RFC 7489 §6.3 (p=reject) and §10.3: refuse in the SMTP session.
                DmarcPolicy::Reject => {
                    let text = format!(
                        "Message rejected: DMARC policy of {} says reject",
                        crate::reply::sanitize(&dmarc.domain)
                    );
                    return FilterVerdict::Reject(550, (5, 7, 1), text);
                }
                DmarcPolicy::Quarantine => {
                    let _ = write!(headers, "X-Spam-Flag: YES\r\n");
                    report.spam = true;
                }
                DmarcPolicy::None => {}
            }
        }
        // RFC 8601 §2.2.
        let _ = write!(headers, "Authentication-Results: {}\r\n", checked.header);
        report.auth_results = Some(checked.header);
    }

    // (d) The domain disclaimer, then DKIM signing of our users' mail: the signature
    // covers the body as it leaves (RFC 6376 §5.3: sign the final form).
    let ours = ctx.authenticated || ctx.trusted;
    let mut rewritten = None;
    if let (Some(policy), true) = (&filters.disclaimers, ours) {
        rewritten = policy.apply(content, ctx.mail_from, ctx.recipients).await;
        if rewritten.is_some() {
            info!(id, from = %ctx.mail_from, "domain disclaimer added");
        }
    }
    let content = rewritten.as_deref().unwrap_or(content);
    let mut out = headers.into_bytes();
    if let (Some(keys), true) = (&filters.dkim_keys, ours)
        && let Some((domain, signature)) = keys.sign(content, ctx.mail_from)
    {
        out.extend_from_slice(&signature);
        report.dkim_signed_by = Some(domain);
    }
    FilterVerdict::Accept {
        headers: out,
        content: rewritten,
        report,
    }
}

/// The verdict for a message with the virus `name`: to the quarantine account when one
/// is set, else refused with `554 5.7.1`.
fn infected(
    filters: &Filters,
    name: String,
    ctx: FilterContext<'_>,
    mut report: ScanReport,
) -> FilterVerdict {
    let id = ctx.id;
    if let Some(to) = &filters.virus_quarantine {
        info!(id, ip = %ctx.ip, virus = %name, "virus found, message quarantined");
        let clean: String = name.chars().filter(|c| c.is_ascii_graphic()).collect();
        let headers = format!("X-Amavis-Alert: INFECTED, message contains virus: {clean}\r\n");
        report.virus = Some(name);
        return FilterVerdict::Quarantine {
            to: to.clone(),
            headers: headers.into_bytes(),
            report,
        };
    }
    info!(id, ip = %ctx.ip, virus = %name, "virus found, message refused");
    let text = format!(
        "Message rejected: virus found ({})",
        crate::reply::sanitize(&name)
    );
    FilterVerdict::Reject(554, (5, 7, 1), text)
}

/// The `X-Spam-*` fields amavis adds (Zimbra's `zimbraSpamHeader` is `X-Spam-Flag`).
fn spam_headers(out: &mut String, result: &spamd::SpamResult, tag: bool, tag_level: f64) {
    let yes = if tag { "YES" } else { "NO" };
    let stars = "*".repeat(result.score.clamp(0.0, 50.0) as usize);
    let tests = if result.symbols.is_empty() {
        "none".to_string()
    } else {
        result
            .symbols
            .iter()
            .map(|s| {
                s.chars()
                    .filter(|c| c.is_ascii_graphic())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let _ = write!(out, "X-Spam-Flag: {yes}\r\n");
    let _ = write!(out, "X-Spam-Score: {:.3}\r\n", result.score);
    let _ = write!(out, "X-Spam-Level: {stars}\r\n");
    let _ = write!(
        out,
        "X-Spam-Status: {}, score={:.3} required={:.1} tests=[{tests}]\r\n",
        if tag { "Yes" } else { "No" },
        result.score,
        tag_level
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zimbra_levels() {
        let p = SpamPolicy::default();
        assert!((p.tag_level() - 6.6).abs() < 1e-9);
        assert!((p.kill_level() - 15.0).abs() < 1e-9);
        assert_eq!(p.destiny, SpamDestiny::Discard);
        assert_eq!(SpamDestiny::from_zimbra("d_pass"), Some(SpamDestiny::Pass));
        assert_eq!(
            SpamDestiny::from_zimbra("D_BOUNCE"),
            Some(SpamDestiny::Reject)
        );
        assert_eq!(SpamDestiny::from_zimbra("D_NONE"), None);
    }

    #[test]
    fn header_text() {
        let mut out = String::new();
        let result = spamd::SpamResult {
            is_spam: true,
            score: 7.25,
            threshold: 5.0,
            symbols: vec!["A_RULE".into(), "B\r\nX".into()],
        };
        spam_headers(&mut out, &result, true, 6.6);
        assert_eq!(
            out,
            "X-Spam-Flag: YES\r\nX-Spam-Score: 7.250\r\nX-Spam-Level: *******\r\n\
             X-Spam-Status: Yes, score=7.250 required=6.6 tests=[A_RULE,BX]\r\n"
        );
    }
}
