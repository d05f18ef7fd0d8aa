//! The catalogue of rights: Zimbra's preset rights, attribute rights and combo rights
//! (the ones delegated administration and the user-side ACLs rely on), and inline
//! attribute rights written `set.<target type>.<attr>` / `get.<target type>.<attr>`.
//!
//! A right is either admin-class (granted to admin accounts and admin groups, checked
//! by the admin service) or user-class (granted to anyone, checked by mail delivery,
//! free/busy, send-as). A combo bundles other rights, possibly other combos.

use super::types::TargetType;

/// What a right lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightKind {
    /// One operation.
    Preset,
    /// Read attributes.
    GetAttrs,
    /// Modify (and therefore read) attributes.
    SetAttrs,
    /// A bundle of other rights.
    Combo,
}

impl RightKind {
    /// The name Zimbra prints (`preset`, `getAttrs`, `setAttrs`, `combo`).
    pub fn code(self) -> &'static str {
        match self {
            RightKind::Preset => "preset",
            RightKind::GetAttrs => "getAttrs",
            RightKind::SetAttrs => "setAttrs",
            RightKind::Combo => "combo",
        }
    }
}

/// Who a right is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightClass {
    /// Delegated administration.
    Admin,
    /// End users (sendAs, viewFreeBusy, list rights ...).
    User,
}

impl RightClass {
    /// `ADMIN` or `USER`, as Zimbra prints it.
    pub fn code(self) -> &'static str {
        match self {
            RightClass::Admin => "ADMIN",
            RightClass::User => "USER",
        }
    }
}

/// One right of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct RightDef {
    pub name: &'static str,
    pub kind: RightKind,
    pub class: RightClass,
    /// The target type; `None` for combos (they apply where their members do).
    pub target: Option<TargetType>,
    /// For attribute rights: the attributes, empty meaning all of the target type.
    pub attrs: &'static [&'static str],
    /// For combos: the member rights.
    pub members: &'static [&'static str],
    /// Whether a user holds it when no grant on any level mentions it.
    pub default_allow: bool,
    pub desc: &'static str,
}

use RightClass::{Admin, User};
use RightKind::{Combo, GetAttrs, Preset, SetAttrs};
use TargetType as T;

const fn p(name: &'static str, target: TargetType, desc: &'static str) -> RightDef {
    RightDef {
        name,
        kind: Preset,
        class: Admin,
        target: Some(target),
        attrs: &[],
        members: &[],
        default_allow: false,
        desc,
    }
}

const fn attr(
    name: &'static str,
    kind: RightKind,
    target: TargetType,
    attrs: &'static [&'static str],
    desc: &'static str,
) -> RightDef {
    RightDef {
        name,
        kind,
        class: Admin,
        target: Some(target),
        attrs,
        members: &[],
        default_allow: false,
        desc,
    }
}

const fn user(
    name: &'static str,
    target: TargetType,
    default_allow: bool,
    desc: &'static str,
) -> RightDef {
    RightDef {
        name,
        kind: Preset,
        class: User,
        target: Some(target),
        attrs: &[],
        members: &[],
        default_allow,
        desc,
    }
}

const fn combo(
    name: &'static str,
    members: &'static [&'static str],
    desc: &'static str,
) -> RightDef {
    RightDef {
        name,
        kind: Combo,
        class: Admin,
        target: None,
        attrs: &[],
        members,
        default_allow: false,
        desc,
    }
}

/// Every right of the catalogue, by target type then combos.
#[rustfmt::skip]
pub static RIGHTS: &[RightDef] = &[
    // account
    p("adminLoginAs", T::Account, "log in as the account (View Mail)"),
    p("addAccountAlias", T::Account, "add an alias to the account"),
    p("removeAccountAlias", T::Account, "remove an alias of the account"),
    p("deleteAccount", T::Account, "delete the account"),
    p("renameAccount", T::Account, "rename the account"),
    p("listAccount", T::Account, "see the account in lists and searches"),
    p("setAccountPassword", T::Account, "set the account's password"),
    p("getAccountInfo", T::Account, "read the account's id, name and server"),
    p("getAccountMembership", T::Account, "read the lists the account belongs to"),
    p("getMailboxInfo", T::Account, "read the mailbox's size and id"),
    p("purgeMessages", T::Account, "purge the mailbox's expired messages"),
    p("checkRightUsr", T::Account, "check user rights on the account"),
    p("viewAccountGrants", T::Account, "read the grants on the account"),
    p("reindexMailbox", T::Account, "rebuild the mailbox's search index"),
    p("viewGrants", T::Account,
        "read the grants on the entry (granted on an account, list, domain or global)"),
    attr("getAccount", GetAttrs, T::Account, &[], "read every account attribute"),
    attr("modifyAccount", SetAttrs, T::Account, &[], "modify every account attribute"),
    attr("configureQuota", SetAttrs, T::Account, &["zimbraMailQuota", "zimbraQuotaWarnPercent"],
        "set the mailbox quota"),
    // calendar resource
    p("deleteCalendarResource", T::CalResource, "delete the calendar resource"),
    p("renameCalendarResource", T::CalResource, "rename the calendar resource"),
    p("setCalendarResourcePassword", T::CalResource, "set the resource's password"),
    p("listCalendarResource", T::CalResource, "see the resource in lists and searches"),
    attr("getCalendarResource", GetAttrs, T::CalResource, &[], "read every resource attribute"),
    attr("modifyCalendarResource", SetAttrs, T::CalResource, &[],
        "modify every resource attribute"),
    // distribution list
    p("addDistributionListMember", T::Dl, "add members to the list"),
    p("removeDistributionListMember", T::Dl, "remove members from the list"),
    p("addDistributionListAlias", T::Dl, "add an alias to the list"),
    p("removeDistributionListAlias", T::Dl, "remove an alias of the list"),
    p("deleteDistributionList", T::Dl, "delete the list"),
    p("renameDistributionList", T::Dl, "rename the list"),
    p("listDistributionList", T::Dl, "see the list in lists and searches"),
    p("getDistributionListMembership", T::Dl, "read the lists the list belongs to"),
    attr("getDistributionList", GetAttrs, T::Dl, &[], "read every list attribute"),
    attr("modifyDistributionList", SetAttrs, T::Dl, &[], "modify every list attribute"),
    user("ownDistList", T::Dl, false, "own (manage) the list"),
    user("sendToDistList", T::Dl, true, "send to the list"),
    user("viewDistList", T::Dl, true, "see the list's members"),
    user("sendAsDistList", T::Dl, false, "send as the list's address"),
    user("sendOnBehalfOfDistList", T::Dl, false, "send on behalf of the list"),
    // domain
    p("createAccount", T::Domain, "create accounts in the domain"),
    p("createAlias", T::Domain, "create aliases in the domain"),
    p("deleteAlias", T::Domain, "delete aliases in the domain"),
    p("createCalendarResource", T::Domain, "create calendar resources in the domain"),
    p("createDistributionList", T::Domain, "create lists in the domain"),
    user("createDistList", T::Domain, false,
        "create lists in the domain from the user API (CreateDistributionListRequest)"),
    p("listDomain", T::Domain, "see the domain in lists"),
    p("deleteDomain", T::Domain, "delete the domain"),
    p("countAccount", T::Domain, "count the domain's accounts"),
    p("accessGAL", T::Domain, "search the domain's GAL"),
    p("getDomainQuotaUsage", T::Domain, "read the quota usage of the domain's mailboxes"),
    attr("getDomain", GetAttrs, T::Domain, &[], "read every domain attribute"),
    attr("modifyDomain", SetAttrs, T::Domain, &[], "modify every domain attribute"),
    // cos
    p("listCos", T::Cos, "see the COS in lists"),
    p("assignCos", T::Cos, "assign the COS to accounts"),
    p("deleteCos", T::Cos, "delete the COS"),
    p("renameCos", T::Cos, "rename the COS"),
    attr("getCos", GetAttrs, T::Cos, &[], "read every COS attribute"),
    attr("modifyCos", SetAttrs, T::Cos, &[], "modify every COS attribute"),
    // server
    p("listServer", T::Server, "see the server in lists"),
    p("deleteServer", T::Server, "delete the server"),
    p("manageMailQueue", T::Server, "manage the server's mail queues"),
    p("crossMailboxSearch", T::Server, "run cross-mailbox searches on the server"),
    attr("getServer", GetAttrs, T::Server, &[], "read every server attribute"),
    attr("modifyServer", SetAttrs, T::Server, &[], "modify every server attribute"),
    // zimlet
    p("listZimlet", T::Zimlet, "see the zimlet in lists"),
    p("deployZimlet", T::Zimlet, "deploy the zimlet"),
    p("deleteZimlet", T::Zimlet, "delete the zimlet"),
    attr("getZimlet", GetAttrs, T::Zimlet, &[], "read every zimlet attribute"),
    attr("modifyZimlet", SetAttrs, T::Zimlet, &[], "modify every zimlet attribute"),
    // config
    attr("getGlobalConfig", GetAttrs, T::Config, &[], "read every global config attribute"),
    attr("modifyGlobalConfig", SetAttrs, T::Config, &[], "modify every global config attribute"),
    // global
    p("createCos", T::Global, "create classes of service"),
    p("createDomain", T::Global, "create domains"),
    p("createServer", T::Global, "create servers"),
    p("createZimlet", T::Global, "create zimlets"),
    p("getAllFreeBusy", T::Global, "read anyone's free/busy"),
    p("adminConsoleServerStatusRights", T::Global, "see the server status pages"),
    // user rights on accounts
    user("sendAs", T::Account, false, "send as the account"),
    user("sendOnBehalfOf", T::Account, false, "send on behalf of the account"),
    user("viewFreeBusy", T::Account, true, "see the account's free/busy"),
    user("invite", T::Account, true, "invite the account (auto-add to its calendar)"),
    user("loginAs", T::Account, false, "log in as the account"),
    // combos
    combo("adminConsoleAccountRights", &[
        "createAccount", "listAccount", "getAccount", "modifyAccount", "deleteAccount",
        "renameAccount", "setAccountPassword", "addAccountAlias", "removeAccountAlias",
        "getAccountInfo", "getAccountMembership", "getMailboxInfo", "countAccount", "adminLoginAs",
    ], "administer accounts in the console"),
    combo("adminConsoleAliasRights", &[
        "createAlias", "deleteAlias", "addAccountAlias", "removeAccountAlias",
        "addDistributionListAlias", "removeDistributionListAlias",
    ], "administer aliases in the console"),
    combo("adminConsoleDLRights", &[
        "createDistributionList", "listDistributionList", "getDistributionList",
        "modifyDistributionList", "deleteDistributionList", "renameDistributionList",
        "addDistributionListMember", "removeDistributionListMember", "addDistributionListAlias",
        "removeDistributionListAlias", "getDistributionListMembership",
    ], "administer distribution lists in the console"),
    combo("adminConsoleResourceRights", &[
        "createCalendarResource", "listCalendarResource", "getCalendarResource",
        "modifyCalendarResource", "deleteCalendarResource", "renameCalendarResource",
    ], "administer calendar resources in the console"),
    combo("adminConsoleSavedSearchRights", &[
        "listAccount", "listDistributionList", "listCalendarResource",
    ], "use the console's saved searches"),
    combo("adminConsoleDomainRights", &[
        "listDomain", "getDomain", "countAccount", "accessGAL", "getDomainQuotaUsage",
    ], "administer the domain in the console"),
    combo("adminConsoleCOSRights", &["listCos", "getCos", "assignCos"],
        "see and assign classes of service"),
    combo("adminConsoleZimletRights", &["listZimlet", "getZimlet", "deployZimlet", "createZimlet"],
        "create, deploy and view zimlets"),
    combo("adminConsoleCrossMailboxSearchRights", &[
        "crossMailboxSearch", "listServer", "getServer",
    ], "run and manage cross-mailbox searches"),
    combo("taskSetPassword", &["listAccount", "getAccountInfo", "setAccountPassword"],
        "reset passwords only"),
    combo("domainAdminRights", &[
        "adminConsoleAccountRights", "adminConsoleAliasRights", "adminConsoleDLRights",
        "adminConsoleResourceRights", "adminConsoleSavedSearchRights", "adminConsoleDomainRights",
    ], "full administration of a domain's accounts, aliases, lists and resources"),
    combo("domainAdminConsoleRights", &["domainAdminRights"],
        "what the built-in domain admin group is granted on its domains"),
    combo("adminConsoleRights", &[
        "domainAdminRights", "adminConsoleCOSRights", "adminConsoleZimletRights",
        "adminConsoleCrossMailboxSearchRights", "adminConsoleServerStatusRights",
    ], "everything the admin console offers"),
];

/// A right as named in a grant or a check: a catalogue entry, or an inline attribute
/// right on one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Right {
    /// A right of [`RIGHTS`].
    Def(&'static RightDef),
    /// `set.<type>.<attr>` (`set` true) or `get.<type>.<attr>`.
    Inline {
        set: bool,
        target: TargetType,
        attr: String,
    },
}

impl Right {
    /// Looks a right up by name (any case) or parses an inline attribute right; `None`
    /// for an unknown name (`account.NO_SUCH_RIGHT` to callers).
    pub fn lookup(name: &str) -> Option<Right> {
        let name = name.trim();
        if let Some(def) = RIGHTS.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
            return Some(Right::Def(def));
        }
        let mut parts = name.splitn(3, '.');
        let verb = parts.next()?;
        let target = TargetType::parse(parts.next()?)?;
        let attr = parts.next()?;
        let set = match verb.to_ascii_lowercase().as_str() {
            "set" => true,
            "get" => false,
            _ => return None,
        };
        let attr = zcs_core::attrs::lookup(attr)?.name.to_string();
        Some(Right::Inline { set, target, attr })
    }

    /// The canonical name (catalogue spelling, or `set.account.zimbraCOSId`).
    pub fn name(&self) -> String {
        match self {
            Right::Def(d) => d.name.to_string(),
            Right::Inline { set, target, attr } => {
                format!(
                    "{}.{}.{attr}",
                    if *set { "set" } else { "get" },
                    target.code()
                )
            }
        }
    }

    /// The class: inline attribute rights are admin rights.
    pub fn class(&self) -> RightClass {
        match self {
            Right::Def(d) => d.class,
            Right::Inline { .. } => RightClass::Admin,
        }
    }

    /// The kind.
    pub fn kind(&self) -> RightKind {
        match self {
            Right::Def(d) => d.kind,
            Right::Inline { set: true, .. } => RightKind::SetAttrs,
            Right::Inline { set: false, .. } => RightKind::GetAttrs,
        }
    }

    /// The target types the right applies to: one for presets and attribute rights,
    /// the union of the members' for combos.
    pub fn target_types(&self) -> Vec<TargetType> {
        match self {
            Right::Inline { target, .. } => vec![*target],
            Right::Def(d) => match d.target {
                Some(t) => vec![t],
                None => {
                    let mut out = Vec::new();
                    for m in expand(d) {
                        if let Some(t) = m.target
                            && !out.contains(&t)
                        {
                            out.push(t);
                        }
                    }
                    out.sort();
                    out
                }
            },
        }
    }

    /// Whether a grant of this right may sit on an entry of type `holder`.
    pub fn grantable_on(&self, holder: TargetType) -> bool {
        self.target_types().iter().any(|t| t.grantable_on(holder))
    }
}

/// The non-combo rights a combo stands for, recursively (a right stands for itself).
/// Cycles cannot occur in the static catalogue; the depth is bounded anyway.
pub fn expand(def: &'static RightDef) -> Vec<&'static RightDef> {
    let mut out = Vec::new();
    expand_into(def, &mut out, 0);
    out
}

fn expand_into(def: &'static RightDef, out: &mut Vec<&'static RightDef>, depth: usize) {
    if depth > 8 {
        return;
    }
    if def.kind != Combo {
        if !out.iter().any(|d| std::ptr::eq(*d, def)) {
            out.push(def);
        }
        return;
    }
    for m in def.members {
        if let Some(Right::Def(md)) = Right::lookup(m) {
            expand_into(md, out, depth + 1);
        }
    }
}

/// The catalogue rights that apply to `target` (combos whose members all do), for
/// `zmprov gar -t` and effective-rights listings.
pub fn rights_for(target: TargetType) -> impl Iterator<Item = &'static RightDef> {
    RIGHTS.iter().filter(move |d| match d.target {
        Some(t) => t == target,
        None => Right::Def(d).target_types().contains(&target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combo_member_exists_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for d in RIGHTS {
            assert!(seen.insert(d.name.to_ascii_lowercase()), "{}", d.name);
            for m in d.members {
                assert!(Right::lookup(m).is_some(), "{} -> {m}", d.name);
            }
        }
    }

    #[test]
    fn lookup_inline_and_expand() {
        let r = Right::lookup("SET.account.zimbracosid").unwrap();
        assert_eq!(r.name(), "set.account.zimbraCOSId");
        assert!(Right::lookup("set.account.noSuchAttr").is_none());
        assert!(Right::lookup("SetPasswordRequest").is_none());
        let Some(Right::Def(d)) = Right::lookup("domainAdminRights") else {
            panic!("missing combo");
        };
        let names: Vec<_> = expand(d).iter().map(|d| d.name).collect();
        assert!(names.contains(&"createAccount"));
        assert!(names.contains(&"modifyAccount"));
        assert!(!names.contains(&"domainAdminRights"));
        let tt = Right::Def(d).target_types();
        assert!(tt.contains(&TargetType::Account) && tt.contains(&TargetType::Domain));
        assert!(rights_for(TargetType::Dl).any(|d| d.name == "sendToDistList"));
    }

    #[test]
    fn create_dist_list_is_a_user_right_on_domains() {
        // Zimbra grants it on a domain to let users create lists (DL-Action-Rights.xml).
        let Some(Right::Def(d)) = Right::lookup("createdistlist") else {
            panic!("missing createDistList");
        };
        assert_eq!(d.name, "createDistList");
        assert_eq!(d.target, Some(TargetType::Domain));
        assert!(matches!(d.class, RightClass::User) && !d.default_allow);
    }
}
