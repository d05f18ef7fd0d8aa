//! One access control entry as Zimbra stores it in a `zimbraACE` value:
//! `<grantee> <grantee type> [modifier]<right> [secret]`, e.g.
//! `6f1c...-... usr +createAccount` or `guest@far.test gst viewFreeBusy s3cret`.
//!
//! The grantee is a zimbraId for `usr`, `grp` and `dom`, a name for `edom`, `egp`,
//! `gst`, `key` and `email`, and a fixed id for `all` and `pub`. Parsing is total: a
//! value that is not an ACE gives `None`, never a panic, so a directory holding values
//! this engine does not understand still reads.

use super::types::{GranteeType, Modifier};

/// The grantee id Zimbra writes for `all` (authenticated users).
pub const GUID_ALL: &str = "00000000-0000-0000-0000-000000000000";
/// The grantee id Zimbra writes for `pub` (everyone).
pub const GUID_PUBLIC: &str = "99999999-9999-9999-9999-999999999999";

/// One grant as stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Id or name, as [`Grant::grantee_type`] says; never contains whitespace.
    pub grantee: String,
    pub grantee_type: GranteeType,
    /// The right name as stored (`createAccount`, `set.account.zimbraCOSId`, ...).
    pub right: String,
    pub modifier: Modifier,
    /// The guest password or access key (`gst`, `key`), if any.
    pub secret: Option<String>,
}

impl Grant {
    /// Parses one `zimbraACE` value; `None` when it is not a well-formed ACE (fewer
    /// than three words, an unknown grantee type, an empty right).
    pub fn parse(text: &str) -> Option<Grant> {
        let mut w = text.split_whitespace();
        let grantee = w.next()?;
        let ty = GranteeType::parse(w.next()?)?;
        let (modifier, right) = Modifier::split(w.next()?);
        if right.is_empty() || Modifier::split(right).0 != Modifier::None {
            return None;
        }
        let secret = w.next().map(str::to_string);
        if w.next().is_some() {
            return None;
        }
        Some(Grant {
            grantee: grantee.to_string(),
            grantee_type: ty,
            right: right.to_string(),
            modifier,
            secret,
        })
    }

    /// The stored text form, the inverse of [`Grant::parse`].
    pub fn format(&self) -> String {
        let mut s = format!(
            "{} {} {}{}",
            self.grantee,
            self.grantee_type.code(),
            self.modifier.prefix(),
            self.right
        );
        if let Some(secret) = &self.secret {
            s.push(' ');
            s.push_str(secret);
        }
        s
    }

    /// Whether this is a negative grant.
    pub fn is_deny(&self) -> bool {
        self.modifier.is_deny()
    }

    /// Whether two grants name the same grantee and right, whatever their modifier
    /// and secret (the identity `revokeRight` matches on).
    pub fn same_subject(&self, other: &Grant) -> bool {
        self.grantee.eq_ignore_ascii_case(&other.grantee)
            && self.grantee_type == other.grantee_type
            && self.right.eq_ignore_ascii_case(&other.right)
    }
}

/// The grants of an entry's `zimbraACE` values, skipping values that do not parse.
pub fn grants_of(values: &[String]) -> Vec<Grant> {
    values.iter().filter_map(|v| Grant::parse(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zimbra_forms_parse() {
        let g = Grant::parse("0a1b2c3d-0000-0000-0000-000000000001 usr +createAccount").unwrap();
        assert_eq!(g.grantee_type, GranteeType::Usr);
        assert_eq!(g.modifier, Modifier::CanDelegate);
        assert_eq!(g.right, "createAccount");
        let g = Grant::parse("x@far.test gst viewFreeBusy pw").unwrap();
        assert_eq!(g.secret.as_deref(), Some("pw"));
        assert!(
            Grant::parse(&format!("{GUID_PUBLIC} pub -viewDistList"))
                .unwrap()
                .is_deny()
        );
        for bad in [
            "",
            "a b",
            "a zzz right",
            "a usr -",
            "a usr --x",
            "a usr x s extra",
        ] {
            assert_eq!(Grant::parse(bad), None, "{bad}");
        }
    }

    fn word() -> impl Strategy<Value = String> {
        "[A-Za-z0-9@._:-]{1,20}".prop_filter("no modifier start", |s| {
            !s.starts_with(['-', '+', '*', '^'])
        })
    }

    fn grant() -> impl Strategy<Value = Grant> {
        let ty = proptest::sample::select(GranteeType::ALL.to_vec());
        let m = proptest::sample::select(vec![
            Modifier::None,
            Modifier::Deny,
            Modifier::CanDelegate,
            Modifier::DisinheritSubGroups,
            Modifier::SubDomain,
        ]);
        (word(), ty, word(), m, proptest::option::of(word())).prop_map(
            |(grantee, grantee_type, right, modifier, secret)| Grant {
                grantee,
                grantee_type,
                right,
                modifier,
                secret,
            },
        )
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(g in grant()) {
            prop_assert_eq!(Grant::parse(&g.format()), Some(g));
        }

        #[test]
        fn garbage_never_panics_and_reparses(s in "\\PC{0,80}") {
            if let Some(g) = Grant::parse(&s) {
                prop_assert_eq!(Grant::parse(&g.format()), Some(g));
            }
        }
    }
}
