//! Name normalisation for directory entries: email addresses (accounts, aliases, lists,
//! calendar resources) and domain names. Everything the directory stores or looks up by
//! name passes through here, so `Joe@Example.COM` and `joe@example.com` are one name.
//!
//! This module checks shape only; whether a domain exists is the provisioning layer's
//! business.

mod punycode;

use zcs_core::{ServiceError, ServiceResult};

/// Characters never allowed in the local part of an address we store (RFC 5322 §3.2.3
/// `specials` other than `.`, plus whitespace and controls). Quoted local parts are not
/// accepted.
const LOCAL_SPECIALS: &[char] = &['@', '<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']'];

/// Longest address accepted (RFC 5321 §4.5.3.1.3 limits a path to 256 octets).
const MAX_ADDRESS_LEN: usize = 254;

/// Longest domain name accepted (RFC 1035 §2.3.4).
const MAX_DOMAIN_LEN: usize = 253;

/// Longest domain label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Normalises a domain name: trims surrounding white space, lower-cases it, turns each
/// internationalised label into its ASCII form (`schäfer` becomes `xn--schfer-dua`,
/// RFC 5891 §4.4, as Zimbra stores IDN domains) and checks that the result is a
/// dot-separated list of labels made of ASCII letters, digits, `-` and `_` (the
/// underscore is tolerated because Zimbra tolerates it in internal domains). A domain
/// given in either form therefore names the same entry.
///
/// # Errors
/// `service.INVALID_REQUEST` for an empty name, an empty label, a label that starts or
/// ends with `-`, an over-long name or label, or any other character (in an
/// internationalised label: anything but letters, digits and `-`).
pub fn normalize_domain(domain: &str) -> ServiceResult<String> {
    let bad =
        |why: &str| ServiceError::invalid_request(format!("invalid domain name {domain:?}: {why}"));
    let lower = domain.trim().to_lowercase();
    let mut labels = Vec::new();
    for label in lower.split('.') {
        if label.is_ascii() {
            labels.push(label.to_string());
            continue;
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(bad("only letters, digits, '-' and '_' are allowed"));
        }
        let ace = punycode::encode(label).ok_or_else(|| bad("label too long"))?;
        labels.push(format!("xn--{ace}"));
    }
    let d = labels.join(".");
    if d.is_empty() {
        return Err(bad("empty"));
    }
    if d.len() > MAX_DOMAIN_LEN {
        return Err(bad("too long"));
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err(bad("empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad("label too long"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("label starts or ends with '-'"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad("only letters, digits, '-' and '_' are allowed"));
        }
    }
    Ok(d)
}

/// Normalises an email address as the directory stores it: trimmed, lower-cased (the
/// local part with Unicode rules, the domain with ASCII rules), split at its last `@`.
///
/// # Errors
/// `service.INVALID_REQUEST` when there is no `@`, the local part is empty, starts or
/// ends with `.`, holds two dots in a row, white space, controls or RFC 5322 specials,
/// or the domain fails [`normalize_domain`].
pub fn normalize_address(addr: &str) -> ServiceResult<String> {
    let a = addr.trim();
    let bad = |why: &str| ServiceError::invalid_request(format!("invalid address {addr:?}: {why}"));
    let Some((local, domain)) = a.rsplit_once('@') else {
        return Err(bad("must be of the form user@domain"));
    };
    let local = local.to_lowercase();
    if local.is_empty() {
        return Err(bad("empty local part"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("misplaced '.' in the local part"));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || LOCAL_SPECIALS.contains(&c))
    {
        return Err(bad("invalid character in the local part"));
    }
    let domain = normalize_domain(domain).map_err(|_| bad("invalid domain"))?;
    let out = format!("{local}@{domain}");
    if out.len() > MAX_ADDRESS_LEN {
        return Err(bad("too long"));
    }
    Ok(out)
}

/// Splits a normalised address into (local part, domain). Returns `None` when there is
/// no `@`.
pub fn split_address(addr: &str) -> Option<(&str, &str)> {
    addr.rsplit_once('@')
}

/// The lower-case form every name column is compared in. Names compare
/// case-insensitively everywhere in the directory.
pub fn lower_name(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::FaultCode;

    #[test]
    fn addresses_are_lower_cased_and_trimmed() {
        assert_eq!(
            normalize_address(" Joe@Example.COM ").unwrap(),
            "joe@example.com"
        );
        assert_eq!(normalize_address("a.b+c@x.y").unwrap(), "a.b+c@x.y");
    }

    #[test]
    fn bad_addresses_are_invalid_requests() {
        for bad in [
            "",
            "joe",
            "@x.com",
            "joe@",
            "a b@x.com",
            "a..b@x.com",
            ".a@x.com",
            "joe@x..com",
            "joe@-x.com",
            "a@b@c.com",
            "joe@ex ample.com",
            "joe@ex\u{e4}m ple.com",
            "joe@ex\u{2603}.com",
        ] {
            let e = normalize_address(bad).unwrap_err();
            assert_eq!(e.code, FaultCode::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn domains_normalise() {
        assert_eq!(normalize_domain("Example.COM").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("xn--exmple-cua.com").unwrap(),
            "xn--exmple-cua.com"
        );
        // IDN: stored in the ASCII form, found by either.
        assert_eq!(
            normalize_domain("Ex\u{c4}mple.com").unwrap(),
            "xn--exmple-cua.com"
        );
        assert_eq!(
            normalize_address("Jo@1patrick-sch\u{e4}fer.de").unwrap(),
            "jo@xn--1patrick-schfer-clb.de"
        );
        assert!(normalize_domain("a.").is_err());
        assert!(normalize_domain(&"a".repeat(64)).is_err());
    }
}
