//! What a user (not an administrator) may do with distribution lists: subscribe and
//! unsubscribe under the list's policies (`zimbraDistributionListSubscriptionPolicy`,
//! `zimbraDistributionListUnsubscriptionPolicy`: ACCEPT, REJECT, APPROVAL; spec 03
//! §1.10), who owns a list, which lists a user owns, who may create a list in a domain,
//! and which members a user may see (spec 03 §1.11).
//!
//! Not in charge of mailing an approval request to the owners (the server does that with
//! the owners this module names), nor of the protocol.

use zcs_core::{AttrEdit, Entry, EntryKind, ServiceError, ServiceResult};

use super::Provisioning;
use super::acl::{Ace, GUID_ALL, Requester};
use super::lists::{A_MEMBERS, addresses_of, is_group};
use crate::directory::EntryKey;

/// A list's policy for joining or leaving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionPolicy {
    /// Anyone who asks is added (or removed) at once.
    Accept,
    /// Nobody may join (or leave) by asking.
    Reject,
    /// The owners are asked; the change waits for one of them.
    Approval,
}

impl SubscriptionPolicy {
    /// Parses `ACCEPT`, `REJECT`, `APPROVAL` (any case).
    pub fn parse(v: &str) -> Option<SubscriptionPolicy> {
        match v.trim().to_ascii_uppercase().as_str() {
            "ACCEPT" => Some(SubscriptionPolicy::Accept),
            "REJECT" => Some(SubscriptionPolicy::Reject),
            "APPROVAL" => Some(SubscriptionPolicy::Approval),
            _ => None,
        }
    }
}

/// Joining or leaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeOp {
    /// `op="subscribe"`.
    Subscribe,
    /// `op="unsubscribe"`.
    Unsubscribe,
}

impl SubscribeOp {
    /// Parses `subscribe` / `unsubscribe` (any case).
    pub fn parse(v: &str) -> Option<SubscribeOp> {
        match v.trim().to_ascii_lowercase().as_str() {
            "subscribe" => Some(SubscribeOp::Subscribe),
            "unsubscribe" => Some(SubscribeOp::Unsubscribe),
            _ => None,
        }
    }

    /// The policy attribute that governs this operation.
    pub fn policy_attr(self) -> &'static str {
        match self {
            SubscribeOp::Subscribe => "zimbraDistributionListSubscriptionPolicy",
            SubscribeOp::Unsubscribe => "zimbraDistributionListUnsubscriptionPolicy",
        }
    }

    /// `subscribe` or `unsubscribe`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscribeOp::Subscribe => "subscribe",
            SubscribeOp::Unsubscribe => "unsubscribe",
        }
    }
}

/// Where a subscription request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeStatus {
    /// The requester is a member now.
    Subscribed,
    /// The requester is not a member now.
    Unsubscribed,
    /// The owners (account names given) must approve.
    AwaitingApproval(Vec<String>),
}

impl SubscribeStatus {
    /// `subscribed`, `unsubscribed`, `awaiting_approval` as the SOAP response says.
    pub fn as_str(&self) -> &'static str {
        match self {
            SubscribeStatus::Subscribed => "subscribed",
            SubscribeStatus::Unsubscribed => "unsubscribed",
            SubscribeStatus::AwaitingApproval(_) => "awaiting_approval",
        }
    }
}

/// Whether `e` has `name` set to TRUE.
fn is_true(e: &Entry, name: &str) -> bool {
    e.attrs
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The policy `list` applies to `op`; REJECT when unset, so a list nobody configured is
/// not open to anyone.
pub fn list_policy(list: &Entry, op: SubscribeOp) -> SubscriptionPolicy {
    list.attrs
        .get(op.policy_attr())
        .and_then(SubscriptionPolicy::parse)
        .unwrap_or(SubscriptionPolicy::Reject)
}

/// Whether `account` is stored as a direct member of the static `list` (by its name or
/// an alias).
pub fn is_direct_member(list: &Entry, account: &Entry) -> bool {
    let mine = addresses_of(account);
    list.attrs
        .get_all(A_MEMBERS)
        .iter()
        .any(|m| mine.iter().any(|a| a.eq_ignore_ascii_case(m)))
}

/// Whether `account` is a global administrator or an administrator of `domain`
/// (`zimbraIsDelegatedAdminAccount` in that domain, or the older
/// `zimbraIsDomainAdminAccount`).
pub fn is_admin_of(account: &Entry, domain: &str) -> bool {
    if is_true(account, "zimbraIsAdminAccount") {
        return true;
    }
    let in_domain = account
        .domain()
        .is_some_and(|d| d.eq_ignore_ascii_case(domain));
    in_domain
        && (is_true(account, "zimbraIsDelegatedAdminAccount")
            || is_true(account, "zimbraIsDomainAdminAccount"))
}

impl Provisioning {
    /// Whether `account` owns `list` (`ownDistList` granted to it, to a group it is in,
    /// to its domain or to all users, on the list or its domain).
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn is_list_owner(&self, list: &Entry, account: &Entry) -> ServiceResult<bool> {
        let requester = Requester {
            address: account.name.to_lowercase(),
            account: Some(account.clone()),
            authenticated: true,
        };
        self.has_list_right(list, "ownDistList", &requester).await
    }

    /// The lists and groups `account` owns, by name.
    ///
    /// Cost: reads every list and group.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn lists_owned_by(&self, account: &Entry) -> ServiceResult<Vec<Entry>> {
        let mut out = Vec::new();
        for g in self.all_groups(None).await? {
            if self.is_list_owner(&g, account).await? {
                out.push(g);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Joins or leaves `list_key` for `account` under the list's policy:
    /// already in (or already out) answers `Subscribed` (`Unsubscribed`) without a
    /// change; ACCEPT adds (removes) the account at once; APPROVAL changes nothing and
    /// names the owners to ask; REJECT refuses.
    ///
    /// A list whose domain is `suspended` or `shutdown` refuses every request, whatever
    /// its policy and whether or not anything would change: lists in a frozen domain
    /// cannot be modified (admin guide, "Suspended"), and an APPROVAL request could
    /// never be carried out. (The subscriber's own domain needs no check: a user of a
    /// frozen domain cannot log in to ask.)
    ///
    /// # Errors
    /// `account.NO_SUCH_DISTRIBUTION_LIST`; `service.PERM_DENIED` for a frozen domain,
    /// for REJECT, for a dynamic group, and for APPROVAL on a list without owners.
    pub async fn subscribe_to_list(
        &self,
        list_key: &str,
        account: &Entry,
        op: SubscribeOp,
    ) -> ServiceResult<SubscribeStatus> {
        let list = self.get_group(list_key).await?;
        self.check_addresses_writable(&[&list.name]).await?;
        if list.kind == EntryKind::DynamicGroup {
            return Err(ServiceError::perm_denied(
                "members of a dynamic group are chosen by its memberURL",
            ));
        }
        let member = is_direct_member(&list, account);
        match (op, member) {
            (SubscribeOp::Subscribe, true) => return Ok(SubscribeStatus::Subscribed),
            (SubscribeOp::Unsubscribe, false) => return Ok(SubscribeStatus::Unsubscribed),
            _ => {}
        }
        match list_policy(&list, op) {
            SubscriptionPolicy::Reject => Err(ServiceError::perm_denied(format!(
                "{} is not allowed for {}",
                op.as_str(),
                list.name
            ))),
            SubscriptionPolicy::Accept => {
                match op {
                    SubscribeOp::Subscribe => {
                        self.add_group_members(&list.name, std::slice::from_ref(&account.name))
                            .await?;
                    }
                    SubscribeOp::Unsubscribe => self.unsubscribe_all(&list, account).await?,
                }
                tracing::info!(list = %list.name, account = %account.name, op = op.as_str(),
                    "distribution list subscription changed");
                Ok(match op {
                    SubscribeOp::Subscribe => SubscribeStatus::Subscribed,
                    SubscribeOp::Unsubscribe => SubscribeStatus::Unsubscribed,
                })
            }
            SubscriptionPolicy::Approval => {
                let owners = self.list_owners(&list.name).await?;
                if owners.is_empty() {
                    return Err(ServiceError::perm_denied(format!(
                        "{} has no owner to approve the request",
                        list.name
                    )));
                }
                tracing::info!(list = %list.name, account = %account.name, op = op.as_str(),
                    "distribution list subscription awaits an owner");
                Ok(SubscribeStatus::AwaitingApproval(owners))
            }
        }
    }

    /// Removes every address of `account` from the static `list`.
    async fn unsubscribe_all(&self, list: &Entry, account: &Entry) -> ServiceResult<()> {
        let mine = addresses_of(account);
        let edits: Vec<AttrEdit> = list
            .attrs
            .get_all(A_MEMBERS)
            .iter()
            .filter(|m| mine.iter().any(|a| a.eq_ignore_ascii_case(m)))
            .map(|m| AttrEdit::Remove(A_MEMBERS.into(), m.clone()))
            .collect();
        if !edits.is_empty() {
            self.dir.modify_entry(list.kind, list.id, &edits).await?;
        }
        Ok(())
    }

    /// Whether `account` may create a list in `domain` from the user API: an
    /// administrator of the domain, or a holder of `createDistList` granted on the domain
    /// entry (`usr` to it, `dom` to its domain, or `all`; a deny wins).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.FAILURE` when the directory fails.
    // LIMITATION: the grant is read straight from the domain's zimbraACE until the rights
    // engine answers `createDistList` (grants on the global config are not seen).
    pub async fn may_create_list(&self, account: &Entry, domain: &str) -> ServiceResult<bool> {
        let dom = self.get_domain(&EntryKey::Name(domain.to_string())).await?;
        if is_admin_of(account, &dom.name) {
            return Ok(true);
        }
        let own_domain = match account.domain() {
            Some(d) => {
                self.dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.into()))
                    .await?
            }
            None => None,
        };
        let id = account.id.to_string();
        let matches = |ace: &Ace| match ace.grantee_type.as_str() {
            "usr" => ace.grantee.eq_ignore_ascii_case(&id),
            "all" => ace.grantee == GUID_ALL || ace.grantee.is_empty(),
            "dom" => own_domain
                .as_ref()
                .is_some_and(|d| d.id.to_string().eq_ignore_ascii_case(&ace.grantee)),
            _ => false,
        };
        let aces: Vec<Ace> = dom
            .attrs
            .get_all("zimbraACE")
            .iter()
            .filter_map(|v| Ace::parse(v))
            .filter(|a| a.right.eq_ignore_ascii_case("createDistList") && matches(a))
            .collect();
        Ok(!aces.iter().any(|a| a.deny) && aces.iter().any(|a| !a.deny))
    }

    /// The members of `list` that `viewer` may see: everything for an owner (or
    /// administrator of the list's domain); otherwise the list must grant `viewDistList`
    /// (granted to all by default) and not be hidden from the GAL (`zimbraHideInGal`),
    /// and members that are accounts or lists hidden from the GAL are left out.
    ///
    /// # Errors
    /// `service.PERM_DENIED` when the viewer may not see the members;
    /// `service.FAILURE` when the directory fails.
    pub async fn visible_list_members(
        &self,
        list: &Entry,
        viewer: &Entry,
    ) -> ServiceResult<Vec<String>> {
        let members = self.group_members(list).await?;
        let domain = list.domain().unwrap_or_default();
        if is_admin_of(viewer, domain) || self.is_list_owner(list, viewer).await? {
            return Ok(members);
        }
        let requester = Requester {
            address: viewer.name.to_lowercase(),
            account: Some(viewer.clone()),
            authenticated: true,
        };
        if is_true(list, "zimbraHideInGal")
            || !self
                .has_list_right(list, "viewDistList", &requester)
                .await?
        {
            return Err(ServiceError::perm_denied(format!(
                "cannot view the members of {}",
                list.name
            )));
        }
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            let hidden = match self.dir.find_by_address(&m).await? {
                Some(e) if e.kind == EntryKind::Account || is_group(&e) => {
                    is_true(&e, "zimbraHideInGal")
                }
                Some(e) if e.kind == EntryKind::CalendarResource => is_true(&e, "zimbraHideInGal"),
                _ => false,
            };
            if !hidden {
                out.push(m);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, ZimbraId};

    fn entry(kind: EntryKind, name: &str, attrs: &[(&str, &str)]) -> Entry {
        let mut a = Attrs::new();
        for (n, v) in attrs {
            a.add(n, *v);
        }
        Entry {
            id: ZimbraId::new(),
            kind,
            name: name.into(),
            attrs: a,
        }
    }

    #[test]
    fn policies_default_to_reject() {
        let l = entry(
            EntryKind::DistributionList,
            "l@x.test",
            &[("zimbraDistributionListSubscriptionPolicy", "accept")],
        );
        assert_eq!(
            list_policy(&l, SubscribeOp::Subscribe),
            SubscriptionPolicy::Accept
        );
        assert_eq!(
            list_policy(&l, SubscribeOp::Unsubscribe),
            SubscriptionPolicy::Reject
        );
        assert_eq!(
            SubscribeOp::parse("Unsubscribe"),
            Some(SubscribeOp::Unsubscribe)
        );
        assert_eq!(SubscribeOp::parse("join"), None);
        assert_eq!(
            SubscribeStatus::AwaitingApproval(vec![]).as_str(),
            "awaiting_approval"
        );
    }

    #[test]
    fn membership_and_admins() {
        let a = entry(
            EntryKind::Account,
            "u@x.test",
            &[("zimbraMailAlias", "alias@x.test")],
        );
        let l = entry(
            EntryKind::DistributionList,
            "l@x.test",
            &[(A_MEMBERS, "ALIAS@x.test")],
        );
        assert!(is_direct_member(&l, &a));
        assert!(!is_admin_of(&a, "x.test"));
        let da = entry(
            EntryKind::Account,
            "da@x.test",
            &[("zimbraIsDelegatedAdminAccount", "TRUE")],
        );
        assert!(is_admin_of(&da, "X.test"));
        assert!(!is_admin_of(&da, "y.test"));
    }
}
