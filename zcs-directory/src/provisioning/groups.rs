//! Dynamic groups (`zmprov cddl`, `cdl -d`): lists whose members are the accounts their
//! `memberURL` selects at the time of asking.
//!
//! Zimbra's rules: a group created without `memberURL` is an ACL group
//! (`zimbraIsACLGroup TRUE`) whose URL is generated to select the accounts carrying the
//! group's id in `zimbraMemberOf`, and members join it through `adlm`; a group with a
//! custom `memberURL` must have `zimbraIsACLGroup FALSE`, and its members cannot be
//! edited. `zimbraIsACLGroup` cannot change after creation, and an ACL group's
//! `memberURL` cannot be edited.

use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use super::Provisioning;
use super::lists::A_MEMBERS;
use super::member_url::parse_member_url;

/// The account attribute holding the ids of the ACL groups it belongs to.
const A_MEMBER_OF: &str = "zimbraMemberOf";

/// The URL an ACL group gets: accounts whose `zimbraMemberOf` holds the group's id.
fn acl_group_url(id: ZimbraId) -> String {
    format!("ldap:///??sub?(|(zimbraMemberOf={id})(zimbraId={id}))")
}

fn is_acl_group(g: &Entry) -> bool {
    g.attrs
        .get("zimbraIsACLGroup")
        .is_none_or(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// Refuses the edits Zimbra refuses on a dynamic group.
pub(super) fn check_dynamic_edits(g: &Entry, edits: &[AttrEdit]) -> ServiceResult<()> {
    for e in edits {
        let n = e.name();
        if n.eq_ignore_ascii_case("zimbraIsACLGroup") {
            return Err(ServiceError::invalid_request(
                "zimbraIsACLGroup can not be changed after the group is created",
            ));
        }
        if n.eq_ignore_ascii_case("memberURL") {
            if is_acl_group(g) {
                return Err(ServiceError::invalid_request(
                    "memberURL of a group with zimbraIsACLGroup TRUE can not be changed",
                ));
            }
            match e {
                AttrEdit::Replace(_, vs) => {
                    if let Some(url) = vs.first() {
                        parse_member_url(url)?;
                    }
                }
                AttrEdit::Add(_, url) => {
                    parse_member_url(url)?;
                }
                AttrEdit::Remove(..) => {}
            }
        }
        if n.eq_ignore_ascii_case(A_MEMBERS) {
            return Err(ServiceError::invalid_request(
                "a dynamic group has no stored members",
            ));
        }
    }
    Ok(())
}

impl Provisioning {
    /// Creates a dynamic group (`zmprov cddl`, `cdl -d`).
    ///
    /// With `memberURL`: the URL must parse (see `member_url`), and `zimbraIsACLGroup`
    /// is set FALSE (TRUE is refused). Without: `zimbraIsACLGroup` is TRUE (FALSE is
    /// refused) and the URL is generated from the new id.
    ///
    /// # Errors
    /// As [`Provisioning::create_distribution_list`]; `service.INVALID_REQUEST` for the
    /// `zimbraIsACLGroup` cases above; `account.INVALID_ATTR_VALUE` for a bad URL.
    pub async fn create_dynamic_group(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        let mut attrs = attrs;
        let acl = attrs
            .get("zimbraIsACLGroup")
            .map(|v| v.eq_ignore_ascii_case("TRUE"));
        match attrs.get("memberURL").map(str::to_string) {
            Some(url) => {
                if acl == Some(true) {
                    return Err(ServiceError::invalid_request(
                        "a group with a custom memberURL must have zimbraIsACLGroup FALSE",
                    ));
                }
                parse_member_url(&url)?;
                attrs.set_one("zimbraIsACLGroup", "FALSE");
            }
            None => {
                if acl == Some(false) {
                    return Err(ServiceError::invalid_request(
                        "zimbraIsACLGroup FALSE needs a memberURL",
                    ));
                }
                attrs.set_one("zimbraIsACLGroup", "TRUE");
            }
        }
        if attrs.contains(A_MEMBERS) {
            return Err(ServiceError::invalid_request(
                "a dynamic group has no stored members",
            ));
        }
        attrs.set(
            "objectClass",
            vec!["groupOfURLs".into(), "zimbraGroup".into()],
        );
        let e = self
            .create_group_entry(EntryKind::DynamicGroup, name, attrs)
            .await?;
        if e.attrs.get("memberURL").is_none() {
            let edits = [
                AttrEdit::Replace("memberURL".into(), vec![acl_group_url(e.id)]),
                AttrEdit::Replace("zimbraGroupId".into(), vec![e.id.to_string()]),
            ];
            return self.dir.modify_entry(e.kind, e.id, &edits).await;
        }
        Ok(e)
    }

    /// The accounts and calendar resources the group's `memberURL` selects now, by
    /// name, active or not (the MTA applies delivery status).
    ///
    /// Cost: reads every account and calendar resource (of one domain when the URL's
    /// base names one).
    // LIMITATION: evaluated by scanning entries; an indexed search in the Directory seam
    // would make large directories cheaper.
    pub(crate) async fn dynamic_members(&self, g: &Entry) -> ServiceResult<Vec<String>> {
        let Some(url) = g.attrs.get("memberURL") else {
            return Ok(Vec::new());
        };
        let Ok(url) = parse_member_url(url) else {
            tracing::warn!(list = %g.name, "dynamic group has an unparsable memberURL");
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for kind in [EntryKind::Account, EntryKind::CalendarResource] {
            for e in self.dir.list_entries(kind, url.domain.as_deref()).await? {
                if url.filter.matches(&e) {
                    out.push(e.name.clone());
                }
            }
        }
        Ok(out)
    }

    /// Whether the group's `memberURL` selects `account`.
    pub(crate) async fn dynamic_contains(&self, g: &Entry, account: &Entry) -> ServiceResult<bool> {
        let Some(url) = g
            .attrs
            .get("memberURL")
            .and_then(|u| parse_member_url(u).ok())
        else {
            return Ok(false);
        };
        let in_domain = url.domain.as_ref().is_none_or(|d| {
            account
                .domain()
                .is_some_and(|ad| ad.eq_ignore_ascii_case(d))
        });
        Ok(in_domain && url.filter.matches(account))
    }

    /// `adlm` on a dynamic group: only ACL groups take members, each an internal account.
    pub(super) async fn add_acl_group_members(
        &self,
        g: &Entry,
        members: &[String],
    ) -> ServiceResult<()> {
        if !is_acl_group(g) {
            return Err(ServiceError::invalid_request(
                "members of a dynamic group with a custom memberURL come from its URL",
            ));
        }
        for m in members {
            let acct = self.get_account(m).await?;
            let edits = [AttrEdit::Add(A_MEMBER_OF.into(), g.id.to_string())];
            self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        }
        Ok(())
    }

    /// `rdlm` on a dynamic ACL group.
    pub(super) async fn remove_acl_group_members(
        &self,
        g: &Entry,
        members: &[String],
    ) -> ServiceResult<()> {
        if !is_acl_group(g) {
            return Err(ServiceError::invalid_request(
                "members of a dynamic group with a custom memberURL come from its URL",
            ));
        }
        let gid = g.id.to_string();
        for m in members {
            let acct = self.get_account(m).await?;
            if acct
                .attrs
                .get_all(A_MEMBER_OF)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&gid))
            {
                let edits = [AttrEdit::Remove(A_MEMBER_OF.into(), gid.clone())];
                self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
            }
        }
        Ok(())
    }

    /// Drops a deleted ACL group's id from its members' `zimbraMemberOf`.
    pub(super) async fn forget_acl_group(&self, g: &Entry) -> ServiceResult<()> {
        let gid = g.id.to_string();
        for kind in [EntryKind::Account, EntryKind::CalendarResource] {
            for a in self.dir.list_entries(kind, None).await? {
                if a.attrs.get_all(A_MEMBER_OF).contains(&gid) {
                    let edits = [AttrEdit::Remove(A_MEMBER_OF.into(), gid.clone())];
                    self.dir.modify_entry(a.kind, a.id, &edits).await?;
                }
            }
        }
        Ok(())
    }
}
