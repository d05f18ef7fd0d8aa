//! The vocabulary of the rights engine: target types (what a grant sits on), grantee
//! types (who a grant names) and right modifiers (deny, can-delegate, ...), with the
//! short codes Zimbra writes in `zimbraACE` values and on the `zmprov` command line.

use zcs_core::EntryKind;

/// The kind of entry a right applies to or a grant sits on (`zmprov gar -t <type>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetType {
    /// One account.
    Account,
    /// One calendar resource.
    CalResource,
    /// A class of service.
    Cos,
    /// A static distribution list (and the lists nested under it).
    Dl,
    /// A dynamic group.
    Group,
    /// A domain: its accounts, resources and lists (not its sub-domains).
    Domain,
    /// A server.
    Server,
    /// A zimlet.
    Zimlet,
    /// The global config entry.
    Config,
    /// The global grant: every entry of every type.
    Global,
}

impl TargetType {
    /// Every target type, in the order `zmprov gar` help lists them.
    pub const ALL: &'static [TargetType] = &[
        TargetType::Account,
        TargetType::CalResource,
        TargetType::Cos,
        TargetType::Dl,
        TargetType::Group,
        TargetType::Domain,
        TargetType::Server,
        TargetType::Zimlet,
        TargetType::Config,
        TargetType::Global,
    ];

    /// The code Zimbra uses (`account`, `calresource`, `dl`, ...).
    pub fn code(self) -> &'static str {
        match self {
            TargetType::Account => "account",
            TargetType::CalResource => "calresource",
            TargetType::Cos => "cos",
            TargetType::Dl => "dl",
            TargetType::Group => "group",
            TargetType::Domain => "domain",
            TargetType::Server => "server",
            TargetType::Zimlet => "zimlet",
            TargetType::Config => "config",
            TargetType::Global => "global",
        }
    }

    /// Parses a code, any case; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<TargetType> {
        let t = text.trim();
        TargetType::ALL
            .iter()
            .copied()
            .find(|x| x.code().eq_ignore_ascii_case(t))
            .or_else(|| {
                t.eq_ignore_ascii_case("distributionlist")
                    .then_some(TargetType::Dl)
            })
    }

    /// Whether a grant on an entry of this type needs no entry name (`config`, `global`).
    pub fn is_singleton(self) -> bool {
        matches!(self, TargetType::Config | TargetType::Global)
    }

    /// The directory kind holding grants of this type (global grants live on the global
    /// config entry).
    pub fn entry_kind(self) -> EntryKind {
        match self {
            TargetType::Account => EntryKind::Account,
            TargetType::CalResource => EntryKind::CalendarResource,
            TargetType::Cos => EntryKind::Cos,
            TargetType::Dl => EntryKind::DistributionList,
            TargetType::Group => EntryKind::DynamicGroup,
            TargetType::Domain => EntryKind::Domain,
            TargetType::Server => EntryKind::Server,
            TargetType::Zimlet => EntryKind::Zimlet,
            TargetType::Config | TargetType::Global => EntryKind::GlobalConfig,
        }
    }

    /// The target type of a directory entry kind; `None` for kinds no right applies to.
    pub fn of_kind(kind: EntryKind) -> Option<TargetType> {
        Some(match kind {
            EntryKind::Account => TargetType::Account,
            EntryKind::CalendarResource => TargetType::CalResource,
            EntryKind::Cos => TargetType::Cos,
            EntryKind::DistributionList => TargetType::Dl,
            EntryKind::DynamicGroup => TargetType::Group,
            EntryKind::Domain => TargetType::Domain,
            EntryKind::Server => TargetType::Server,
            EntryKind::Zimlet => TargetType::Zimlet,
            EntryKind::GlobalConfig => TargetType::Config,
            _ => return None,
        })
    }

    /// Whether a right whose target type is `self` may be granted on an entry of type
    /// `holder`: on its own type, or on a container that holds such entries (account
    /// and resource rights on lists, groups, domains and global; list rights on
    /// domains and global; everything on global).
    pub fn grantable_on(self, holder: TargetType) -> bool {
        use TargetType as T;
        if holder == self || holder == T::Global {
            return true;
        }
        match self {
            T::Account => matches!(holder, T::CalResource | T::Dl | T::Group | T::Domain),
            T::CalResource => matches!(holder, T::Dl | T::Group | T::Domain),
            T::Dl | T::Group => matches!(holder, T::Dl | T::Group | T::Domain),
            _ => false,
        }
    }
}

impl std::fmt::Display for TargetType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Who a grant names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GranteeType {
    /// One internal account (by zimbraId).
    Usr,
    /// Members of an internal group, nested lists included (by zimbraId).
    Grp,
    /// An external group (`domain:group name`).
    Egp,
    /// Every authenticated internal user.
    All,
    /// Every account of a domain (by the domain's zimbraId).
    Dom,
    /// Every address of a domain, internal or not (by domain name).
    Edom,
    /// One external guest, with a password.
    Gst,
    /// An access key holder (name and key).
    Key,
    /// Anyone, authenticated or not.
    Pub,
    /// One email address.
    Email,
}

impl GranteeType {
    /// Every grantee type.
    pub const ALL: &'static [GranteeType] = &[
        GranteeType::Usr,
        GranteeType::Grp,
        GranteeType::Egp,
        GranteeType::All,
        GranteeType::Dom,
        GranteeType::Edom,
        GranteeType::Gst,
        GranteeType::Key,
        GranteeType::Pub,
        GranteeType::Email,
    ];

    /// The code Zimbra stores (`usr`, `grp`, ...).
    pub fn code(self) -> &'static str {
        match self {
            GranteeType::Usr => "usr",
            GranteeType::Grp => "grp",
            GranteeType::Egp => "egp",
            GranteeType::All => "all",
            GranteeType::Dom => "dom",
            GranteeType::Edom => "edom",
            GranteeType::Gst => "gst",
            GranteeType::Key => "key",
            GranteeType::Pub => "pub",
            GranteeType::Email => "email",
        }
    }

    /// Parses a code, any case; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<GranteeType> {
        let t = text.trim();
        GranteeType::ALL
            .iter()
            .copied()
            .find(|x| x.code().eq_ignore_ascii_case(t))
    }

    /// Whether the type names nobody in particular, so a grant takes no grantee name.
    pub fn takes_no_name(self) -> bool {
        matches!(self, GranteeType::All | GranteeType::Pub)
    }

    /// Whether the type carries a secret after the grantee (guest password, access key).
    pub fn has_secret(self) -> bool {
        matches!(self, GranteeType::Gst | GranteeType::Key)
    }

    /// Whether an admin right may be granted to this type (admins are accounts and
    /// admin groups only).
    pub fn admin_capable(self) -> bool {
        matches!(self, GranteeType::Usr | GranteeType::Grp | GranteeType::Egp)
    }
}

impl std::fmt::Display for GranteeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The one modifier a grant may carry, written before the right name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// A plain positive grant.
    #[default]
    None,
    /// `-`: a negative grant (deny).
    Deny,
    /// `+`: positive, and the grantee may grant it on to others.
    CanDelegate,
    /// `*`: positive on a group, but not inherited by the groups nested under it.
    DisinheritSubGroups,
    /// `^`: positive on a domain, and also on its sub-domains.
    SubDomain,
}

impl Modifier {
    /// The prefix character, `""` for none.
    pub fn prefix(self) -> &'static str {
        match self {
            Modifier::None => "",
            Modifier::Deny => "-",
            Modifier::CanDelegate => "+",
            Modifier::DisinheritSubGroups => "*",
            Modifier::SubDomain => "^",
        }
    }

    /// Splits a leading modifier off `text` (`"-createAccount"` gives `Deny`).
    pub fn split(text: &str) -> (Modifier, &str) {
        let m = match text.chars().next() {
            Some('-') => Modifier::Deny,
            Some('+') => Modifier::CanDelegate,
            Some('*') => Modifier::DisinheritSubGroups,
            Some('^') => Modifier::SubDomain,
            _ => return (Modifier::None, text),
        };
        (m, &text[1..])
    }

    /// Whether this is a negative grant.
    pub fn is_deny(self) -> bool {
        self == Modifier::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for t in TargetType::ALL {
            assert_eq!(TargetType::parse(t.code()), Some(*t));
        }
        for g in GranteeType::ALL {
            assert_eq!(GranteeType::parse(&g.code().to_uppercase()), Some(*g));
        }
        assert_eq!(TargetType::parse("nope"), None);
        assert_eq!(Modifier::split("-x"), (Modifier::Deny, "x"));
        assert_eq!(Modifier::split("x"), (Modifier::None, "x"));
        assert_eq!(Modifier::split(""), (Modifier::None, ""));
    }

    #[test]
    fn containers_hold_their_members_rights() {
        use TargetType as T;
        assert!(T::Account.grantable_on(T::Domain));
        assert!(T::Account.grantable_on(T::Dl));
        assert!(T::Domain.grantable_on(T::Global));
        assert!(!T::Domain.grantable_on(T::Account));
        assert!(!T::Cos.grantable_on(T::Domain));
    }
}
