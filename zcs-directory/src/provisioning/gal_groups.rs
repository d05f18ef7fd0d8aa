//! Group members of an external GAL sync source: with a group handler configured
//! (`zimbraGalLdapGroupHandlerClass` on the data source, else the domain or global config,
//! as Zimbra's `com.zimbra.cs.account.grouphandler.ADGroupHandler`), a group's contact
//! gets a multi-valued `member` field holding its members' addresses.
//!
//! A group is an entry of class `groupOfNames`, `groupOfUniqueNames` (RFC 4519) or `group`
//! (Active Directory). Its members are the DNs of its `member` and `uniqueMember` values
//! (an optional `#'...'B` unique identifier dropped, RFC 4517 §3.3.21); each member's
//! address is its first `mail`, taken from the same listing when the member is in it, else
//! read with one base-object search on the listing's connection. Members without `mail`,
//! or that do not exist, are left out. The handler's class name only switches this on:
//! zcs runs no Java. LIMITATION: members are read from the group's own member values,
//! not found by a `memberOf` search as Zimbra's AD handler does, so members a directory
//! lists only through `memberOf` (AD primary groups) are missed, and nested groups are
//! not expanded (a nested group is a member by its own address). At most
//! [`MAX_LOOKUPS`] members outside the listing are read per sync.

use std::collections::HashMap;
use std::time::Duration;

use ldap3::{Ldap, Scope, SearchEntry};

/// The pseudo-attribute a group's resolved member addresses are put under in its
/// [`SearchEntry`] (no directory has an attribute by that name).
pub const MEMBER_MAILS: &str = "zcs-gal-member-mail";

/// The most base-object searches one listing makes for members outside it.
pub const MAX_LOOKUPS: usize = 5000;

/// The object classes of a group in an external directory.
pub const GROUP_CLASSES: &[&str] = &["groupOfNames", "groupOfUniqueNames", "group"];

/// The member attributes read from a group.
pub const MEMBER_ATTRS: &[&str] = &["member", "uniqueMember"];

/// The values of `name` (any case) in `entry`.
fn values<'a>(entry: &'a SearchEntry, name: &str) -> impl Iterator<Item = &'a String> {
    entry
        .attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter())
}

/// Whether `entry` is a group (by its object classes).
pub fn is_group(entry: &SearchEntry) -> bool {
    values(entry, "objectClass").any(|c| GROUP_CLASSES.iter().any(|g| g.eq_ignore_ascii_case(c)))
}

/// A DN in a form two spellings of one DN share: lower case, no spaces around `,`,
/// `+` and `=`. Good enough to match member values against listed DNs.
pub fn dn_key(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut pending_space = false;
    for c in dn.trim().chars() {
        if c == ' ' {
            pending_space = true;
            continue;
        }
        if pending_space && !matches!(c, ',' | '+' | '=') && !out.ends_with([',', '+', '=']) {
            out.push(' ');
        }
        pending_space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The DN of a `member`/`uniqueMember` value: a trailing `#'<bits>'B` unique identifier
/// (RFC 4517 §3.3.21, NameAndOptionalUID) dropped.
pub fn member_dn(value: &str) -> &str {
    match value.rfind("#'") {
        Some(i) if value.ends_with("'B") => &value[..i],
        _ => value,
    }
}

/// Gives each group among `entries` its members' addresses under [`MEMBER_MAILS`],
/// reading members outside `entries` over `ldap` (each search with `timeout`). A member
/// that cannot be read is left out (logged at debug level); the listing never fails for
/// it.
pub async fn resolve_members(ldap: &mut Ldap, entries: &mut [SearchEntry], timeout: Duration) {
    if !entries.iter().any(is_group) {
        return;
    }
    let mut mail_of: HashMap<String, Option<String>> = entries
        .iter()
        .map(|e| (dn_key(&e.dn), values(e, "mail").next().cloned()))
        .collect();
    let mut lookups = 0usize;
    for entry in entries.iter_mut() {
        if !is_group(entry) {
            continue;
        }
        let dns: Vec<String> = MEMBER_ATTRS
            .iter()
            .flat_map(|a| values(entry, a))
            .map(|v| member_dn(v).to_string())
            .collect();
        let mut mails: Vec<String> = Vec::new();
        for dn in dns {
            let key = dn_key(&dn);
            if !mail_of.contains_key(&key) {
                if lookups >= MAX_LOOKUPS {
                    tracing::warn!(group = %entry.dn, "too many group members outside the \
                        listing; the rest are left out");
                    break;
                }
                lookups += 1;
                ldap.with_timeout(timeout);
                let found = ldap
                    .search(&dn, Scope::Base, "(objectClass=*)", vec!["mail"])
                    .await
                    .and_then(|r| r.success());
                let mail = match found {
                    Ok((rs, _)) => rs.into_iter().next().and_then(|r| {
                        let se = SearchEntry::construct(r);
                        values(&se, "mail").next().cloned()
                    }),
                    Err(e) => {
                        tracing::debug!(member = %dn, error = %e, "group member not read");
                        None
                    }
                };
                mail_of.insert(key.clone(), mail);
            }
            if let Some(Some(m)) = mail_of.get(&key)
                && !mails.iter().any(|x| x.eq_ignore_ascii_case(m))
            {
                mails.push(m.clone());
            }
        }
        entry.attrs.insert(MEMBER_MAILS.to_string(), mails);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_forms() {
        assert_eq!(dn_key("UID=Ann, OU=People ,dc=X"), "uid=ann,ou=people,dc=x");
        assert_eq!(dn_key("cn=Ann Lee,dc=x"), "cn=ann lee,dc=x");
        assert_eq!(member_dn("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
        assert_eq!(member_dn("uid=a#b,dc=x"), "uid=a#b,dc=x");
    }

    #[test]
    fn groups_by_class() {
        let mut e = SearchEntry {
            dn: "cn=g".into(),
            attrs: HashMap::new(),
            bin_attrs: HashMap::new(),
        };
        assert!(!is_group(&e));
        e.attrs.insert(
            "objectclass".into(),
            vec!["top".into(), "GroupOfNames".into()],
        );
        assert!(is_group(&e));
    }

    proptest::proptest! {
        #[test]
        fn dn_key_never_panics(s in ".{0,60}") {
            let _ = dn_key(&s);
            let _ = member_dn(&s);
        }
    }
}
