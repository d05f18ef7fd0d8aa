//! The distribution-list rights: owners (`ownDistList`), who may send (`sendToDistList`)
//! and who may see the members (`viewDistList`), granted on a list or on a domain.
//!
//! Storage: grants are `zimbraACE` values in Zimbra's text form,
//! `<grantee> <type> [-]<right>` (a leading `-` denies), on the list or domain entry, so
//! a directory migrated from Zimbra reads as it is. Grantee types: `usr` and `grp` (by
//! zimbraId), `dom` (domain id), `edom` (domain name), `all` (any authenticated internal
//! user), `pub` (anyone), `gst` (one external address). This module is not a general
//! rights engine: only these three rights are understood.

use zcs_core::{AttrEdit, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::Provisioning;
use super::lists::{addresses_of, is_group};
use crate::directory::EntryKey;
use crate::names::split_address;

/// The grantee id Zimbra writes for `all` (authenticated users).
pub const GUID_ALL: &str = "00000000-0000-0000-0000-000000000000";
/// The grantee id Zimbra writes for `pub` (everyone).
pub const GUID_PUBLIC: &str = "99999999-9999-9999-9999-999999999999";

/// The rights this module understands.
pub const LIST_RIGHTS: &[&str] = &["ownDistList", "sendToDistList", "viewDistList"];

/// One access control entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    /// Id, domain name or address, as the type says.
    pub grantee: String,
    /// `usr`, `grp`, `dom`, `edom`, `all`, `pub`, `gst`.
    pub grantee_type: String,
    pub right: String,
    pub deny: bool,
}

impl Ace {
    /// Parses `<grantee> <type> [-]<right> [secret]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Ace> {
        let mut w = text.split_whitespace();
        let (grantee, ty, right) = (w.next()?, w.next()?, w.next()?);
        let (deny, right) = match right.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, right),
        };
        Some(Ace {
            grantee: grantee.to_string(),
            grantee_type: ty.to_ascii_lowercase(),
            right: right.to_string(),
            deny,
        })
    }

    /// The stored text form.
    pub fn format(&self) -> String {
        let deny = if self.deny { "-" } else { "" };
        format!(
            "{} {} {deny}{}",
            self.grantee, self.grantee_type, self.right
        )
    }
}

/// Who is asking: the sender's address and, when they are an internal account, it.
#[derive(Clone, Debug)]
pub struct Requester {
    pub address: String,
    pub account: Option<Entry>,
    /// Whether the sender authenticated (SMTP AUTH, a session).
    pub authenticated: bool,
}

impl Provisioning {
    /// Grants (or, with `deny`, denies) `right` on a list (`target_type` `dl`) or a
    /// domain (`domain`) to a grantee (`zmprov grr`). `grantee` is an account or list
    /// address for `usr`/`grp`, a domain for `dom`/`edom`, an address for `gst`, and
    /// ignored for `all`/`pub`.
    ///
    /// A list in a `suspended` or `shutdown` domain takes no grant (owners included),
    /// nor does a domain being renamed (`shutdown`); a `suspended` domain entry itself
    /// still does, as its administrator may still manage it.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for an unknown right, grantee type or target type; the
    /// "no such" faults for the target or grantee; `service.PERM_DENIED` for a frozen
    /// domain.
    pub async fn grant_right(
        &self,
        target_type: &str,
        target: &str,
        grantee_type: &str,
        grantee: &str,
        right: &str,
        deny: bool,
    ) -> ServiceResult<()> {
        let ace = self.make_ace(grantee_type, grantee, right, deny).await?;
        let t = self.right_target(target_type, target).await?;
        self.check_grant_target_writable(&t).await?;
        let text = ace.format();
        if !t.attrs.get_all("zimbraACE").contains(&text) {
            self.dir
                .modify_entry(t.kind, t.id, &[AttrEdit::Add("zimbraACE".into(), text)])
                .await?;
        }
        tracing::info!(target = %t.name, right = %ace.right, grantee_type = %ace.grantee_type,
            deny, "right granted");
        Ok(())
    }

    /// Revokes a grant made by [`Provisioning::grant_right`] (`zmprov rvr`).
    ///
    /// # Errors
    /// As [`Provisioning::grant_right`] (a frozen domain included);
    /// `service.INVALID_REQUEST` when no such grant exists.
    pub async fn revoke_right(
        &self,
        target_type: &str,
        target: &str,
        grantee_type: &str,
        grantee: &str,
        right: &str,
        deny: bool,
    ) -> ServiceResult<()> {
        let ace = self.make_ace(grantee_type, grantee, right, deny).await?;
        let t = self.right_target(target_type, target).await?;
        self.check_grant_target_writable(&t).await?;
        let stored = t
            .attrs
            .get_all("zimbraACE")
            .iter()
            .find(|v| Ace::parse(v).as_ref() == Some(&ace))
            .cloned()
            .ok_or_else(|| ServiceError::invalid_request("no such grant"))?;
        self.dir
            .modify_entry(
                t.kind,
                t.id,
                &[AttrEdit::Remove("zimbraACE".into(), stored)],
            )
            .await?;
        Ok(())
    }

    /// The grants on a list or domain (`zmprov gg`-like listing).
    pub async fn grants(&self, target_type: &str, target: &str) -> ServiceResult<Vec<Ace>> {
        let t = self.right_target(target_type, target).await?;
        Ok(t.attrs
            .get_all("zimbraACE")
            .iter()
            .filter_map(|v| Ace::parse(v))
            .collect())
    }

    async fn right_target(&self, target_type: &str, target: &str) -> ServiceResult<Entry> {
        match target_type.to_ascii_lowercase().as_str() {
            "dl" | "group" => self.get_group(target).await,
            "domain" => self.get_domain(&EntryKey::parse(target)).await,
            other => Err(ServiceError::invalid_request(format!(
                "unsupported target type {other:?} (dl, group or domain)"
            ))),
        }
    }

    async fn make_ace(
        &self,
        ty: &str,
        grantee: &str,
        right: &str,
        deny: bool,
    ) -> ServiceResult<Ace> {
        let right = LIST_RIGHTS
            .iter()
            .find(|r| r.eq_ignore_ascii_case(right.trim_start_matches('-')))
            .ok_or_else(|| {
                ServiceError::invalid_request(format!(
                    "unsupported right {right:?} (ownDistList, sendToDistList, viewDistList)"
                ))
            })?;
        let ty = ty.to_ascii_lowercase();
        let grantee = match ty.as_str() {
            "usr" => self.get_account(grantee).await?.id.to_string(),
            "grp" => self.get_group(grantee).await?.id.to_string(),
            "dom" => self
                .get_domain(&EntryKey::parse(grantee))
                .await?
                .id
                .to_string(),
            "edom" => crate::names::normalize_domain(grantee)?,
            "gst" => crate::names::normalize_address(grantee)?,
            "all" => GUID_ALL.to_string(),
            "pub" => GUID_PUBLIC.to_string(),
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "unsupported grantee type {other:?}"
                )));
            }
        };
        Ok(Ace {
            grantee,
            grantee_type: ty,
            right: (*right).to_string(),
            deny,
        })
    }

    /// Adds an owner to a list: a `usr` grant of `ownDistList`.
    ///
    /// # Errors
    /// As [`Provisioning::grant_right`].
    pub async fn add_list_owner(&self, list: &str, owner: &str) -> ServiceResult<()> {
        self.grant_right("dl", list, "usr", owner, "ownDistList", false)
            .await
    }

    /// Removes an owner from a list.
    ///
    /// # Errors
    /// As [`Provisioning::revoke_right`].
    pub async fn remove_list_owner(&self, list: &str, owner: &str) -> ServiceResult<()> {
        self.revoke_right("dl", list, "usr", owner, "ownDistList", false)
            .await
    }

    /// The owners of a list, as account names (grants to deleted accounts are skipped).
    pub async fn list_owners(&self, list: &str) -> ServiceResult<Vec<String>> {
        let mut out = Vec::new();
        for ace in self.grants("dl", list).await? {
            if ace.right == "ownDistList"
                && ace.grantee_type == "usr"
                && !ace.deny
                && let Some(a) = self.find_account(&ace.grantee).await?
            {
                out.push(a.name);
            }
        }
        Ok(out)
    }

    /// Whether `requester` holds `right` on `list`, Zimbra's way: grants on the list
    /// win over grants on its domain; within one entry a matching deny beats a grant;
    /// when neither the list nor its domain grants `right` to anyone, everybody holds
    /// `sendToDistList` and `viewDistList` (and nobody `ownDistList`).
    ///
    /// Cost: a directory read per `grp` grant (its expansion) and per `dom` grant.
    pub async fn has_list_right(
        &self,
        list: &Entry,
        right: &str,
        requester: &Requester,
    ) -> ServiceResult<bool> {
        let domain = match list.domain() {
            Some(d) => {
                self.dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await?
            }
            None => None,
        };
        for holder in [Some(list), domain.as_ref()].into_iter().flatten() {
            let aces: Vec<Ace> = holder
                .attrs
                .get_all("zimbraACE")
                .iter()
                .filter_map(|v| Ace::parse(v))
                .filter(|a| a.right.eq_ignore_ascii_case(right))
                .collect();
            if aces.is_empty() {
                continue;
            }
            for deny in [true, false] {
                for ace in aces.iter().filter(|a| a.deny == deny) {
                    if self.ace_matches(ace, requester).await? {
                        return Ok(!deny);
                    }
                }
            }
            return Ok(false);
        }
        Ok(!right.eq_ignore_ascii_case("ownDistList"))
    }

    /// Whether `sender` may send to the list or group at `list_addr` (`sendToDistList`);
    /// `true` for an address that is not a list.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn can_send_to_list(
        &self,
        list_addr: &str,
        sender: &str,
        authenticated: bool,
    ) -> ServiceResult<bool> {
        let Some(list) = self.find_group(list_addr).await? else {
            return Ok(true);
        };
        let requester = Requester {
            address: sender.trim().to_lowercase(),
            account: self.find_account(sender).await?,
            authenticated,
        };
        self.has_list_right(&list, "sendToDistList", &requester)
            .await
    }

    async fn ace_matches(&self, ace: &Ace, r: &Requester) -> ServiceResult<bool> {
        let acct_id = r.account.as_ref().map(|a| a.id.to_string());
        Ok(match ace.grantee_type.as_str() {
            "pub" => true,
            "all" => r.account.is_some() && r.authenticated,
            "usr" => acct_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&ace.grantee)),
            "gst" => r.address.eq_ignore_ascii_case(&ace.grantee),
            "edom" => {
                split_address(&r.address).is_some_and(|(_, d)| d.eq_ignore_ascii_case(&ace.grantee))
            }
            "dom" => match (
                r.account.as_ref().and_then(|a| a.domain()),
                ace.grantee.parse::<ZimbraId>(),
            ) {
                (Some(d), Ok(id)) => self
                    .dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await?
                    .is_some_and(|dom| dom.id == id),
                _ => false,
            },
            "grp" => match self.find_group(&ace.grantee).await? {
                Some(g) if is_group(&g) => {
                    let mine: Vec<String> = match &r.account {
                        Some(a) => addresses_of(a),
                        None => vec![r.address.clone()],
                    };
                    let members = self.expand_list(&g.name).await?;
                    members
                        .iter()
                        .any(|m| mine.iter().any(|x| x.eq_ignore_ascii_case(m)))
                }
                _ => false,
            },
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ace_text_round_trips() {
        for t in [
            "0a1b2c3d-0000-0000-0000-000000000001 usr sendToDistList",
            "99999999-9999-9999-9999-999999999999 pub -viewDistList",
            "ext.test edom sendToDistList",
        ] {
            assert_eq!(Ace::parse(t).unwrap().format(), t);
        }
        assert!(Ace::parse("only two").is_none());
        assert!(Ace::parse("a b -c").unwrap().deny);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(s in ".{0,60}") {
            if let Some(a) = Ace::parse(&s) {
                proptest::prop_assert_eq!(Ace::parse(&a.format()), Some(a));
            }
        }
    }
}
