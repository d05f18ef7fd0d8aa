//! Inheritance: where an attribute's effective value comes from when the entry itself
//! does not set it (account -> COS -> global config, server -> global config, domain ->
//! global config, account -> COS -> domain for `accountCosDomainInherited` attributes),
//! plus the precedence exceptions of spec 02 §0 that can be decided from attribute
//! values alone.
//!
//! Finding the entries (which COS an account uses, which domain it is in) is
//! zcs-directory's job; this module only reads the [`Attrs`] it is handed.
//!
// LIMITATION: these spec 02 §0 exceptions are not decided here, because they combine
// different attributes or need entries this module never sees; zcs-directory (or the
// server front end) owns them:
// - COS resolution: explicit zimbraCOSId, else the domain's zimbraDomainDefaultCOSId,
//   else the `default` COS, also when the named COS was deleted;
// - domain status against account status (closed beats all; locked and maintenance
//   lose to some account states; spec 02 §1.3.2);
// (The S/MIME LDAP configurations and the domain Zimlet list are decided here: see
// [`Scope::get`].)

use std::time::Duration;

use super::value::{parse_bool, parse_duration, parse_size};
use super::{AttrDef, AttrFlags, Inherit, lookup};
use crate::entry::{Attrs, EntryKind};

/// The kinds of entry consulted, most specific first, for `def` read on an entry of
/// kind `start`:
///
/// - account or calendar resource: by [`Inherit`]; `AccountCos` adds the COS,
///   `AccountCosGlobal` the COS then the global config, `AccountDomainGlobal` the domain
///   then the global config, `AccountCosDomainGlobal` the COS then the domain (then the
///   global config when the attribute may be set there);
/// - COS: the global config too for `AccountCosGlobal` attributes;
/// - server: the global config too for server-inherited attributes;
/// - domain: the global config too for domain-inherited attributes;
/// - anything else: only itself.
pub fn chain_kinds(def: &AttrDef, start: EntryKind) -> Vec<EntryKind> {
    use EntryKind::{Account, CalendarResource, Cos, Domain, GlobalConfig, Server};
    let flags = def.meta().map(|m| m.flags).unwrap_or_default();
    let mut chain = vec![start];
    match start {
        Account | CalendarResource => match def.inherit {
            Inherit::AccountCos => chain.push(Cos),
            Inherit::AccountCosGlobal => chain.extend([Cos, GlobalConfig]),
            Inherit::AccountDomainGlobal => chain.extend([Domain, GlobalConfig]),
            Inherit::AccountCosDomainGlobal => {
                chain.extend([Cos, Domain]);
                if def.applies_to(GlobalConfig) {
                    chain.push(GlobalConfig);
                }
            }
            Inherit::None | Inherit::ServerGlobal | Inherit::DomainGlobal => {}
        },
        Cos if def.inherit == Inherit::AccountCosGlobal => chain.push(GlobalConfig),
        Server
            if def.inherit == Inherit::ServerGlobal
                || flags.contains(AttrFlags::SERVER_INHERITED) =>
        {
            chain.push(GlobalConfig)
        }
        Domain
            if def.inherit == Inherit::DomainGlobal
                || flags.contains(AttrFlags::DOMAIN_INHERITED) =>
        {
            chain.push(GlobalConfig)
        }
        _ => {}
    }
    chain
}

/// The values the first entry of `chain` that sets the attribute holds; the registry
/// default when none does; nothing when the registry does not know `name` either. Names
/// compare case-insensitively and aliases find their attribute.
pub fn resolve(name: &str, chain: &[&Attrs]) -> Vec<String> {
    match lookup(name) {
        Some(def) => resolve_def(def, chain),
        None => first_set(name, chain).unwrap_or_default(),
    }
}

/// [`resolve`] for a known definition.
pub fn resolve_def(def: &AttrDef, chain: &[&Attrs]) -> Vec<String> {
    first_set(def.name, chain)
        .unwrap_or_else(|| def.default.iter().map(|v| v.to_string()).collect())
}

/// The values of the first entry that sets `name`.
fn first_set(name: &str, chain: &[&Attrs]) -> Option<Vec<String>> {
    chain.iter().find_map(|a| {
        let v = a.get_all(name);
        (!v.is_empty()).then(|| v.to_vec())
    })
}

/// The default for `def` when read starting from `start`: the global config's initial
/// value on the global config, the default COS's initial value on a COS, else
/// [`AttrDef::default`].
pub fn default_for(def: &AttrDef, start: EntryKind) -> &'static [&'static str] {
    let meta = def.meta();
    let specific = match start {
        EntryKind::GlobalConfig => meta.map(|m| m.global_config_value),
        EntryKind::Cos => meta.map(|m| m.default_cos_value),
        _ => None,
    };
    match specific {
        Some(v) if !v.is_empty() => v,
        _ => def.default,
    }
}

/// The entries an attribute can be read through, starting at `start`. Leave out the
/// ones the caller does not have; a missing link is skipped.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub start: EntryKind,
    pub account: Option<&'a Attrs>,
    pub cos: Option<&'a Attrs>,
    pub domain: Option<&'a Attrs>,
    pub server: Option<&'a Attrs>,
    pub global: Option<&'a Attrs>,
}

impl<'a> Scope<'a> {
    /// An account (or calendar resource) with its COS, its domain and the global config.
    pub fn account(
        account: &'a Attrs,
        cos: Option<&'a Attrs>,
        domain: Option<&'a Attrs>,
        global: Option<&'a Attrs>,
    ) -> Self {
        Scope {
            start: EntryKind::Account,
            account: Some(account),
            cos,
            domain,
            server: None,
            global,
        }
    }

    /// A server and the global config.
    pub fn server(server: &'a Attrs, global: Option<&'a Attrs>) -> Self {
        Scope {
            start: EntryKind::Server,
            account: None,
            cos: None,
            domain: None,
            server: Some(server),
            global,
        }
    }

    /// A domain and the global config.
    pub fn domain(domain: &'a Attrs, global: Option<&'a Attrs>) -> Self {
        Scope {
            start: EntryKind::Domain,
            account: None,
            cos: None,
            domain: Some(domain),
            server: None,
            global,
        }
    }

    /// A COS and the global config.
    pub fn cos(cos: &'a Attrs, global: Option<&'a Attrs>) -> Self {
        Scope {
            start: EntryKind::Cos,
            account: None,
            cos: Some(cos),
            domain: None,
            server: None,
            global,
        }
    }

    /// The global config alone.
    pub fn global(global: &'a Attrs) -> Self {
        Scope {
            start: EntryKind::GlobalConfig,
            account: None,
            cos: None,
            domain: None,
            server: None,
            global: Some(global),
        }
    }

    fn entry(&self, kind: EntryKind) -> Option<&'a Attrs> {
        match kind {
            EntryKind::Account | EntryKind::CalendarResource => self.account,
            EntryKind::Cos => self.cos,
            EntryKind::Domain => self.domain,
            EntryKind::Server => self.server,
            EntryKind::GlobalConfig => self.global,
            _ => None,
        }
    }

    /// The entries consulted for `def`, most specific first ([`chain_kinds`] with the
    /// missing ones left out).
    pub fn chain(&self, def: &AttrDef) -> Vec<&'a Attrs> {
        chain_kinds(def, self.start)
            .into_iter()
            .filter_map(|k| self.entry(k))
            .collect()
    }

    /// The effective values of `name`. Besides plain inheritance this applies the
    /// spec 02 §0 exceptions that depend on attribute values only:
    /// - `zimbraAttachmentsBlocked`, `zimbraAttachmentsViewInHtmlOnly`: a global TRUE
    ///   beats the COS and the account;
    /// - `zimbraMailQuota`: capped by the domain's `zimbraMailDomainQuota` (0 means no
    ///   limit on either side);
    /// - `zimbraPrefSpellIgnoreWord`: the account, COS and domain lists combined;
    /// - `zimbraZimletAvailableZimlets` read on an account: the account (else COS) list,
    ///   then each entry of the domain's `zimbraZimletDomainAvailableZimlets` (domain,
    ///   else global) replaces the entry for the same Zimlet or is added: the domain
    ///   list overrides the COS and account settings. Entries are `+name` (enabled),
    ///   `!name` (mandatory), `-name` (disabled); a bare name counts as `+name`;
    /// - `zimbraSMIMELdap*` read on a domain or an account: the domain's configurations
    ///   when the domain has any `zimbraSMIMELdap*` value, else the global config's,
    ///   never a mix. The guide says global beats domain; upstream Zimbra (followed
    ///   here, so existing directories behave as before) uses the domain's first;
    /// - SMS (`zimbraFeatureCalendarReminderDeviceEmailEnabled`): the COS beats the
    ///   domain through plain account -> COS -> domain inheritance.
    ///
    /// An unknown name is looked up on the starting entry only.
    pub fn get(&self, name: &str) -> Vec<String> {
        let Some(def) = lookup(name) else {
            return self
                .entry(self.start)
                .map(|a| a.get_all(name).to_vec())
                .unwrap_or_default();
        };
        let on_account = matches!(self.start, EntryKind::Account | EntryKind::CalendarResource);
        match def.name {
            "zimbraAttachmentsBlocked" | "zimbraAttachmentsViewInHtmlOnly" if on_account => {
                let global_on = self
                    .global
                    .and_then(|g| g.get(def.name))
                    .is_some_and(|v| parse_bool(v) == Ok(true));
                if global_on {
                    return vec!["TRUE".to_string()];
                }
            }
            "zimbraMailQuota" if on_account => return self.mail_quota(def),
            "zimbraZimletAvailableZimlets" if on_account => return self.zimlets(def),
            n if n.starts_with("zimbraSMIMELdap")
                && (on_account || self.start == EntryKind::Domain) =>
            {
                return self.smime_ldap(def);
            }
            "zimbraPrefSpellIgnoreWord" if on_account => {
                let mut words: Vec<String> = Vec::new();
                for entry in [self.account, self.cos, self.domain].into_iter().flatten() {
                    for w in entry.get_all(def.name) {
                        if !words.contains(w) {
                            words.push(w.clone());
                        }
                    }
                }
                if !words.is_empty() {
                    return words;
                }
            }
            _ => {}
        }
        self.plain(def)
    }

    fn plain(&self, def: &AttrDef) -> Vec<String> {
        first_set(def.name, &self.chain(def)).unwrap_or_else(|| {
            default_for(def, self.start)
                .iter()
                .map(|v| v.to_string())
                .collect()
        })
    }

    /// The account or COS Zimlet list with the domain's list laid over it.
    fn zimlets(&self, def: &AttrDef) -> Vec<String> {
        let name_of = |v: &str| v.trim_start_matches(['+', '-', '!']).to_string();
        let mut out: Vec<String> = first_set(def.name, &self.chain(def)).unwrap_or_default();
        let domain_list = lookup("zimbraZimletDomainAvailableZimlets")
            .map(|d| {
                let chain: Vec<&Attrs> = chain_kinds(d, EntryKind::Domain)
                    .into_iter()
                    .filter_map(|k| self.entry(k))
                    .collect();
                resolve_def(d, &chain)
            })
            .unwrap_or_default();
        for v in domain_list {
            let v = if v.starts_with(['+', '-', '!']) {
                v
            } else {
                format!("+{v}")
            };
            let name = name_of(&v);
            match out.iter_mut().find(|o| name_of(o) == name) {
                Some(slot) => *slot = v,
                None => out.push(v),
            }
        }
        out
    }

    /// `def` (a `zimbraSMIMELdap*` attribute) from the domain when it holds any S/MIME
    /// LDAP configuration, else from the global config.
    fn smime_ldap(&self, def: &AttrDef) -> Vec<String> {
        let domain_has_configs = self.domain.is_some_and(|d| {
            d.iter().any(|(n, v)| {
                n.get(..15)
                    .is_some_and(|p| p.eq_ignore_ascii_case("zimbraSMIMELdap"))
                    && !v.is_empty()
            })
        });
        let from = if domain_has_configs {
            self.domain
        } else {
            self.global
        };
        from.map(|a| a.get_all(def.name).to_vec())
            .unwrap_or_default()
    }

    fn mail_quota(&self, def: &AttrDef) -> Vec<String> {
        let own = self.plain(def);
        let cap = lookup("zimbraMailDomainQuota")
            .and_then(|d| {
                let chain: Vec<&Attrs> = chain_kinds(d, EntryKind::Domain)
                    .into_iter()
                    .filter_map(|k| self.entry(k))
                    .collect();
                resolve_def(d, &chain)
                    .first()
                    .and_then(|v| parse_size(v).ok())
            })
            .filter(|&c| c > 0);
        let own_bytes = own.first().and_then(|v| parse_size(v).ok());
        match (own_bytes, cap) {
            (Some(0) | None, Some(cap)) => vec![cap.to_string()],
            (Some(q), Some(cap)) if cap < q => vec![cap.to_string()],
            _ => own,
        }
    }

    /// The first effective value of `name`, if any.
    pub fn get_one(&self, name: &str) -> Option<String> {
        self.get(name).into_iter().next()
    }

    /// The effective value of a boolean attribute; unset or unreadable is `false`.
    pub fn get_bool(&self, name: &str) -> bool {
        self.get_one(name)
            .is_some_and(|v| parse_bool(&v) == Ok(true))
    }

    /// The effective value of a duration attribute, if set and readable.
    pub fn get_duration(&self, name: &str) -> Option<Duration> {
        self.get_one(name).and_then(|v| parse_duration(&v).ok())
    }

    /// The effective value of a size attribute in bytes, if set and readable.
    pub fn get_size(&self, name: &str) -> Option<u64> {
        self.get_one(name).and_then(|v| parse_size(&v).ok())
    }

    /// The effective value of an integer attribute, if set and readable.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.get_one(name).and_then(|v| v.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        let mut a = Attrs::new();
        for (n, v) in pairs {
            a.add(n, *v);
        }
        a
    }

    fn def(name: &str) -> &'static AttrDef {
        lookup(name).expect("known attribute")
    }

    #[test]
    fn chains_follow_the_entry_kind() {
        use EntryKind::*;
        assert_eq!(
            chain_kinds(def("zimbraMailQuota"), Account),
            vec![Account, Cos]
        );
        assert_eq!(
            chain_kinds(def("zimbraAttachmentsBlocked"), Account),
            vec![Account, Cos, GlobalConfig]
        );
        assert_eq!(
            chain_kinds(def("zimbraPrefTimeZoneId"), Account),
            vec![Account, Cos, Domain]
        );
        assert_eq!(
            chain_kinds(def("zimbraDumpsterEnabled"), Account),
            vec![Account, Cos, Domain, GlobalConfig]
        );
        assert_eq!(
            chain_kinds(def("zimbraImapBindPort"), Server),
            vec![Server, GlobalConfig]
        );
        assert_eq!(
            chain_kinds(def("zimbraGalMaxResults"), Domain),
            vec![Domain, GlobalConfig]
        );
        assert_eq!(chain_kinds(def("zimbraAuthMech"), Domain), vec![Domain]);
        // zimbraSmtpHostname is server-inherited but also set on domains.
        assert_eq!(chain_kinds(def("zimbraSmtpHostname"), Domain), vec![Domain]);
    }

    #[test]
    fn first_in_chain_wins_then_default() {
        let account = attrs(&[]);
        let cos = attrs(&[("zimbraMailQuota", "1048576")]);
        assert_eq!(
            resolve("zimbraMailQuota", &[&account, &cos]),
            vec!["1048576"]
        );
        let account = attrs(&[("ZIMBRAMAILQUOTA", "5242880")]);
        assert_eq!(
            resolve("zimbramailquota", &[&account, &cos]),
            vec!["5242880"]
        );
        assert_eq!(resolve("zimbraMailQuota", &[]), vec!["0"]);
        assert!(resolve("zimbraNoSuchAttr", &[]).is_empty());
    }

    #[test]
    fn spec_acceptance_inheritance() {
        // spec 02 §6.1: global only, read on a domain -> 100; domain 5 wins.
        let global = attrs(&[("zimbraGalMaxResults", "100")]);
        let domain = attrs(&[]);
        assert_eq!(
            Scope::domain(&domain, Some(&global)).get_one("zimbraGalMaxResults"),
            Some("100".into())
        );
        let domain = attrs(&[("zimbraGalMaxResults", "5")]);
        assert_eq!(
            Scope::domain(&domain, Some(&global)).get_i64("zimbraGalMaxResults"),
            Some(5)
        );
        // spec 02 §6.2: a server without zimbraHsmBatchSize -> 10000.
        let server = attrs(&[]);
        assert_eq!(
            Scope::server(&server, None).get_i64("zimbraHsmBatchSize"),
            Some(10000)
        );
        // spec 01 §6.4: account unset -> COS; COS unset -> global.
        let account = attrs(&[]);
        let cos = attrs(&[("zimbraArchiveEnabled", "TRUE")]);
        let global = attrs(&[("zimbraArchiveEnabled", "FALSE")]);
        assert!(
            Scope::account(&account, Some(&cos), None, Some(&global))
                .get_bool("zimbraArchiveEnabled")
        );
        let cos = attrs(&[]);
        let global = attrs(&[("zimbraArchiveEnabled", "TRUE")]);
        assert!(
            Scope::account(&account, Some(&cos), None, Some(&global))
                .get_bool("zimbraArchiveEnabled")
        );
    }

    #[test]
    fn precedence_exceptions() {
        let account = attrs(&[("zimbraAttachmentsBlocked", "FALSE")]);
        let cos = attrs(&[("zimbraAttachmentsBlocked", "FALSE")]);
        let global = attrs(&[("zimbraAttachmentsBlocked", "TRUE")]);
        let scope = Scope::account(&account, Some(&cos), None, Some(&global));
        assert!(scope.get_bool("zimbraAttachmentsBlocked"));

        // spec 02 §6.47: domain quota 1 MB caps an account quota of 5 MB.
        let account = attrs(&[("zimbraMailQuota", "5242880")]);
        let domain = attrs(&[("zimbraMailDomainQuota", "1048576")]);
        let scope = Scope::account(&account, None, Some(&domain), None);
        assert_eq!(scope.get_size("zimbraMailQuota"), Some(1_048_576));
        let unlimited = attrs(&[("zimbraMailQuota", "0")]);
        let scope = Scope::account(&unlimited, None, Some(&domain), None);
        assert_eq!(scope.get_size("zimbraMailQuota"), Some(1_048_576));
        let scope = Scope::account(&unlimited, None, None, None);
        assert_eq!(scope.get_size("zimbraMailQuota"), Some(0));

        // spec 02 §6.80: domain foo + COS bar -> both.
        let account = attrs(&[]);
        let cos = attrs(&[("zimbraPrefSpellIgnoreWord", "bar")]);
        let domain = attrs(&[("zimbraPrefSpellIgnoreWord", "foo")]);
        let scope = Scope::account(&account, Some(&cos), Some(&domain), None);
        assert_eq!(scope.get("zimbraPrefSpellIgnoreWord"), vec!["bar", "foo"]);

        // Domain time zone only when COS and account have none.
        let domain = attrs(&[("zimbraPrefTimeZoneId", "Europe/Paris")]);
        let cos = attrs(&[]);
        let scope = Scope::account(&account, Some(&cos), Some(&domain), None);
        assert_eq!(
            scope.get_one("zimbraPrefTimeZoneId"),
            Some("Europe/Paris".into())
        );
        let cos = attrs(&[("zimbraPrefTimeZoneId", "Asia/Tokyo")]);
        let scope = Scope::account(&account, Some(&cos), Some(&domain), None);
        assert_eq!(
            scope.get_one("zimbraPrefTimeZoneId"),
            Some("Asia/Tokyo".into())
        );
    }

    #[test]
    fn domain_zimlet_list_overrides_cos_and_account() {
        let cos = attrs(&[]);
        let mut cos_list = Attrs::new();
        for v in ["+com_zimbra_date", "-com_zimbra_phone", "!com_zimbra_url"] {
            cos_list.add("zimbraZimletAvailableZimlets", v);
        }
        let mut domain = Attrs::new();
        for v in ["-com_zimbra_date", "!com_zimbra_phone", "com_zimbra_social"] {
            domain.add("zimbraZimletDomainAvailableZimlets", v);
        }
        let account = attrs(&[]);
        let scope = Scope::account(&account, Some(&cos_list), Some(&domain), None);
        assert_eq!(
            scope.get("zimbraZimletAvailableZimlets"),
            vec![
                "-com_zimbra_date",
                "!com_zimbra_phone",
                "!com_zimbra_url",
                "+com_zimbra_social"
            ]
        );
        // The account's own list is overridden by the domain too.
        let account = attrs(&[("zimbraZimletAvailableZimlets", "+com_zimbra_date")]);
        let scope = Scope::account(&account, Some(&cos), Some(&domain), None);
        assert_eq!(
            scope.get("zimbraZimletAvailableZimlets"),
            vec![
                "-com_zimbra_date",
                "!com_zimbra_phone",
                "+com_zimbra_social"
            ]
        );
        // No domain list: the account/COS list as it is; a global domain list applies.
        let scope = Scope::account(&account, Some(&cos), None, None);
        assert_eq!(
            scope.get("zimbraZimletAvailableZimlets"),
            vec!["+com_zimbra_date"]
        );
        let global = attrs(&[("zimbraZimletDomainAvailableZimlets", "-com_zimbra_date")]);
        let empty_domain = attrs(&[]);
        let scope = Scope::account(&account, Some(&cos), Some(&empty_domain), Some(&global));
        assert_eq!(
            scope.get("zimbraZimletAvailableZimlets"),
            vec!["-com_zimbra_date"]
        );
    }

    #[test]
    fn smime_ldap_configs_come_from_one_level() {
        let global = attrs(&[
            ("zimbraSMIMELdapURL", "corp:ldap://global.test:3268"),
            ("zimbraSMIMELdapFilter", "corp:mail=%n"),
        ]);
        let domain = attrs(&[("zimbraSMIMELdapURL", "dom:ldap://dom.test:389")]);
        let account = attrs(&[]);
        // The domain has a configuration: only the domain's, even for attributes it
        // leaves unset.
        let scope = Scope::domain(&domain, Some(&global));
        assert_eq!(
            scope.get("zimbraSMIMELdapURL"),
            vec!["dom:ldap://dom.test:389"]
        );
        assert!(scope.get("zimbraSMIMELdapFilter").is_empty());
        let scope = Scope::account(&account, None, Some(&domain), Some(&global));
        assert_eq!(
            scope.get("zimbraSMIMELdapURL"),
            vec!["dom:ldap://dom.test:389"]
        );
        // No domain configuration: the global ones.
        let bare = attrs(&[]);
        let scope = Scope::domain(&bare, Some(&global));
        assert_eq!(
            scope.get("zimbraSMIMELdapURL"),
            vec!["corp:ldap://global.test:3268"]
        );
        assert_eq!(scope.get("zimbraSMIMELdapFilter"), vec!["corp:mail=%n"]);
        let scope = Scope::account(&account, None, Some(&bare), Some(&global));
        assert_eq!(scope.get("zimbraSMIMELdapFilter"), vec!["corp:mail=%n"]);
        // Read on the global config itself: its own values.
        assert_eq!(
            Scope::global(&global).get("zimbraSMIMELdapFilter"),
            vec!["corp:mail=%n"]
        );
    }

    #[test]
    fn sms_reminders_cos_beats_domain() {
        let name = "zimbraFeatureCalendarReminderDeviceEmailEnabled";
        let account = attrs(&[]);
        let domain_on = attrs(&[(name, "TRUE")]);
        let cos_off = attrs(&[(name, "FALSE")]);
        let cos_on = attrs(&[(name, "TRUE")]);
        let domain_off = attrs(&[(name, "FALSE")]);
        let cos_unset = attrs(&[]);
        let s = |cos, dom| Scope::account(&account, Some(cos), Some(dom), None).get_bool(name);
        assert!(!s(&cos_off, &domain_on), "COS FALSE beats domain TRUE");
        assert!(s(&cos_on, &domain_off), "COS TRUE beats domain FALSE");
        assert!(
            s(&cos_unset, &domain_on),
            "domain when the COS says nothing"
        );
        let account_off = attrs(&[(name, "FALSE")]);
        let scope = Scope::account(&account_off, Some(&cos_on), Some(&domain_on), None);
        assert!(!scope.get_bool(name), "the account beats its COS");
    }

    #[test]
    fn defaults_depend_on_where_reading_starts() {
        let d = def("zimbraFileUploadMaxSizePerFile");
        assert_eq!(default_for(d, EntryKind::GlobalConfig), &["2147483648"]);
        assert_eq!(default_for(d, EntryKind::Cos), &["0"]);
    }
}
