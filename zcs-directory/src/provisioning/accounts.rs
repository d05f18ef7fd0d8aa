//! Accounts and their aliases: creation with the attributes Zimbra gives a new account,
//! lookup by name, id or alias, modification with validation, rename, delete, passwords
//! and address resolution for the MTA.

use zcs_core::{
    AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId,
};

use super::addresses::{alias_add_edits, alias_remove_edits, renamed_addresses};
use super::domain_rules::{check_entry_writable, is_system_account};
use super::{Provisioning, default_attr, edit_names};
use crate::directory::{A_MAIL_ALIAS, EntryKey};
use crate::names::{normalize_address, split_address};
use crate::password;
use crate::validate::{check_attrs, check_edits, generalized_time_now};

/// `zimbraAccountStatus` values that stop delivery and also disable `zimbraMailStatus`.
const MAIL_DISABLED_STATUSES: &[&str] = &["closed", "pending"];

/// Whether `e` is an account in the wide sense Zimbra uses (calendar resources are
/// accounts too).
fn is_account(e: &Entry) -> bool {
    matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource)
}

/// Refuses a `userPassword` value that is not an already-hashed password: clear text
/// goes through [`Provisioning::set_password`] so it is hashed and checked.
fn check_user_password_values(values: &[String]) -> ServiceResult<()> {
    if values
        .iter()
        .any(|v| !v.is_empty() && !password::is_supported(v))
    {
        return Err(ServiceError::invalid_request(
            "userPassword takes a {SSHA512}-style hash; use setPassword for a clear-text password",
        ));
    }
    Ok(())
}

impl Provisioning {
    /// The mail host a new account gets from its COS's `zimbraMailHostPool` (server
    /// ids; spec 02 §1.13): one of the pool's servers that exist, chosen at random as
    /// Zimbra does, so new accounts spread over the pool. `None` for an empty pool.
    async fn pool_mail_host(
        &self,
        addr: &str,
        attrs: &Attrs,
        domain: &Entry,
    ) -> ServiceResult<Option<String>> {
        let draft = Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: addr.to_string(),
            attrs: attrs.clone(),
        };
        let Some(cos) = self.cos_for(&draft, Some(domain)).await? else {
            return Ok(None);
        };
        let mut hosts = Vec::new();
        for id in cos.attrs.get_all("zimbraMailHostPool") {
            match self.get_server(&EntryKey::parse(id)).await {
                Ok(server) => hosts.push(server.name),
                Err(e) if e.code == FaultCode::NoSuchServer => {
                    tracing::warn!(cos = %cos.name, server = %id,
                        "zimbraMailHostPool names no server; skipped");
                }
                Err(e) => return Err(e),
            }
        }
        if hosts.is_empty() {
            return Ok(None);
        }
        let pick = rand::Rng::gen_range(&mut rand::thread_rng(), 0..hosts.len());
        Ok(Some(hosts.swap_remove(pick)))
    }

    /// Creates an account (`zmprov ca`).
    ///
    /// The name is normalised (lower-cased); the domain must exist. The account gets
    /// `zimbraId`, `mail`, `uid` (local part), `cn` (the given `cn`, else `displayName`,
    /// else the local part), `sn` (the local part unless given),
    /// `zimbraMailDeliveryAddress`, `zimbraAccountStatus active` and `zimbraMailStatus
    /// enabled` unless given, `zimbraCreateTimestamp`, `zimbraMailHost` (given, else
    /// one of its COS's `zimbraMailHostPool`, else the local server) and `userPassword`
    /// hashed from `password` (`None` or empty: no local password, for external
    /// authentication). A `zimbraId` among `attrs` is used as the account's id instead of
    /// a fresh one.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a malformed address; `account.NO_SUCH_DOMAIN`;
    /// `account.ACCOUNT_EXISTS` when an account, alias or list already has the address
    /// (or one of the given aliases); `account.NO_SUCH_COS` for a `zimbraCOSId` naming no
    /// COS; `account.NO_SUCH_SERVER` for a `zimbraMailHost` naming no server;
    /// `account.INVALID_PASSWORD` when the password breaks the COS policy; invalid
    /// attribute faults.
    pub async fn create_account(
        &self,
        name: &str,
        password: Option<&str>,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        let classes = vec![
            "inetOrgPerson".into(),
            "zimbraAccount".into(),
            "amavisAccount".into(),
        ];
        self.create_account_entry(EntryKind::Account, name, password, attrs, classes)
            .await
    }

    /// The creation steps accounts and calendar resources share.
    pub(super) async fn create_account_entry(
        &self,
        kind: EntryKind,
        name: &str,
        password: Option<&str>,
        attrs: Attrs,
        classes: Vec<String>,
    ) -> ServiceResult<Entry> {
        let addr = normalize_address(name)?;
        let (local, domain) = split_address(&addr).expect("normalised address has an @");
        let (local, domain) = (local.to_string(), domain.to_string());
        let dom = self.get_domain(&EntryKey::Name(domain.clone())).await?;
        check_entry_writable(&dom)?;

        check_user_password_values(attrs.get_all("userPassword"))?;
        let mut attrs = check_attrs(kind, &attrs)?;
        if let Some(cos) = attrs.get("zimbraCOSId") {
            self.require_cos_id(cos).await?;
        }
        // Calendar resources and system accounts are not counted (spec 02 §1.3.6).
        // The place stays reserved until the entry is written (see
        // `lock_account_places`): two creations racing for the last place are
        // counted one after the other.
        let _place = if kind == EntryKind::Account && !is_system_account(&attrs) {
            let guard = self.lock_account_places(&dom).await;
            self.check_account_limits(&dom, attrs.get("zimbraCOSId"), None)
                .await?;
            Some(guard)
        } else {
            None
        };
        // A zimbraId given at creation is kept (restore, migration), as in Zimbra.
        let id = match attrs.get("zimbraId") {
            Some(given) => given.parse::<ZimbraId>().map_err(|_| {
                ServiceError::new(FaultCode::InvalidAttrValue, "zimbraId must be a UUID")
            })?,
            None => ZimbraId::new(),
        };
        if let Some(host) = attrs.get("zimbraMailHost") {
            self.get_server(&EntryKey::Name(host.to_string())).await?;
        }
        let aliases = attrs.get_all(A_MAIL_ALIAS).to_vec();
        let mut normalised = Vec::with_capacity(aliases.len());
        for alias in &aliases {
            normalised.push(self.check_new_alias(alias).await?);
        }
        // An alias is an address of the account in `mail` too, as Zimbra keeps it.
        let mut mail = vec![addr.clone()];
        mail.extend(normalised.iter().filter(|a| **a != addr).cloned());
        attrs.set(A_MAIL_ALIAS, normalised);

        attrs.set("objectClass", classes);
        attrs.set("mail", mail);
        attrs.set_one("uid", local.clone());
        attrs.set_one("zimbraMailDeliveryAddress", addr.clone());
        if !attrs.contains("cn") {
            let cn = attrs.get("displayName").unwrap_or(&local).to_string();
            attrs.set_one("cn", cn);
        }
        default_attr(&mut attrs, "sn", local.clone());
        default_attr(&mut attrs, "zimbraAccountStatus", "active");
        default_attr(&mut attrs, "zimbraMailStatus", "enabled");
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        if !attrs.contains("zimbraMailHost")
            && let Some(host) = self.pool_mail_host(&addr, &attrs, &dom).await?
        {
            attrs.set_one("zimbraMailHost", host);
        }
        if let Some(server) = &self.local_server {
            default_attr(&mut attrs, "zimbraMailHost", server.clone());
        }

        let draft = Entry {
            kind,
            id,
            name: addr.clone(),
            attrs: attrs.clone(),
        };
        self.check_signature_attrs(&draft, &attrs).await?;
        if let Some(pw) = password.filter(|p| !p.is_empty()) {
            self.check_password_policy(&draft, pw).await?;
            attrs.set_one("userPassword", password::hash(pw));
            attrs.set_one("zimbraPasswordModifiedTime", generalized_time_now());
        }

        let e = self
            .dir
            .create_entry_with_id(kind, id, &addr, attrs)
            .await?;
        tracing::info!(account = %addr, id = %e.id, kind = %kind, "account created");
        Ok(e)
    }

    /// The account (or calendar resource) whose name, `zimbraId` or alias is `key`,
    /// compared case-insensitively. A bare name without `@` is completed with the
    /// global config's `zimbraDefaultDomainName` (`zmprov ga admin`).
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`.
    pub async fn get_account(&self, key: &str) -> ServiceResult<Entry> {
        self.find_account(key)
            .await?
            .ok_or_else(|| ServiceError::no_such_account(key.trim()))
    }

    /// [`Provisioning::get_account`] returning `None` instead of the fault.
    pub async fn find_account(&self, key: &str) -> ServiceResult<Option<Entry>> {
        let key = key.trim();
        if let Ok(id) = key.parse::<ZimbraId>() {
            for kind in [EntryKind::Account, EntryKind::CalendarResource] {
                if let Some(e) = self.dir.get_entry(kind, &EntryKey::Id(id)).await? {
                    return Ok(Some(e));
                }
            }
            return Ok(None);
        }
        let full = if key.contains('@') {
            key.to_string()
        } else {
            let global = self.global_config().await?;
            match global.attrs.get("zimbraDefaultDomainName") {
                Some(d) => format!("{key}@{d}"),
                None => return Ok(None),
            }
        };
        let Ok(addr) = normalize_address(&full) else {
            return Ok(None);
        };
        Ok(self.dir.find_by_address(&addr).await?.filter(is_account))
    }

    /// Validates and applies `edits` to an account (`zmprov ma`): names and values are
    /// checked against the registry, immutable attributes (`mail`, `uid`,
    /// `zimbraMailAlias`, ...) are refused (aliases change through
    /// [`Provisioning::add_account_alias`], names through
    /// [`Provisioning::rename_account`]), and a change of `zimbraAccountStatus` to
    /// `closed` or `pending` sets `zimbraMailStatus disabled` (any other status sets
    /// `enabled`) unless the same edits set it.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `account.INVALID_ATTR_NAME` /
    /// `account.INVALID_ATTR_VALUE`; `service.INVALID_REQUEST` for an immutable
    /// attribute or a clear-text `userPassword`; `account.NO_SUCH_COS` for a
    /// `zimbraCOSId` naming no COS.
    pub async fn modify_account(&self, key: &str, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let acct = self.get_account(key).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        let mut edits = check_edits(acct.kind, &acct.attrs, edits)?;
        self.check_signature_edits(&acct, &edits).await?;

        // Held from a COS limit check to the write, as at creation.
        let mut _place = None;
        for edit in &edits {
            match edit {
                AttrEdit::Replace(n, values) if n.eq_ignore_ascii_case("userPassword") => {
                    check_user_password_values(values)?;
                }
                AttrEdit::Add(n, v) if n.eq_ignore_ascii_case("userPassword") => {
                    check_user_password_values(std::slice::from_ref(v))?;
                }
                AttrEdit::Replace(n, values) if n.eq_ignore_ascii_case("zimbraCOSId") => {
                    for v in values.iter().filter(|v| !v.is_empty()) {
                        self.require_cos_id(v).await?;
                    }
                    // zimbraDomainCOSMaxAccounts also holds when an account changes COS.
                    if acct.kind == EntryKind::Account && !is_system_account(&acct.attrs) {
                        let cos = values.iter().find(|v| !v.is_empty()).map(String::as_str);
                        let domain = acct.domain().unwrap_or_default().to_string();
                        let dom = self.get_domain(&EntryKey::Name(domain)).await?;
                        if _place.is_none() {
                            _place = Some(self.lock_account_places(&dom).await);
                        }
                        self.check_account_limits(&dom, cos, Some(&acct)).await?;
                    }
                }
                _ => {}
            }
        }

        let status = edits.iter().find_map(|e| match e {
            AttrEdit::Replace(n, v) if n.eq_ignore_ascii_case("zimbraAccountStatus") => {
                v.first().cloned()
            }
            _ => None,
        });
        let sets_mail_status = edits
            .iter()
            .any(|e| e.name().eq_ignore_ascii_case("zimbraMailStatus"));
        // Setting an account active (an administrator unlocking it) forgets its lockout
        // state, as in Zimbra.
        if status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("active"))
        {
            for edit in super::lockout::clear_edits(&acct) {
                if !edits
                    .iter()
                    .any(|e| e.name().eq_ignore_ascii_case(edit.name()))
                {
                    edits.push(edit);
                }
            }
        }
        if let Some(status) = status.clone().filter(|_| !sets_mail_status) {
            let mail = if MAIL_DISABLED_STATUSES.contains(&status.as_str()) {
                "disabled"
            } else {
                "enabled"
            };
            edits.push(AttrEdit::Replace(
                "zimbraMailStatus".into(),
                vec![mail.into()],
            ));
        }

        let out = self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        // Closing an account takes its addresses out of every static list (Zimbra);
        // pending keeps them.
        if status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("closed"))
        {
            self.remove_from_all_lists(&super::lists::addresses_of(&acct))
                .await?;
        }
        tracing::info!(account = %acct.name, attrs = ?edit_names(&edits), "account modified");
        Ok(out)
    }

    /// Deletes the account's directory entry (`zmprov da`) and returns it, so the caller
    /// can delete the mailbox its id names. Its addresses and aliases become free.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`.
    pub async fn delete_account(&self, key: &str) -> ServiceResult<Entry> {
        let acct = self.get_account(key).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        // Its identities, signatures and data sources go first (an LDAP entry with
        // children cannot be deleted), and its addresses leave the lists that held them.
        self.delete_children(&acct).await?;
        self.dir.delete_entry(acct.kind, acct.id).await?;
        self.remove_from_all_lists(&super::lists::addresses_of(&acct))
            .await?;
        tracing::info!(account = %acct.name, id = %acct.id, "account deleted");
        Ok(acct)
    }

    /// Renames the account (`zmprov ra`), keeping its id: `mail`,
    /// `zimbraMailDeliveryAddress` and `uid` follow the new name, and when the domain
    /// changes, aliases in the old domain move to the new one.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` for a malformed name;
    /// `account.NO_SUCH_DOMAIN`; `account.ACCOUNT_EXISTS` when the new name (or a moved
    /// alias) is taken.
    pub async fn rename_account(&self, key: &str, new_name: &str) -> ServiceResult<Entry> {
        let acct = self.get_account(key).await?;
        let new_addr = normalize_address(new_name)?;
        let (new_local, new_domain) =
            split_address(&new_addr).expect("normalised address has an @");
        let dom = self
            .get_domain(&EntryKey::Name(new_domain.to_string()))
            .await?;
        if acct.name.eq_ignore_ascii_case(&new_addr) {
            return Ok(acct);
        }
        self.check_addresses_writable(&[&acct.name, &new_addr])
            .await?;
        // A GAL sync account is named in its domain's zimbraGalAccountId and in the
        // data sources of other servers' syncs; renaming it would break them (spec 02
        // §6 idea 24): delete and recreate it instead.
        if acct.kind == EntryKind::Account && self.gal_sync_domain(&acct).await.is_ok() {
            return Err(ServiceError::invalid_request(format!(
                "{} is a GAL sync account and cannot be renamed; delete it and create a new one",
                acct.name
            )));
        }
        // Moving into another domain counts against that domain's limits.
        let moves_domain = acct
            .domain()
            .is_none_or(|d| !d.eq_ignore_ascii_case(&dom.name));
        let _place =
            if moves_domain && acct.kind == EntryKind::Account && !is_system_account(&acct.attrs) {
                let guard = self.lock_account_places(&dom).await;
                self.check_account_limits(&dom, acct.attrs.get("zimbraCOSId"), None)
                    .await?;
                Some(guard)
            } else {
                None
            };
        let (mail, aliases) = renamed_addresses(&acct, &new_addr);
        let edits = vec![
            AttrEdit::Replace("mail".into(), mail),
            AttrEdit::Replace("zimbraMailDeliveryAddress".into(), vec![new_addr.clone()]),
            AttrEdit::Replace("uid".into(), vec![new_local.to_string()]),
            AttrEdit::Replace(A_MAIL_ALIAS.into(), aliases),
        ];

        let out = self
            .dir
            .rename_and_modify(acct.kind, acct.id, &new_addr, &edits)
            .await?;
        self.rename_children(&acct.name, &new_addr).await?;
        tracing::info!(account = %acct.name, new_name = %new_addr, id = %acct.id,
            "account renamed");
        Ok(out)
    }

    /// Every account, by name; with `domain`, only that domain's (`zmprov -l gaa`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN` when `domain` does not exist.
    pub async fn all_accounts(&self, domain: Option<&str>) -> ServiceResult<Vec<Entry>> {
        match domain {
            None => self.dir.list_entries(EntryKind::Account, None).await,
            Some(d) => {
                let d = self.get_domain(&EntryKey::Name(d.to_string())).await?;
                self.dir
                    .list_entries(EntryKind::Account, Some(&d.name))
                    .await
            }
        }
    }

    /// Checks that `text` is the id of an existing COS.
    async fn require_cos_id(&self, text: &str) -> ServiceResult<Entry> {
        let id: ZimbraId = text.trim().parse().map_err(|_| {
            ServiceError::new(FaultCode::InvalidAttrValue, "zimbraCOSId must be a COS id")
        })?;
        self.get_cos(&EntryKey::Id(id)).await
    }

    /// Normalises an alias about to be added and checks its domain exists, is neither
    /// suspended nor shut down, and the address is free.
    pub(super) async fn check_new_alias(&self, alias: &str) -> ServiceResult<String> {
        let alias = normalize_address(alias)?;
        let (_, domain) = split_address(&alias).expect("normalised address has an @");
        let dom = self.get_domain(&EntryKey::Name(domain.to_string())).await?;
        check_entry_writable(&dom)?;
        if self.dir.find_by_address(&alias).await?.is_some() {
            return Err(ServiceError::new(
                FaultCode::AccountExists,
                format!("email address already exists: {alias}"),
            ));
        }
        Ok(alias)
    }

    /// Adds an alias to the account (`zmprov aaa`): stored lower-cased in
    /// `zimbraMailAlias` and added to `mail` (as Zimbra does), after which the address
    /// resolves to the account.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.INVALID_REQUEST` for a malformed alias;
    /// `account.NO_SUCH_DOMAIN` when the alias's domain does not exist;
    /// `account.ACCOUNT_EXISTS` when any account, alias or list holds the address.
    // LIMITATION: no separate alias entries are written (the address index serves their
    // purpose in the SQL backend); an LDAP backend will write them as Zimbra does.
    pub async fn add_account_alias(&self, key: &str, alias: &str) -> ServiceResult<()> {
        let acct = self.get_account(key).await?;
        let alias = self.check_new_alias(alias).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        let edits = alias_add_edits(&acct, &alias);
        self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        tracing::info!(account = %acct.name, alias = %alias, "alias added");
        Ok(())
    }

    /// Removes an alias from the account (`zmprov raa`), from `zimbraMailAlias` and
    /// from `mail`.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `account.NO_SUCH_ALIAS` when the account has no such
    /// alias.
    pub async fn remove_account_alias(&self, key: &str, alias: &str) -> ServiceResult<()> {
        let acct = self.get_account(key).await?;
        let no_such = || {
            ServiceError::new(
                FaultCode::NoSuchAlias,
                format!("no such alias: {}", alias.trim()),
            )
        };
        let wanted = normalize_address(alias).map_err(|_| no_such())?;
        if wanted.eq_ignore_ascii_case(&acct.name) {
            return Err(no_such());
        }
        let edits = alias_remove_edits(&acct, &wanted).ok_or_else(no_such)?;
        self.check_addresses_writable(&[&acct.name, &wanted])
            .await?;
        self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        tracing::info!(account = %acct.name, alias = %wanted, "alias removed");
        Ok(())
    }

    /// The recipient entry for `addr` for the MTA: the account, calendar resource or
    /// list whose name or alias it is (case-insensitive). An address in an alias domain
    /// (`zimbraDomainType alias`) resolves as the same local part in the target domain.
    /// `None` for an unknown or malformed address.
    // LIMITATION: catch-all addresses (`@domain` aliases) are not resolved yet.
    pub async fn resolve_address(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        let Ok(addr) = normalize_address(addr) else {
            return Ok(None);
        };
        if let Some(e) = self.dir.find_by_address(&addr).await? {
            return Ok(Some(e));
        }
        let (local, domain) = split_address(&addr).expect("normalised address has an @");
        let Some(dom) = self
            .dir
            .get_entry(EntryKind::Domain, &EntryKey::Name(domain.into()))
            .await?
        else {
            return Ok(None);
        };
        let is_alias = dom
            .attrs
            .get("zimbraDomainType")
            .is_some_and(|t| t.eq_ignore_ascii_case("alias"));
        let target = dom
            .attrs
            .get("zimbraDomainAliasTargetId")
            .and_then(|t| t.parse::<ZimbraId>().ok());
        match target.filter(|_| is_alias) {
            Some(target) => match self
                .dir
                .get_entry(EntryKind::Domain, &EntryKey::Id(target))
                .await?
            {
                Some(t) => {
                    self.dir
                        .find_by_address(&format!("{local}@{}", t.name))
                        .await
                }
                None => Ok(None),
            },
            None => Ok(None),
        }
    }
}
