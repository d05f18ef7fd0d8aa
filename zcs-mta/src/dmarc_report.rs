//! DMARC aggregate reports (RFC 7489 §7.2): each DMARC evaluation of inbound mail whose
//! policy asks for aggregate reports (`rua=`) is appended to a day file, and once the
//! day is over [`send_reports`] turns each day file into one report per policy domain
//! (XML, gzip, in a message built by mail-auth's report builder) and queues it to the
//! domain's `rua` addresses.
//!
//! Day files are `<dir>/<YYYY-MM-DD>.jsonl` (UTC days), one JSON [`Evaluation`] a line;
//! a sent day is renamed `<YYYY-MM-DD>.sent` (kept for a week, then removed).
//!
//! Only `mailto:` destinations are used: RFC 7489 §6.2 makes `mailto:` the one scheme a
//! report sender must support, and the project specification asks for no other; the
//! `https:` delivery some reporters try was never standardised (the RFC leaves "other
//! methods" to future documents), so other URIs are skipped.
//!
//! LIMITATION: the size limit (`!10m`) of a destination is not checked.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use mail_auth::report::{ActionDisposition, PolicyPublished, Record, Report};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::dkim::AuthChecker;
use crate::queue::{Envelope, Queue};

/// One DMARC evaluation, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// When (seconds since the epoch).
    pub at: u64,
    /// The policy the domain published.
    pub policy: PolicyPublished,
    /// The `rua` destinations (`mailto:` URIs as published).
    pub rua: Vec<String>,
    /// The report row: source address, disposition, DKIM/SPF results, identifiers.
    pub record: Record,
}

impl Evaluation {
    /// Sets what we did with the message (RFC 7489 §7.2 `disposition`).
    pub fn with_disposition(mut self, disposition: ActionDisposition) -> Self {
        self.record = self.record.with_action_disposition(disposition);
        self
    }
}

/// A report could not be recorded or sent.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The day directory or a file could not be read or written.
    #[error("dmarc report store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The store of evaluations: a directory of day files.
#[derive(Debug)]
pub struct DmarcLog {
    dir: PathBuf,
    write: Mutex<()>,
}

fn day_of(at: u64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(i64::try_from(at).unwrap_or(i64::MAX), 0)
        .unwrap_or_default()
        .date_naive()
}

impl DmarcLog {
    /// A store in `dir` (created on the first record).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DmarcLog {
            dir: dir.into(),
            write: Mutex::new(()),
        }
    }

    /// The directory of the day files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `eval` to its day's file. Failures are logged, never passed on: a lost
    /// report row must not hold up mail.
    pub fn record(&self, eval: &Evaluation) {
        let path = self.dir.join(format!("{}.jsonl", day_of(eval.at)));
        let Ok(mut line) = serde_json::to_vec(eval) else {
            return;
        };
        line.push(b'\n');
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let result = std::fs::create_dir_all(&self.dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(&line)
        });
        if let Err(e) = result {
            warn!(path = %path.display(), error = %e, "DMARC evaluation not recorded");
        }
    }

    /// The finished days (before `today`) with evaluations not yet reported, oldest
    /// first.
    pub fn pending_days(&self, today: NaiveDate) -> Vec<NaiveDate> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut days: Vec<NaiveDate> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let day = name.strip_suffix(".jsonl")?;
                NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
            })
            .filter(|d| *d < today)
            .collect();
        days.sort();
        days
    }

    /// The evaluations of `day`; unreadable lines are skipped.
    ///
    /// # Errors
    /// The day file cannot be read.
    pub fn read_day(&self, day: NaiveDate) -> Result<Vec<Evaluation>, ReportError> {
        let path = self.dir.join(format!("{day}.jsonl"));
        let text = std::fs::read(&path).map_err(|source| ReportError::Io { path, source })?;
        Ok(text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect())
    }

    /// Marks `day` as reported, and removes reported days older than a week.
    ///
    /// # Errors
    /// The rename fails.
    pub fn mark_sent(&self, day: NaiveDate) -> Result<(), ReportError> {
        let from = self.dir.join(format!("{day}.jsonl"));
        let to = self.dir.join(format!("{day}.sent"));
        std::fs::rename(&from, &to).map_err(|source| ReportError::Io { path: from, source })?;
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let old = name
                    .strip_suffix(".sent")
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .is_some_and(|d| (day - d).num_days() > 7);
                if old {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }
}

/// Who the reports come from.
#[derive(Clone, Debug)]
pub struct ReporterConfig {
    /// `org_name` of the report (our organisation; default: the host name).
    pub org_name: String,
    /// The submitter (our host name), used in the subject and file name.
    pub submitter: String,
    /// The sender address of the reports (envelope and `From:`).
    pub from: String,
}

/// One report ready to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingReport {
    /// The policy domain reported on.
    pub domain: String,
    /// Its `rua` mail addresses.
    pub to: Vec<String>,
    /// The message (RFC 5322, with the gzip XML report attached).
    pub message: Vec<u8>,
}

/// `mailto:a@b.test!10m` -> `a@b.test`; `None` for other schemes.
pub fn mailto_address(uri: &str) -> Option<String> {
    let rest = uri
        .trim()
        .strip_prefix("mailto:")
        .or_else(|| uri.trim().strip_prefix("MAILTO:"))
        .unwrap_or(uri.trim());
    if rest.contains("://") {
        return None;
    }
    let addr = rest.split('!').next().unwrap_or("").trim();
    (addr.contains('@') && !addr.contains(char::is_whitespace)).then(|| addr.to_string())
}

/// Builds the reports of `day` from its evaluations: one per policy domain, identical
/// rows merged with their count added up (RFC 7489 §7.2 `row/count`).
pub fn build_reports(
    day: NaiveDate,
    evals: &[Evaluation],
    cfg: &ReporterConfig,
) -> Vec<OutgoingReport> {
    let begin = day
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    let begin = u64::try_from(begin).unwrap_or(0);
    let end = begin + 86_399;
    let mut domains: Vec<&str> = evals.iter().map(|e| e.policy.domain.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    let mut out = Vec::new();
    for domain in domains {
        let mine: Vec<&Evaluation> = evals.iter().filter(|e| e.policy.domain == domain).collect();
        let Some(last) = mine.last() else { continue };
        let mut rows: Vec<Record> = Vec::new();
        for e in &mine {
            let one = e.record.clone().with_count(1);
            match rows.iter_mut().find(|r| (**r).clone().with_count(1) == one) {
                Some(r) => {
                    let n = r.count().saturating_add(1);
                    *r = r.clone().with_count(n);
                }
                None => rows.push(one),
            }
        }
        let mut to: Vec<String> = last.rua.iter().filter_map(|u| mailto_address(u)).collect();
        to.sort();
        to.dedup();
        if to.is_empty() {
            continue;
        }
        let mut report = Report::new()
            .with_version(1.0)
            .with_org_name(&cfg.org_name)
            .with_email(&cfg.from)
            .with_report_id(format!("{day}.{domain}@{}", cfg.submitter))
            .with_date_range_begin(begin)
            .with_date_range_end(end)
            .with_policy_published(last.policy.clone());
        for r in rows {
            report.add_record(r);
        }
        let mut message = Vec::new();
        let written = report.write_rfc5322(
            &cfg.submitter,
            cfg.from.as_str(),
            to.iter().map(String::as_str),
            &mut message,
        );
        match written {
            Ok(()) => out.push(OutgoingReport {
                domain: domain.to_string(),
                to,
                message,
            }),
            Err(e) => warn!(domain, error = %e, "DMARC report not built"),
        }
    }
    out
}

/// Sends the reports of every finished day in `log` through `queue`, then marks the
/// days sent. Destinations outside the policy domain need the DNS authorisation of
/// RFC 7489 §7.1 (`<domain>._report._dmarc.<destination>`), checked with `checker`;
/// without a checker they are skipped. Returns how many reports were queued. Meant for
/// a nightly job.
///
/// # Errors
/// A day file cannot be read or renamed (the days before it are done).
pub async fn send_reports(
    log: &DmarcLog,
    queue: &Queue,
    checker: Option<&AuthChecker>,
    cfg: &ReporterConfig,
    now: DateTime<Utc>,
) -> Result<usize, ReportError> {
    let mut queued = 0;
    for day in log.pending_days(now.date_naive()) {
        let evals = log.read_day(day)?;
        for report in build_reports(day, &evals, cfg) {
            let to = authorised(&report, checker).await;
            if to.is_empty() {
                warn!(domain = %report.domain, "no authorised DMARC report destination");
                continue;
            }
            let rcpts: Vec<&str> = to.iter().map(String::as_str).collect();
            let envelope = Envelope::new(cfg.from.clone(), &rcpts);
            match queue.enqueue(envelope, &report.message).await {
                Ok(id) => {
                    info!(domain = %report.domain, %day, qid = %id, "DMARC report queued");
                    queued += 1;
                }
                Err(e) => warn!(domain = %report.domain, error = %e, "DMARC report not queued"),
            }
        }
        log.mark_sent(day)?;
    }
    Ok(queued)
}

/// The destinations of `report` that may receive it (RFC 7489 §7.1).
async fn authorised(report: &OutgoingReport, checker: Option<&AuthChecker>) -> Vec<String> {
    let domain = report.domain.to_ascii_lowercase();
    let internal = |a: &String| {
        let d = a
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        d == domain || d.ends_with(&format!(".{domain}"))
    };
    let (inside, outside): (Vec<String>, Vec<String>) =
        report.to.iter().cloned().partition(|a| internal(a));
    let mut ok = inside;
    if let Some(checker) = checker
        && !outside.is_empty()
    {
        ok.extend(checker.authorised_report_addresses(&domain, &outside).await);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(at: u64, domain: &str, ip: &str) -> Evaluation {
        let policy = PolicyPublished {
            domain: domain.into(),
            ..Default::default()
        };
        Evaluation {
            at,
            policy,
            rua: vec![
                format!("mailto:rua@{domain}!10m"),
                "https://x.test/r".into(),
            ],
            record: Record::new()
                .with_source_ip(ip.parse().unwrap())
                .with_header_from(domain)
                .with_action_disposition(ActionDisposition::None),
        }
    }

    #[test]
    fn mailto() {
        assert_eq!(
            mailto_address("mailto:a@b.test!10m").as_deref(),
            Some("a@b.test")
        );
        assert_eq!(mailto_address("a@b.test").as_deref(), Some("a@b.test"));
        assert_eq!(mailto_address("https://b.test/x"), None);
        assert_eq!(mailto_address("mailto:nobody"), None);
    }

    #[test]
    fn record_read_build_and_mark() {
        let tmp = std::env::temp_dir().join(format!("zcs-dmarc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let log = DmarcLog::new(&tmp);
        // 2026-12-03 and 2026-12-04 (UTC).
        let d1 = 1_796_256_000;
        log.record(&eval(d1 + 10, "a.test", "192.0.2.1"));
        log.record(&eval(d1 + 20, "a.test", "192.0.2.1"));
        log.record(&eval(d1 + 30, "a.test", "192.0.2.2"));
        log.record(&eval(d1 + 40, "b.test", "192.0.2.1"));
        log.record(&eval(d1 + 86_400 + 5, "a.test", "192.0.2.1"));
        let today = day_of(d1 + 86_400);
        let days = log.pending_days(today);
        assert_eq!(days, vec![day_of(d1)]);
        let evals = log.read_day(days[0]).unwrap();
        assert_eq!(evals.len(), 4);
        let cfg = ReporterConfig {
            org_name: "mx.test".into(),
            submitter: "mx.test".into(),
            from: "noreply-dmarc@mx.test".into(),
        };
        let reports = build_reports(days[0], &evals, &cfg);
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].domain, "a.test");
        assert_eq!(reports[0].to, vec!["rua@a.test".to_string()]);
        let text = String::from_utf8_lossy(&reports[0].message).to_string();
        assert!(text.contains("Report Domain: a.test"), "{text}");
        assert!(text.contains("application/gzip"), "{text}");
        // The attachment holds the XML: two rows for a.test, one of them counted twice.
        let xml = report_xml(&reports[0].message);
        assert_eq!(xml.matches("<record>").count(), 2, "{xml}");
        assert!(xml.contains("<count>2</count>"), "{xml}");
        assert!(xml.contains("<source_ip>192.0.2.1</source_ip>"), "{xml}");
        log.mark_sent(days[0]).unwrap();
        assert!(log.pending_days(today).is_empty());
        let _ = std::fs::remove_dir_all(&tmp);
    }

    /// The XML inside the gzip attachment of a report message.
    fn report_xml(message: &[u8]) -> String {
        use std::io::Read as _;
        let parsed = mail_parser::MessageParser::default()
            .parse(message)
            .unwrap();
        let gz = parsed
            .attachments()
            .next()
            .map(|a| a.contents().to_vec())
            .unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    }
}
