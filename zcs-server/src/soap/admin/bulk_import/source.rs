//! Where the account records of a bulk import come from: the ZCSImport XML file an
//! admin uploads (the Account Migration Wizard's "XML file" source), or a search of an
//! LDAP directory (a generic one, or another ZCS server's). Every source gives the same
//! [`ImportUser`] records; nothing here touches this server's directory.

use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use zcs_core::{Attrs, EntryKind, ServiceError};

use super::super::super::element::Element;
use super::super::super::xml;

/// The filter of a generic LDAP source when the admin gives none (it pulls people with
/// their names, mail, postal and phone data).
pub(crate) const GENERIC_FILTER: &str = "(objectClass=organizationalPerson)";
/// The filter of a ZCS source when the admin gives none.
pub(crate) const ZCS_FILTER: &str = "(objectClass=zimbraAccount)";
/// The bind DN the wizard offers for a ZCS source.
pub(crate) const ZCS_BIND_DN: &str = "uid=zimbra,cn=admins,cn=zimbra";

/// The largest import file read (bytes); a bigger upload is refused before parsing.
const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// The most users one import file may name.
const MAX_USERS: usize = 100_000;
/// The longest address accepted (RFC 5321 §4.5.3.1.3 path limit).
const MAX_ADDRESS: usize = 254;
/// How long an LDAP source may take to connect, bind or answer.
const LDAP_TIMEOUT: Duration = Duration::from_secs(30);

/// The per-user fields of the file copied to the new account as they are.
const USER_ATTRS: &[&str] = &["sn", "givenName", "displayName"];

/// The attributes of an LDAP entry carried over to the new account (when this server's
/// attribute registry knows them for accounts): names, phone and postal data.
const LDAP_ATTRS: &[&str] = &[
    "sn",
    "givenName",
    "initials",
    "displayName",
    "telephoneNumber",
    "mobile",
    "street",
    "l",
    "st",
    "postalCode",
    "co",
    "company",
    "title",
];

/// One account to provision.
#[derive(Clone, Default)]
pub(crate) struct ImportUser {
    /// The new account's address (`RemoteEmailAddress`, or the LDAP entry's mail),
    /// lower-cased.
    pub address: String,
    /// Attributes copied to the new account (`sn`, `givenName`, ...).
    pub attrs: Attrs,
    /// The password the record gives (`<password>`), if any.
    pub password: Option<String>,
    /// `<zimbraPasswordMustChange>` of the record, if given.
    pub must_change: Option<bool>,
    /// `<LocalEmailAddress>`: the account here whose mail is imported, when it is not
    /// the remote address.
    pub local_address: Option<String>,
    /// `<RemoteIMAPLogin>`: the login on the source server (mail import).
    pub imap_login: Option<String>,
    /// `<remoteIMAPPassword>`: its password (never logged).
    pub imap_password: Option<String>,
}

impl std::fmt::Debug for ImportUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportUser")
            .field("address", &self.address)
            .field("must_change", &self.must_change)
            .field("local_address", &self.local_address)
            .field("imap_login", &self.imap_login)
            .finish_non_exhaustive()
    }
}

impl ImportUser {
    /// The domain part of the address.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// The mail-import globals of a `<ZCSImport>` file, each as given (checked by the
/// request that uses them).
#[derive(Clone, Default)]
pub(crate) struct ImapGlobals {
    /// `<IMAPHost>`.
    pub host: Option<String>,
    /// `<IMAPPort>`.
    pub port: Option<String>,
    /// `<ConnectionType>`: `cleartext`, `ssl` or `tls`.
    pub connection_type: Option<String>,
    /// `<UseAdminLogin>`: `1` logs in as the admin below on each user's behalf.
    pub use_admin_login: Option<String>,
    /// `<IMAPAdminLogin>`.
    pub admin_login: Option<String>,
    /// `<IMAPAdminPassword>` (never logged).
    pub admin_password: Option<String>,
}

impl std::fmt::Debug for ImapGlobals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapGlobals")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("connection_type", &self.connection_type)
            .field("use_admin_login", &self.use_admin_login)
            .field("admin_login", &self.admin_login)
            .finish_non_exhaustive()
    }
}

/// A parsed `<ZCSImport>` file.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportFile {
    /// `<SMTPHost>`: the external SMTP server of a split domain.
    pub smtp_host: Option<String>,
    /// `<SMTPPort>`.
    pub smtp_port: Option<u16>,
    /// `<IMAPHost>` and the other mail-import globals.
    pub imap: ImapGlobals,
    /// `<ImportUsers><User>` records, in file order.
    pub users: Vec<ImportUser>,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SourceError {
    #[error("the import file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("the import file is not UTF-8")]
    NotUtf8,
    #[error("the import file is not well-formed XML: {0}")]
    Xml(String),
    #[error("the import file's root element is <{0}>, not <ZCSImport>")]
    Root(String),
    #[error("the import file names more than {MAX_USERS} users")]
    TooManyUsers,
    #[error("User #{0} has no RemoteEmailAddress")]
    NoAddress(usize),
    #[error("User #{index} has an invalid RemoteEmailAddress: {address}")]
    BadAddress { index: usize, address: String },
    #[error("User #{index} repeats the address {address}")]
    Duplicate { index: usize, address: String },
    #[error("invalid SMTPPort: {0}")]
    BadPort(String),
    #[error("User #{index} has an invalid zimbraPasswordMustChange: {value}")]
    BadBool { index: usize, value: String },
    #[error("LDAP source: {0}")]
    Ldap(String),
}

impl From<SourceError> for ServiceError {
    fn from(e: SourceError) -> ServiceError {
        match e {
            SourceError::Ldap(_) => ServiceError::failure(e.to_string()),
            _ => ServiceError::invalid_request(e.to_string()),
        }
    }
}

/// The trimmed text of child `name`, `None` when absent or blank.
fn text_of(el: &Element, name: &str) -> Option<String> {
    el.child(name)
        .map(|c| c.text().trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The trimmed text of the first child named `name` in any case (the guide's examples
/// spell `remoteIMAPPassword` and `RemoteIMAPLogin` differently), `None` when absent
/// or blank.
fn text_ci(el: &Element, name: &str) -> Option<String> {
    el.children
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| c.text().trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Checks an address's shape (one `@`, a local part, a dotted-or-not domain, no
/// space or control characters) and lower-cases it. The directory validates it again
/// when the account is created.
pub(crate) fn check_address(raw: &str) -> Option<String> {
    let a = raw.trim();
    let (local, domain) = a.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && a.len() <= MAX_ADDRESS
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c))
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    ok.then(|| a.to_lowercase())
}

/// A `TRUE`/`FALSE` value of the file (also `1`/`0`, any case).
fn file_bool(v: &str) -> Option<bool> {
    match v.trim() {
        t if t == "1" || t.eq_ignore_ascii_case("true") => Some(true),
        t if t == "0" || t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Parses a ZCSImport file: `<ZCSImport>` with optional `<SMTPHost>`, `<SMTPPort>`
/// and the mail-import globals (`<IMAPHost>`, `<IMAPPort>`, `<ConnectionType>`,
/// `<UseAdminLogin>`, `<IMAPAdminLogin>`, `<IMAPAdminPassword>`), and `<ImportUsers>`
/// holding `<User>` records of `<sn>`, `<givenName>`, `<displayName>`,
/// `<RemoteEmailAddress>`, `<LocalEmailAddress>`, `<password>`,
/// `<zimbraPasswordMustChange>`, `<RemoteIMAPLogin>` and `<remoteIMAPPassword>` (the
/// mail-import names in any case). Unknown elements are ignored.
///
/// # Errors
/// A [`SourceError`] naming the first problem: not UTF-8, not XML (document type
/// declarations are refused), another root, a user without or with a malformed or
/// repeated address, a bad port or boolean. Never panics.
pub(crate) fn parse_file(data: &[u8]) -> Result<ImportFile, SourceError> {
    if data.len() > MAX_FILE_BYTES {
        return Err(SourceError::TooLarge);
    }
    let text = std::str::from_utf8(data).map_err(|_| SourceError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = xml::parse(text).map_err(|e| SourceError::Xml(e.to_string()))?;
    if root.name != "ZCSImport" {
        return Err(SourceError::Root(root.name));
    }
    let smtp_host = text_of(&root, "SMTPHost");
    let smtp_port = match text_of(&root, "SMTPPort") {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(SourceError::BadPort(p)),
        },
    };
    let mut users: Vec<ImportUser> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let records = root
        .children_named("ImportUsers")
        .flat_map(|u| u.children_named("User"));
    for (i, rec) in records.enumerate() {
        let index = i + 1;
        if index > MAX_USERS {
            return Err(SourceError::TooManyUsers);
        }
        let raw = text_ci(rec, "RemoteEmailAddress").ok_or(SourceError::NoAddress(index))?;
        let address = check_address(&raw).ok_or_else(|| SourceError::BadAddress {
            index,
            address: raw.clone(),
        })?;
        if !seen.insert(address.clone()) {
            return Err(SourceError::Duplicate { index, address });
        }
        let mut attrs = Attrs::new();
        for name in USER_ATTRS {
            if let Some(v) = text_of(rec, name) {
                attrs.set_one(name, v);
            }
        }
        let must_change = match text_of(rec, "zimbraPasswordMustChange") {
            None => None,
            Some(v) => Some(file_bool(&v).ok_or(SourceError::BadBool { index, value: v })?),
        };
        // A password is taken as given (spaces included), only an empty one is absent.
        let password = rec
            .child("password")
            .map(|p| p.text().to_string())
            .filter(|p| !p.is_empty());
        let local_address = match text_ci(rec, "LocalEmailAddress") {
            None => None,
            Some(raw) => Some(check_address(&raw).ok_or(SourceError::BadAddress {
                index,
                address: raw,
            })?),
        };
        // The IMAP password is taken as given (spaces included), only an empty one is
        // absent.
        let imap_password = rec
            .children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("remoteIMAPPassword"))
            .map(|p| p.text().to_string())
            .filter(|p| !p.is_empty());
        users.push(ImportUser {
            address,
            attrs,
            password,
            must_change,
            local_address,
            imap_login: text_ci(rec, "RemoteIMAPLogin"),
            imap_password,
        });
    }
    let imap = ImapGlobals {
        host: text_ci(&root, "IMAPHost"),
        port: text_ci(&root, "IMAPPort"),
        connection_type: text_ci(&root, "ConnectionType"),
        use_admin_login: text_ci(&root, "UseAdminLogin"),
        admin_login: text_ci(&root, "IMAPAdminLogin"),
        admin_password: root
            .children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("IMAPAdminPassword"))
            .map(|p| p.text().to_string())
            .filter(|p| !p.is_empty()),
    };
    Ok(ImportFile {
        smtp_host,
        smtp_port,
        imap,
        users,
    })
}

/// Which kind of directory an LDAP source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LdapKind {
    /// A generic directory (people are `organizationalPerson`, the address is `mail`).
    Generic,
    /// Another ZCS server's directory (`zimbraAccount`, `zimbraMailDeliveryAddress`).
    Zimbra,
}

/// How to read an LDAP source.
#[derive(Clone)]
pub(crate) struct LdapSource {
    pub kind: LdapKind,
    /// `ldap://host[:port]` or `ldaps://...`.
    pub url: String,
    /// The DN to bind as; `None` (or empty) binds anonymously.
    pub bind_dn: Option<String>,
    /// The bind password (never logged).
    pub bind_password: String,
    /// The search filter; `None` is the kind's default.
    pub filter: Option<String>,
    /// The search base (`""` is the server's root).
    pub search_base: String,
    /// The most records to read; 0 is unlimited.
    pub max_results: usize,
}

impl std::fmt::Debug for LdapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSource")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("filter", &self.filter)
            .field("search_base", &self.search_base)
            .field("max_results", &self.max_results)
            .finish_non_exhaustive()
    }
}

impl LdapSource {
    /// The filter sent: the admin's, else the kind's default.
    pub fn filter(&self) -> &str {
        match (&self.filter, self.kind) {
            (Some(f), _) if !f.trim().is_empty() => f.trim(),
            (_, LdapKind::Generic) => GENERIC_FILTER,
            (_, LdapKind::Zimbra) => ZCS_FILTER,
        }
    }
}

/// The account record of one LDAP entry, `None` when it has no usable address.
pub(crate) fn user_of_entry(kind: LdapKind, e: &SearchEntry) -> Option<ImportUser> {
    let first = |n: &str| {
        e.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .and_then(|(_, v)| v.first())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let address = match kind {
        LdapKind::Zimbra => first("zimbraMailDeliveryAddress").or_else(|| first("mail")),
        LdapKind::Generic => first("mail"),
    }
    .and_then(|a| check_address(&a))?;
    let mut attrs = Attrs::new();
    for name in LDAP_ATTRS {
        let known = zcs_core::attrs::lookup(name).is_some_and(|d| d.applies_to(EntryKind::Account));
        if let (true, Some(v)) = (known, first(name)) {
            attrs.set_one(name, v);
        }
    }
    Some(ImportUser {
        address,
        attrs,
        ..ImportUser::default()
    })
}

/// Reads the account records of an LDAP source: a subtree search of the base with the
/// filter, after a simple bind when a DN is given. Entries without an address are
/// dropped, repeated addresses kept once; at most `max_results` records when not 0.
///
/// # Errors
/// [`SourceError::Ldap`] when the server cannot be reached, refuses the bind or the
/// search (the bind password is never part of the message).
pub(crate) async fn read_ldap(src: &LdapSource) -> Result<Vec<ImportUser>, SourceError> {
    let fail = |step: &str, e: ldap3::LdapError| SourceError::Ldap(format!("{step}: {e}"));
    let settings = LdapConnSettings::new().set_conn_timeout(LDAP_TIMEOUT);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &src.url)
        .await
        .map_err(|e| fail("connect", e))?;
    ldap3::drive!(conn);
    if let Some(dn) = src.bind_dn.as_deref().filter(|d| !d.trim().is_empty()) {
        ldap.with_timeout(LDAP_TIMEOUT);
        ldap.simple_bind(dn, &src.bind_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| fail("bind", e))?;
    }
    let mut wanted: Vec<&str> = LDAP_ATTRS.to_vec();
    wanted.extend(["mail", "zimbraMailDeliveryAddress"]);
    if src.max_results > 0 {
        ldap.with_search_options(
            ldap3::SearchOptions::new()
                .sizelimit(i32::try_from(src.max_results).unwrap_or(i32::MAX)),
        );
    }
    ldap.with_timeout(LDAP_TIMEOUT);
    let res = ldap
        .search(&src.search_base, Scope::Subtree, src.filter(), wanted)
        .await
        .map_err(|e| fail("search", e))?;
    // RFC 4511 §4.5.2: sizeLimitExceeded (4) still returns the entries up to the limit.
    if res.1.rc != 0 && !(res.1.rc == 4 && src.max_results > 0) {
        return Err(SourceError::Ldap(format!(
            "search: result code {} {}",
            res.1.rc, res.1.text
        )));
    }
    let _ = ldap.unbind().await;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for raw in res.0 {
        let entry = SearchEntry::construct(raw);
        if let Some(u) = user_of_entry(src.kind, &entry)
            && seen.insert(u.address.clone())
        {
            out.push(u);
        }
        if src.max_results > 0 && out.len() >= src.max_results {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
