//! What a bulk import does with its account records: the password policy (one random
//! password per account, or one the admin gives, and the must-change flag), split-domain
//! transport (`zimbraMailTransport`), missing domains (created or skipped), accounts
//! that already exist (skipped); the dry-run preview that writes nothing, and the run
//! that creates the accounts and builds the CSV of addresses and passwords. The CSV is
//! only returned to the caller, never logged or written anywhere.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::Rng;
use zcs_core::{Attrs, FaultCode, ServiceError, ServiceResult};
use zcs_directory::{EntryKey, Provisioning};

use super::source::ImportUser;

/// The length of a generated password when the admin gives none.
pub(crate) const DEFAULT_PASSWORD_LENGTH: usize = 8;
/// The shortest generated password allowed.
pub(crate) const MIN_PASSWORD_LENGTH: usize = 6;
/// The longest generated password allowed.
pub(crate) const MAX_PASSWORD_LENGTH: usize = 64;

/// The characters of generated passwords: letters and digits (no look-alike filtering,
/// so every character is as likely).
const PASSWORD_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How new accounts get their password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PasswordPolicy {
    /// A random password of this many characters per account.
    Generate(usize),
    /// The same password for every account.
    Fixed(String),
    /// The password each record gives; none when it gives none.
    FromSource,
}

impl std::fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordPolicy::Generate(n) => write!(f, "Generate({n})"),
            PasswordPolicy::Fixed(_) => f.write_str("Fixed(..)"),
            PasswordPolicy::FromSource => f.write_str("FromSource"),
        }
    }
}

impl PasswordPolicy {
    /// The policy of the request: `generate` with an optional `length` (default 8, must
    /// be 6-64), else `fixed` when given, else the records' own passwords.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a length outside 6-64, or an empty fixed password.
    pub fn new(
        generate: bool,
        length: Option<i64>,
        fixed: Option<&str>,
    ) -> ServiceResult<PasswordPolicy> {
        if generate {
            let n = length.unwrap_or(DEFAULT_PASSWORD_LENGTH as i64);
            let ok = (MIN_PASSWORD_LENGTH as i64..=MAX_PASSWORD_LENGTH as i64).contains(&n);
            if !ok {
                return Err(ServiceError::invalid_request(format!(
                    "genPasswordLength must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH}, \
                     not {n}"
                )));
            }
            return Ok(PasswordPolicy::Generate(n as usize));
        }
        match fixed {
            Some("") => Err(ServiceError::invalid_request("empty password")),
            Some(p) => Ok(PasswordPolicy::Fixed(p.to_string())),
            None => Ok(PasswordPolicy::FromSource),
        }
    }

    /// The password for one record under this policy.
    pub fn password_for(&self, user: &ImportUser) -> Option<String> {
        match self {
            PasswordPolicy::Generate(n) => Some(random_password(*n)),
            PasswordPolicy::Fixed(p) => Some(p.clone()),
            PasswordPolicy::FromSource => user.password.clone(),
        }
    }
}

/// A random password of `len` letters and digits from the thread's CSPRNG.
pub(crate) fn random_password(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(PASSWORD_CHARS[rng.gen_range(0..PASSWORD_CHARS.len())]))
        .collect()
}

/// Everything a bulk import was asked to do besides which records.
#[derive(Clone, Debug)]
pub(crate) struct ImportOptions {
    pub password: PasswordPolicy,
    /// Sets `zimbraPasswordMustChange` TRUE on every new account.
    pub must_change: bool,
    /// Creates a domain that does not exist; otherwise its accounts are skipped.
    pub create_domains: bool,
    /// The external SMTP server of a split domain.
    pub smtp_host: Option<String>,
    /// Its port (25 when only the host is given).
    pub smtp_port: Option<u16>,
}

impl ImportOptions {
    /// `zimbraMailTransport` of new accounts, `smtp:host:port`, when a host is set.
    pub fn transport(&self) -> Option<String> {
        let host = self.smtp_host.as_deref()?.trim();
        if host.is_empty() {
            return None;
        }
        Some(format!("smtp:{host}:{}", self.smtp_port.unwrap_or(25)))
    }
}

/// The dry-run report: what a run would find, counted before anything is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Preview {
    /// Distinct domains of the records.
    pub domains: BTreeSet<String>,
    /// Of those, the ones this server does not have.
    pub missing_domains: BTreeSet<String>,
    /// Records found.
    pub accounts: usize,
    /// Records whose account already exists here.
    pub existing: usize,
    /// Records a run would skip because their domain is missing and may not be created.
    pub skipped_for_domain: usize,
}

/// Whether `domain` exists here.
async fn domain_exists(prov: &Provisioning, domain: &str) -> ServiceResult<bool> {
    match prov.get_domain(&EntryKey::Name(domain.to_string())).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == FaultCode::NoSuchDomain => Ok(false),
        Err(e) => Err(e),
    }
}

/// Counts what a run over `users` would meet, writing nothing.
///
/// # Errors
/// A directory failure while looking entries up.
pub(crate) async fn preview(
    prov: &Provisioning,
    users: &[ImportUser],
    opts: &ImportOptions,
) -> ServiceResult<Preview> {
    let mut p = Preview {
        accounts: users.len(),
        ..Preview::default()
    };
    let mut known: HashMap<String, bool> = HashMap::new();
    for u in users {
        let d = u.domain().to_string();
        let exists = match known.get(&d) {
            Some(e) => *e,
            None => {
                let e = domain_exists(prov, &d).await?;
                known.insert(d.clone(), e);
                e
            }
        };
        p.domains.insert(d.clone());
        if !exists {
            p.missing_domains.insert(d);
            if !opts.create_domains {
                p.skipped_for_domain += 1;
            }
            continue;
        }
        if prov.find_account(&u.address).await?.is_some() {
            p.existing += 1;
        }
    }
    Ok(p)
}

/// One account a run created, with the password it was given (for the CSV).
#[derive(Clone)]
pub(crate) struct Created {
    pub address: String,
    pub password: Option<String>,
}

/// What a run did.
#[derive(Clone, Default)]
pub(crate) struct RunReport {
    pub created: Vec<Created>,
    /// Records skipped because the account exists.
    pub skipped_existing: usize,
    /// Records skipped because their domain is missing and domain creation is off.
    pub skipped_for_domain: usize,
    /// Domains the run created.
    pub created_domains: BTreeSet<String>,
    /// Records that failed, with the fault (never a password).
    pub failed: Vec<(String, String)>,
}

impl std::fmt::Debug for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunReport")
            .field("created", &self.created.len())
            .field("skipped_existing", &self.skipped_existing)
            .field("skipped_for_domain", &self.skipped_for_domain)
            .field("created_domains", &self.created_domains)
            .field("failed", &self.failed)
            .finish()
    }
}

impl RunReport {
    /// Adds what `other` (one record's outcome) did to this report.
    fn merge(&mut self, other: RunReport) {
        self.created.extend(other.created);
        self.skipped_existing += other.skipped_existing;
        self.skipped_for_domain += other.skipped_for_domain;
        self.created_domains.extend(other.created_domains);
        self.failed.extend(other.failed);
    }

    /// The result file: a header, then one `account,password` line per new account.
    /// Values holding a comma, quote or line break are quoted (RFC 4180 §2).
    pub fn csv(&self) -> String {
        let mut out = String::from("account,password\r\n");
        for c in &self.created {
            out.push_str(&csv_field(&c.address));
            out.push(',');
            out.push_str(&csv_field(c.password.as_deref().unwrap_or("")));
            out.push_str("\r\n");
        }
        out
    }
}

impl RunReport {
    /// The errors file: a header, then one `account,error` line per failed record.
    pub fn errors_csv(&self) -> String {
        let mut out = String::from("account,error\r\n");
        for (account, code) in &self.failed {
            out.push_str(&csv_field(account));
            out.push(',');
            out.push_str(&csv_field(code));
            out.push_str("\r\n");
        }
        out
    }
}

/// One CSV field, quoted when needed (RFC 4180 §2 rules 6-7).
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Creates the accounts of `users` under `opts`; `abort` is checked before each record
/// and stops the run once set. An existing account, or one in a missing domain while
/// domain creation is off, is skipped and counted; a failure is recorded and the run
/// goes on.
///
/// # Errors
/// None of its own: failures are in the report.
#[cfg(test)]
pub(crate) async fn run(
    prov: &Provisioning,
    users: &[ImportUser],
    opts: &ImportOptions,
    abort: &AtomicBool,
) -> RunReport {
    let live = Mutex::new(RunReport::default());
    run_shared(prov, users, opts, abort, &live).await;
    live.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// The run keeping its report in `live`, brought up to date after every record, so
/// another request can show the progress of a run going on in the background.
pub(crate) async fn run_shared(
    prov: &Provisioning,
    users: &[ImportUser],
    opts: &ImportOptions,
    abort: &AtomicBool,
    live: &Mutex<RunReport>,
) {
    let mut known: HashMap<String, bool> = HashMap::new();
    for u in users {
        if abort.load(Ordering::Relaxed) {
            break;
        }
        let mut one = RunReport::default();
        record(prov, u, opts, &mut known, &mut one).await;
        live.lock().unwrap_or_else(|p| p.into_inner()).merge(one);
    }
}

/// Creates the account of one record (see `run_shared`), counting the outcome in `r`;
/// `known` caches which domains exist.
async fn record(
    prov: &Provisioning,
    u: &ImportUser,
    opts: &ImportOptions,
    known: &mut HashMap<String, bool>,
    r: &mut RunReport,
) {
    let transport = opts.transport();
    let d = u.domain().to_string();
    let exists = match known.get(&d) {
        Some(e) => *e,
        None => match domain_exists(prov, &d).await {
            Ok(e) => {
                known.insert(d.clone(), e);
                e
            }
            Err(e) => {
                r.failed.push((u.address.clone(), e.code.to_string()));
                return;
            }
        },
    };
    if !exists {
        if !opts.create_domains {
            r.skipped_for_domain += 1;
            return;
        }
        match prov.create_domain(&d, Attrs::new()).await {
            Ok(_) => {
                r.created_domains.insert(d.clone());
            }
            Err(e) if e.code == FaultCode::DomainExists => {}
            Err(e) => {
                r.failed.push((u.address.clone(), e.code.to_string()));
                return;
            }
        }
        known.insert(d.clone(), true);
    }
    match prov.find_account(&u.address).await {
        Ok(Some(_)) => {
            r.skipped_existing += 1;
            return;
        }
        Ok(None) => {}
        Err(e) => {
            r.failed.push((u.address.clone(), e.code.to_string()));
            return;
        }
    }
    let mut attrs = u.attrs.clone();
    if opts.must_change || u.must_change == Some(true) {
        attrs.set_one("zimbraPasswordMustChange", "TRUE");
    }
    if let Some(t) = &transport {
        attrs.set_one("zimbraMailTransport", t.clone());
    }
    let password = opts.password.password_for(u);
    match prov
        .create_account(&u.address, password.as_deref(), attrs)
        .await
    {
        Ok(_) => r.created.push(Created {
            address: u.address.clone(),
            password,
        }),
        Err(e) if e.code == FaultCode::AccountExists => r.skipped_existing += 1,
        Err(e) => {
            tracing::info!(account = %u.address, code = %e.code, "bulk import: create failed");
            r.failed.push((u.address.clone(), e.code.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(a: &str) -> ImportUser {
        ImportUser {
            address: a.into(),
            ..ImportUser::default()
        }
    }

    #[test]
    fn generated_lengths_are_six_to_sixty_four_default_eight() {
        for bad in [0, 5, 65, -1, 1000] {
            let e = PasswordPolicy::new(true, Some(bad), None).expect_err("rejected");
            assert_eq!(e.code, FaultCode::InvalidRequest, "{bad}");
        }
        for good in [6, 8, 64] {
            let p = PasswordPolicy::new(true, Some(good), None).expect("accepted");
            let pw = p.password_for(&user("a@b.test")).expect("password");
            assert_eq!(pw.chars().count(), good as usize);
        }
        let p = PasswordPolicy::new(true, None, Some("ignored")).expect("default");
        assert_eq!(p, PasswordPolicy::Generate(DEFAULT_PASSWORD_LENGTH));
        let pw = p.password_for(&user("a@b.test")).expect("password");
        assert_eq!(pw.len(), 8);
        assert!(pw.bytes().all(|b| PASSWORD_CHARS.contains(&b)));
    }

    #[test]
    fn generated_passwords_differ_per_account() {
        let p = PasswordPolicy::Generate(16);
        let a = p.password_for(&user("a@b.test"));
        let b = p.password_for(&user("c@b.test"));
        assert_ne!(a, b);
    }

    #[test]
    fn fixed_and_source_passwords() {
        let p = PasswordPolicy::new(false, None, Some("s3cret")).expect("fixed");
        assert_eq!(p.password_for(&user("a@b.test")).as_deref(), Some("s3cret"));
        assert!(format!("{p:?}").find("s3cret").is_none(), "never shown");
        assert!(PasswordPolicy::new(false, None, Some("")).is_err());
        let p = PasswordPolicy::new(false, Some(3), None).expect("length ignored");
        let mut u = user("a@b.test");
        assert_eq!(p.password_for(&u), None);
        u.password = Some("own".into());
        assert_eq!(p.password_for(&u).as_deref(), Some("own"));
    }

    #[tokio::test]
    async fn an_aborted_run_creates_nothing_more() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = zcs_directory::SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
            .await
            .expect("directory");
        let prov = Provisioning::new(
            std::sync::Arc::new(dir),
            zcs_directory::AuthRegistry::with_builtins(),
        );
        prov.bootstrap().await.expect("bootstrap");
        prov.create_domain("d.test", Attrs::new())
            .await
            .expect("domain");
        let users = [user("a@d.test"), user("b@d.test")];
        let opts = ImportOptions {
            password: PasswordPolicy::Generate(8),
            must_change: false,
            create_domains: false,
            smtp_host: None,
            smtp_port: None,
        };
        let r = run(&prov, &users, &opts, &AtomicBool::new(true)).await;
        assert!(r.created.is_empty());
        assert!(prov.find_account("a@d.test").await.expect("find").is_none());
        let r = run(&prov, &users, &opts, &AtomicBool::new(false)).await;
        assert_eq!(r.created.len(), 2);
        let p = preview(&prov, &users, &opts).await.expect("preview");
        assert_eq!((p.accounts, p.existing, p.domains.len()), (2, 2, 1));
    }

    #[test]
    fn transport_is_smtp_host_port() {
        let mut o = ImportOptions {
            password: PasswordPolicy::FromSource,
            must_change: false,
            create_domains: false,
            smtp_host: Some("smtp.example.com".into()),
            smtp_port: Some(2525),
        };
        assert_eq!(o.transport().as_deref(), Some("smtp:smtp.example.com:2525"));
        o.smtp_port = None;
        assert_eq!(o.transport().as_deref(), Some("smtp:smtp.example.com:25"));
        o.smtp_host = Some(" ".into());
        assert_eq!(o.transport(), None);
    }

    #[test]
    fn csv_lists_accounts_and_quotes_when_needed() {
        let r = RunReport {
            created: vec![
                Created {
                    address: "a@b.test".into(),
                    password: Some("x,y\"z".into()),
                },
                Created {
                    address: "c@b.test".into(),
                    password: None,
                },
            ],
            ..RunReport::default()
        };
        assert_eq!(
            r.csv(),
            "account,password\r\na@b.test,\"x,y\"\"z\"\r\nc@b.test,\r\n"
        );
        assert!(!format!("{r:?}").contains("x,y"));
    }
}
