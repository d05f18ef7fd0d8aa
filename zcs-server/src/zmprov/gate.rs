//! What a delegated admin (`zimbraIsDelegatedAdminAccount=TRUE`) logged in with
//! `zmprov -a` may run: each account, distribution-list, domain and COS command maps to
//! the [`AdminOp`] the admin SOAP service asks of the rights engine for the same
//! request, so both refuse the same things with `service.PERM_DENIED`. Setting
//! `zimbraCOSId` to a new COS (`ma` or `sac`) also needs `assignCos` on it. Reading the
//! rights catalogue, attribute descriptions and public domain info is open; every other
//! command is refused.
//!
//! LIMITATION: the listing commands (`gaa`, `gad`, `gadl`, `sa`, ...) are refused to
//! delegated admins rather than trimmed to what they may list, as the SOAP service does.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::Provisioning;
use zcs_directory::rights::{AdminOp, is_global_admin};

use super::find_command;

/// Commands that read only the rights catalogue, the attribute registry or public
/// domain attributes (`getDomainInfo` prints only what the login page shows anyone).
const OPEN: &[&str] = &[
    "describe",
    "getRight",
    "getAllRights",
    "help",
    "getDomainInfo",
];

/// The attribute names of `name value name value ...` pairs.
fn names(pairs: &[String]) -> Vec<String> {
    pairs.iter().step_by(2).cloned().collect()
}

/// The COS `zimbraCOSId` is set to among the pairs, when it differs from `current`.
fn cos_change(pairs: &[String], current: Option<&Entry>) -> Option<String> {
    let now = current.and_then(|e| e.attrs.get("zimbraCOSId"));
    pairs.chunks(2).find_map(|kv| {
        let (n, v) = (kv.first()?, kv.get(1)?.trim());
        let named = n
            .trim_start_matches('+')
            .eq_ignore_ascii_case("zimbraCOSId");
        (named && !v.is_empty() && now.is_none_or(|c| !c.eq_ignore_ascii_case(v)))
            .then(|| v.to_string())
    })
}

/// Decides whether `admin` may run the command line `words`. Global admins may run
/// anything; unknown commands are left to the command table to refuse.
///
/// # Errors
/// `service.PERM_DENIED` naming the missing right or the command; the "no such" fault
/// of a target that does not exist; `service.INVALID_REQUEST` for a missing argument.
pub async fn authorize(p: &Provisioning, admin: &Entry, words: &[String]) -> ServiceResult<()> {
    use AdminOp as O;
    if is_global_admin(admin) {
        return Ok(());
    }
    let Some(cmd) = words.first().and_then(|w| find_command(w)) else {
        return Ok(());
    };
    let args = &words[1..];
    let arg = |i: usize| -> ServiceResult<&str> {
        args.get(i)
            .map(|s| s.trim())
            .ok_or_else(|| ServiceError::invalid_request(format!("{}: missing argument", cmd.long)))
    };
    let rest = |i: usize| args.get(i..).unwrap_or_default();
    let engine = p.rights();
    let may = async |op: AdminOp<'_>| engine.authorize(admin, &op).await;
    match cmd.long {
        l if OPEN.contains(&l) => Ok(()),
        "createAccount" => {
            may(O::CreateAccount {
                name: arg(0)?,
                attrs: &names(rest(2)),
            })
            .await?;
            match cos_change(rest(2), None) {
                Some(cos) => may(O::AssignCos { cos: &cos }).await,
                None => Ok(()),
            }
        }
        "getAccount" => may(O::GetAccount { account: arg(0)? }).await,
        "modifyAccount" => {
            let a = arg(0)?;
            may(O::ModifyAccount {
                account: a,
                attrs: &names(rest(1)),
            })
            .await?;
            let current = p.get_account(a).await?;
            match cos_change(rest(1), Some(&current)) {
                Some(cos) => may(O::AssignCos { cos: &cos }).await,
                None => Ok(()),
            }
        }
        "deleteAccount" => may(O::DeleteAccount { account: arg(0)? }).await,
        // SetAccountCOS is a change of zimbraCOSId: the attribute right on the account
        // and assignCos on the COS, as `ma acct zimbraCOSId ...` needs.
        "setAccountCOS" => {
            may(O::ModifyAccount {
                account: arg(0)?,
                attrs: &["zimbraCOSId".to_string()],
            })
            .await?;
            may(O::AssignCos { cos: arg(1)? }).await
        }
        "setPassword" => may(O::SetPassword { account: arg(0)? }).await,
        "renameAccount" => {
            may(O::RenameAccount {
                account: arg(0)?,
                new_name: arg(1)?,
            })
            .await
        }
        "createDistributionList" | "createDynamicDistributionList" => {
            may(O::CreateList {
                name: arg(0)?,
                attrs: &names(rest(1)),
            })
            .await
        }
        "getDistributionList" => may(O::GetList { list: arg(0)? }).await,
        "modifyDistributionList" => {
            may(O::ModifyList {
                list: arg(0)?,
                attrs: &names(rest(1)),
            })
            .await
        }
        "deleteDistributionList" => may(O::DeleteList { list: arg(0)? }).await,
        "renameDistributionList" => {
            may(O::RenameList {
                list: arg(0)?,
                new_name: arg(1)?,
            })
            .await
        }
        "addDistributionListMember" => may(O::AddListMembers { list: arg(0)? }).await,
        "removeDistributionListMember" => may(O::RemoveListMembers { list: arg(0)? }).await,
        "addDistributionListAlias" => {
            may(O::AddListAlias {
                list: arg(0)?,
                alias: arg(1)?,
            })
            .await
        }
        "removeDistributionListAlias" => {
            may(O::RemoveListAlias {
                list: arg(0)?,
                alias: arg(1)?,
            })
            .await
        }
        "createDomain" => may(O::CreateDomain).await,
        "getDomain" => may(O::GetDomain { domain: arg(0)? }).await,
        "modifyDomain" => {
            may(O::ModifyDomain {
                domain: arg(0)?,
                attrs: &names(rest(1)),
            })
            .await
        }
        "deleteDomain" => may(O::DeleteDomain { domain: arg(0)? }).await,
        "createCos" => may(O::CreateCos).await,
        "getCos" => may(O::GetCos { cos: arg(0)? }).await,
        "modifyCos" => {
            may(O::ModifyCos {
                cos: arg(0)?,
                attrs: &names(rest(1)),
            })
            .await
        }
        "deleteCos" => may(O::DeleteCos { cos: arg(0)? }).await,
        "renameCos" => may(O::RenameCos { cos: arg(0)? }).await,
        "copyCos" => {
            may(O::GetCos { cos: arg(0)? }).await?;
            may(O::CreateCos).await
        }
        other => Err(ServiceError::perm_denied(format!(
            "permission denied: {other} is not open to delegated admins"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn pairs_give_names_and_cos_changes() {
        let pairs = words("displayName X +zimbraCOSId abc zimbraCOSId");
        assert_eq!(names(&pairs), words("displayName +zimbraCOSId zimbraCOSId"));
        assert_eq!(cos_change(&pairs, None).as_deref(), Some("abc"));
        assert_eq!(cos_change(&words("zimbraCOSId"), None), None);
        assert_eq!(cos_change(&words("description x"), None), None);
        let mut acct = Entry {
            kind: zcs_core::EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: "a@x.test".into(),
            attrs: zcs_core::Attrs::new(),
        };
        acct.attrs.set_one("zimbraCOSId", "ABC");
        assert_eq!(cos_change(&pairs, Some(&acct)), None);
    }
}
