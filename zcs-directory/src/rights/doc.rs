//! The rights each admin request checks (`getRightsDoc`, `zmprov grd`): one row per
//! request gated by [`super::RightsEngine::authorize`], with the rights it needs and
//! notes on how attributes are checked. The rows follow [`super::AdminOp`] one to one,
//! so the documentation cannot drift from the decision.
//!
//! Requests not listed here are not decided by the rights engine: the admin SOAP
//! service serves them to global administrators only.

/// One admin request and the rights it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RightsDoc {
    /// The request name (`CreateAccountRequest`).
    pub request: &'static str,
    /// The rights it needs, in the order they are checked.
    pub rights: &'static [&'static str],
    /// How attributes or further targets are checked.
    pub notes: &'static [&'static str],
}

/// Note for requests that set attributes.
const SET_ATTRS: &str = "Every attribute given must be settable by the admin on the \
     target: an attribute right or a setAttrs right covering it, granted on the entry, a \
     group holding it, its domain or globally.";
/// Note for requests that create an entry with attributes.
const CREATE_ATTRS: &str = "Attributes given at creation are checked against the grants \
     of the domain the entry is created in.";
/// Note for requests that read an entry.
const GET_ATTRS: &str = "The admin must be able to read at least one attribute of the \
     target (a getAttrs right, or an attribute right).";
/// Note for requests that move an entry into a new name.
const NEW_NAME: &str = "The new name's domain is checked as well as the entry.";
/// Note for setting zimbraCOSId.
const ASSIGN_COS: &str = "Setting zimbraCOSId also needs assignCos on the COS named.";
/// Note for listings.
const LISTED: &str = "Answered with only the entries the admin may list; a listing \
     needs no right of its own.";
/// Note for requests whose target is the global grant entry.
const GLOBAL: &str = "Checked on the global grant entry.";

/// Every admin request the rights engine decides, by request name.
pub const RIGHTS_DOC: &[RightsDoc] = &[
    RightsDoc {
        request: "AddAccountAliasRequest",
        rights: &["addAccountAlias", "createAlias"],
        notes: &["createAlias is checked on the alias's domain."],
    },
    RightsDoc {
        request: "AddDistributionListAliasRequest",
        rights: &["addDistributionListAlias", "createAlias"],
        notes: &["createAlias is checked on the alias's domain."],
    },
    RightsDoc {
        request: "AddDistributionListMemberRequest",
        rights: &["addDistributionListMember"],
        notes: &[],
    },
    RightsDoc {
        request: "CopyCosRequest",
        rights: &["createCos"],
        notes: &[GLOBAL],
    },
    RightsDoc {
        request: "CreateAccountRequest",
        rights: &["createAccount"],
        notes: &[CREATE_ATTRS, ASSIGN_COS],
    },
    RightsDoc {
        request: "CreateCosRequest",
        rights: &["createCos"],
        notes: &[GLOBAL],
    },
    RightsDoc {
        request: "CreateDistributionListRequest",
        rights: &["createDistributionList"],
        notes: &[CREATE_ATTRS],
    },
    RightsDoc {
        request: "CreateDomainRequest",
        rights: &["createDomain"],
        notes: &[GLOBAL],
    },
    RightsDoc {
        request: "DelegateAuthRequest",
        rights: &["adminLoginAs"],
        notes: &["View Mail; each token issued is written to audit.log."],
    },
    RightsDoc {
        request: "DeleteAccountRequest",
        rights: &["deleteAccount"],
        notes: &[],
    },
    RightsDoc {
        request: "DeleteCosRequest",
        rights: &["deleteCos"],
        notes: &[],
    },
    RightsDoc {
        request: "DeleteDistributionListRequest",
        rights: &["deleteDistributionList"],
        notes: &[],
    },
    RightsDoc {
        request: "DeleteDomainRequest",
        rights: &["deleteDomain"],
        notes: &[],
    },
    RightsDoc {
        request: "GetAccountRequest",
        rights: &[],
        notes: &[GET_ATTRS],
    },
    RightsDoc {
        request: "GetAllAccountsRequest",
        rights: &["listAccount"],
        notes: &[LISTED],
    },
    RightsDoc {
        request: "GetAllCosRequest",
        rights: &["listCos"],
        notes: &[LISTED],
    },
    RightsDoc {
        request: "GetAllDistributionListsRequest",
        rights: &["listDistributionList"],
        notes: &[LISTED],
    },
    RightsDoc {
        request: "GetAllDomainsRequest",
        rights: &["listDomain"],
        notes: &[LISTED],
    },
    RightsDoc {
        request: "GetCosRequest",
        rights: &[],
        notes: &[GET_ATTRS],
    },
    RightsDoc {
        request: "GetDistributionListRequest",
        rights: &[],
        notes: &[GET_ATTRS],
    },
    RightsDoc {
        request: "GetDomainRequest",
        rights: &[],
        notes: &[GET_ATTRS],
    },
    RightsDoc {
        request: "ModifyAccountRequest",
        rights: &[],
        notes: &[SET_ATTRS, ASSIGN_COS],
    },
    RightsDoc {
        request: "ModifyCosRequest",
        rights: &[],
        notes: &[SET_ATTRS],
    },
    RightsDoc {
        request: "ModifyDistributionListRequest",
        rights: &[],
        notes: &[SET_ATTRS],
    },
    RightsDoc {
        request: "ModifyDomainRequest",
        rights: &[],
        notes: &[SET_ATTRS],
    },
    RightsDoc {
        request: "RemoveAccountAliasRequest",
        rights: &["removeAccountAlias", "deleteAlias"],
        notes: &["deleteAlias is checked on the alias's domain."],
    },
    RightsDoc {
        request: "RemoveDistributionListAliasRequest",
        rights: &["removeDistributionListAlias", "deleteAlias"],
        notes: &["deleteAlias is checked on the alias's domain."],
    },
    RightsDoc {
        request: "RemoveDistributionListMemberRequest",
        rights: &["removeDistributionListMember"],
        notes: &[],
    },
    RightsDoc {
        request: "RenameAccountRequest",
        rights: &["renameAccount", "createAccount"],
        notes: &[NEW_NAME],
    },
    RightsDoc {
        request: "RenameCosRequest",
        rights: &["renameCos"],
        notes: &[],
    },
    RightsDoc {
        request: "RenameDistributionListRequest",
        rights: &["renameDistributionList", "createDistributionList"],
        notes: &[NEW_NAME],
    },
    RightsDoc {
        request: "SearchDirectoryRequest",
        rights: &[
            "listAccount",
            "listDistributionList",
            "listDomain",
            "listCos",
        ],
        notes: &[LISTED],
    },
    RightsDoc {
        request: "SetPasswordRequest",
        rights: &["setAccountPassword"],
        notes: &[],
    },
];

/// The admin rights of the catalogue no listed request checks (a grant of one of them
/// changes nothing yet).
pub fn unused_admin_rights() -> Vec<&'static str> {
    use super::registry::{RIGHTS, RightClass};
    let used: Vec<&str> = RIGHTS_DOC
        .iter()
        .flat_map(|d| d.rights.iter().copied())
        .collect();
    RIGHTS
        .iter()
        .filter(|d| d.class == RightClass::Admin && !used.contains(&d.name))
        .map(|d| d.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::Right;

    #[test]
    fn every_documented_right_exists_and_rows_are_sorted() {
        for d in RIGHTS_DOC {
            for r in d.rights {
                assert!(Right::lookup(r).is_some(), "{}: {r}", d.request);
            }
        }
        let names: Vec<&str> = RIGHTS_DOC.iter().map(|d| d.request).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(!unused_admin_rights().contains(&"createAccount"));
    }
}
