//! The backup report mail (`zimbraBackupReportEmailRecipients`,
//! `zimbraBackupReportEmailSender`, `zimbraBackupReportEmailSubjectPrefix`): after each
//! backup, completed, failed or refused before it started, a short summary in the
//! guide's layout (spec 04 §1.7) goes to the report recipients.
//!
//! This crate writes the message; sending it is the caller's: the process registers a
//! [`Mailer`] with [`set_mailer`] (the server's own mail queue, in `zmbackup` and in the
//! server), and [`send`] hands each report to it. Without one the report goes to the
//! log only.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::catalog::SessionKind;

/// Who gets the report, from whom, under which subject prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportSettings {
    /// `zimbraBackupReportEmailRecipients` (no mail when empty).
    pub recipients: Vec<String>,
    /// `zimbraBackupReportEmailSender`, the `From:` address.
    pub sender: String,
    /// `zimbraBackupReportEmailSubjectPrefix` (`ZCS Backup Report` by default).
    pub subject_prefix: String,
}

/// Default of `zimbraBackupReportEmailSubjectPrefix`.
pub const DEFAULT_SUBJECT_PREFIX: &str = "ZCS Backup Report";

/// What one backup did, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The server backed up.
    pub server: String,
    /// Full or incremental.
    pub kind: SessionKind,
    /// The session label; `None` when no session was started.
    pub label: Option<String>,
    /// `completed`, `failed` or `not started`.
    pub status: String,
    /// When the backup was asked for.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// Redo sequences the session covers (`from .. to`).
    pub redo_range: Option<(u64, u64)>,
    /// Accounts in the session.
    pub accounts: usize,
    /// Why it failed.
    pub error: Option<String>,
}

impl Summary {
    /// Whether the backup completed.
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
}

/// The report message (RFC 5322, CRLF line ends): `Subject: <prefix>:SUCCESS` or
/// `:FAILURE`, and the guide's lines `Server:`, `Type:`, `Status:`, `Started:`,
/// `Ended:`, `Redo log sequence range: a .. b`, `Number of accounts: N`, then the
/// error when it failed. Times are GMT (labels are GMT too).
pub fn message(s: &Summary, settings: &ReportSettings, now: DateTime<Utc>) -> Vec<u8> {
    // Header injection: values from the directory never carry line breaks.
    let clean = |v: &str| v.replace(['\r', '\n'], " ");
    let prefix = if settings.subject_prefix.trim().is_empty() {
        DEFAULT_SUBJECT_PREFIX.to_string()
    } else {
        clean(settings.subject_prefix.trim())
    };
    let outcome = if s.success() { "SUCCESS" } else { "FAILURE" };
    let kind = match s.kind {
        SessionKind::Full => "full",
        SessionKind::Incremental => "incremental",
    };
    let when = |t: DateTime<Utc>| t.format("%a, %Y/%m/%d %H:%M:%S%.3f GMT").to_string();
    let to = settings
        .recipients
        .iter()
        .map(|r| format!("<{}>", clean(r)))
        .collect::<Vec<_>>()
        .join(", ");
    let host = if s.server.trim().is_empty() {
        "localhost"
    } else {
        s.server.trim()
    };
    let mut body = format!(
        "Server: {}\r\nLabel:   {}\r\nType:    {kind}\r\nStatus:  {}\r\n\
         Started: {}\r\nEnded:   {}\r\n",
        clean(&s.server),
        s.label.as_deref().unwrap_or("(none)"),
        s.status,
        when(s.started),
        when(s.ended),
    );
    if let Some((from, to)) = s.redo_range {
        body.push_str(&format!("Redo log sequence range: {from} .. {to}\r\n"));
    }
    body.push_str(&format!("Number of accounts: {}\r\n", s.accounts));
    if let Some(e) = &s.error {
        body.push_str(&format!("\r\nError: {}\r\n", clean(e)));
    }
    format!(
        "From: <{from}>\r\nTo: {to}\r\nSubject: {prefix}:{outcome}\r\nDate: {date}\r\n\
         Message-ID: <backupreport.{id}@{host}>\r\nAuto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        from = clean(&settings.sender),
        date = now.to_rfc2822(),
        id = now.timestamp_nanos_opt().unwrap_or_default(),
        host = clean(host),
    )
    .into_bytes()
}

/// A future a [`Mailer`] returns.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Sends a finished message: the server's mail queue, usually.
pub trait Mailer: Send + Sync {
    /// Hands `message` to the mail system for `recipients`; the error text says why not.
    fn send<'a>(&'a self, recipients: &'a [String], message: &'a [u8]) -> MailFuture<'a>;
}

static MAILER: RwLock<Option<Arc<dyn Mailer>>> = RwLock::new(None);

/// Registers how this process sends backup reports (the last call wins).
pub fn set_mailer(mailer: Arc<dyn Mailer>) {
    *MAILER.write().unwrap_or_else(|p| p.into_inner()) = Some(mailer);
}

fn mailer() -> Option<Arc<dyn Mailer>> {
    MAILER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Sends the report of `summary` to `settings.recipients` through the registered
/// mailer. Nothing happens without recipients; without a mailer the report is logged
/// and not sent. Never fails the backup: a mail that cannot be sent is a warning.
/// Returns whether the message was handed over.
pub async fn send(summary: &Summary, settings: &ReportSettings) -> bool {
    if settings.recipients.is_empty() {
        return false;
    }
    let Some(m) = mailer() else {
        tracing::warn!(label = ?summary.label, status = summary.status,
            "backup report not mailed: this process has no mail queue to send it through");
        return false;
    };
    let msg = message(summary, settings, Utc::now());
    match m.send(&settings.recipients, &msg).await {
        Ok(()) => {
            tracing::info!(label = ?summary.label, to = ?settings.recipients,
                "backup report queued");
            true
        }
        Err(e) => {
            tracing::warn!(label = ?summary.label, error = %e, "backup report not mailed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn summary() -> Summary {
        let t = Utc.with_ymd_and_hms(2012, 7, 13, 8, 0, 5).unwrap();
        Summary {
            server: "mail.x.test".into(),
            kind: SessionKind::Incremental,
            label: Some("incr-20120713.080005.000".into()),
            status: "completed".into(),
            started: t,
            ended: t + chrono::Duration::seconds(604),
            redo_range: Some((2, 2)),
            accounts: 500,
            error: None,
        }
    }

    #[test]
    fn the_report_has_the_guides_lines() {
        let settings = ReportSettings {
            recipients: vec!["a@x.test".into(), "b@x.test".into()],
            sender: "backup@x.test".into(),
            subject_prefix: String::new(),
        };
        let m = String::from_utf8(message(&summary(), &settings, Utc::now())).unwrap();
        for line in [
            "From: <backup@x.test>\r\n",
            "To: <a@x.test>, <b@x.test>\r\n",
            "Subject: ZCS Backup Report:SUCCESS\r\n",
            "\r\n\r\nServer: mail.x.test\r\n",
            "Type:    incremental\r\n",
            "Status:  completed\r\n",
            "Started: Fri, 2012/07/13 08:00:05.000 GMT\r\n",
            "Ended:   Fri, 2012/07/13 08:10:09.000 GMT\r\n",
            "Redo log sequence range: 2 .. 2\r\n",
            "Number of accounts: 500\r\n",
        ] {
            assert!(m.contains(line), "{line:?} in {m}");
        }
    }

    #[test]
    fn a_failure_says_why_and_values_cannot_add_headers() {
        let mut s = summary();
        s.error = Some("disk full\r\nBcc: evil@x.test".into());
        s.status = "failed".into();
        let settings = ReportSettings {
            recipients: vec!["a@x.test".into()],
            sender: "b@x.test\r\nBcc: evil@x.test".into(),
            subject_prefix: "Nightly\nX-Evil: 1".into(),
        };
        let m = String::from_utf8(message(&s, &settings, Utc::now())).unwrap();
        assert!(m.contains("Subject: Nightly X-Evil: 1:FAILURE\r\n"), "{m}");
        assert!(m.contains("Error: disk full  Bcc: evil@x.test\r\n"), "{m}");
        assert!(!m.contains("\r\nBcc:") && !m.contains("\nX-Evil"), "{m}");
    }
}
