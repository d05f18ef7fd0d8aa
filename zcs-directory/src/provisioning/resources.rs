//! Calendar resources (`zmprov ccr`, `gcr`, ...): accounts of type Location or
//! Equipment that take meeting invitations. They are accounts in every other respect
//! (status, aliases, password, mailbox), so modify, rename and delete share the account
//! code; what differs is creation and lookup by kind.

use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use super::Provisioning;
use crate::directory::EntryKey;

/// The fault for a key that names no calendar resource.
fn no_such(key: &str) -> ServiceError {
    super::lists::zimbra_fault(
        "account.NO_SUCH_CALENDAR_RESOURCE",
        FaultCode::NoSuchAccount,
        format!("no such calendar resource: {}", key.trim()),
    )
}

impl Provisioning {
    /// Creates a calendar resource (`zmprov ccr`). `displayName` and `zimbraCalResType`
    /// (`Location` or `Equipment`) are required, as in Zimbra; scheduling policy
    /// attributes (`zimbraCalResAutoAcceptDecline`, `zimbraCalResAutoDeclineIfBusy`,
    /// `zimbraCalResAutoDeclineRecurring`, ...) take their registry defaults unless
    /// given. `password` may be `None` (nobody logs in as the resource).
    ///
    /// # Errors
    /// As [`Provisioning::create_account`]; `service.INVALID_REQUEST` when
    /// `displayName` or `zimbraCalResType` is missing; `account.INVALID_ATTR_VALUE` for a
    /// type other than Location or Equipment.
    pub async fn create_calendar_resource(
        &self,
        name: &str,
        password: Option<&str>,
        attrs: Attrs,
    ) -> ServiceResult<Entry> {
        if attrs.get("displayName").is_none_or(|d| d.trim().is_empty()) {
            return Err(ServiceError::invalid_request(
                "a calendar resource needs a displayName",
            ));
        }
        if attrs.get("zimbraCalResType").is_none() {
            return Err(ServiceError::invalid_request(
                "a calendar resource needs zimbraCalResType (Location or Equipment)",
            ));
        }
        let classes = vec![
            "inetOrgPerson".into(),
            "zimbraAccount".into(),
            "amavisAccount".into(),
            "zimbraCalendarResource".into(),
        ];
        self.create_account_entry(EntryKind::CalendarResource, name, password, attrs, classes)
            .await
    }

    /// The calendar resource with that name, alias or id.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT` with `NO_SUCH_CALENDAR_RESOURCE` leading the message
    /// (also for a key naming an ordinary account).
    pub async fn get_calendar_resource(&self, key: &str) -> ServiceResult<Entry> {
        match self.find_account(key).await? {
            Some(e) if e.kind == EntryKind::CalendarResource => Ok(e),
            _ => Err(no_such(key)),
        }
    }

    /// Every calendar resource, by name; with `domain`, only that domain's (`gacr`).
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`.
    pub async fn all_calendar_resources(&self, domain: Option<&str>) -> ServiceResult<Vec<Entry>> {
        let domain = match domain {
            Some(d) => Some(self.get_domain(&EntryKey::Name(d.into())).await?.name),
            None => None,
        };
        self.dir
            .list_entries(EntryKind::CalendarResource, domain.as_deref())
            .await
    }

    /// Modifies a calendar resource (`mcr`): [`Provisioning::modify_account`] once the
    /// key is known to name a resource.
    ///
    /// # Errors
    /// `NO_SUCH_CALENDAR_RESOURCE` as in [`Provisioning::get_calendar_resource`]; as
    /// [`Provisioning::modify_account`].
    pub async fn modify_calendar_resource(
        &self,
        key: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        let r = self.get_calendar_resource(key).await?;
        self.modify_account(&r.id.to_string(), edits).await
    }

    /// Renames a calendar resource (`rcr`), keeping its id.
    ///
    /// # Errors
    /// As [`Provisioning::rename_account`].
    pub async fn rename_calendar_resource(
        &self,
        key: &str,
        new_name: &str,
    ) -> ServiceResult<Entry> {
        let r = self.get_calendar_resource(key).await?;
        self.rename_account(&r.id.to_string(), new_name).await
    }

    /// Deletes a calendar resource (`dcr`) and returns it (its mailbox is the caller's).
    ///
    /// # Errors
    /// `NO_SUCH_CALENDAR_RESOURCE`.
    pub async fn delete_calendar_resource(&self, key: &str) -> ServiceResult<Entry> {
        let r = self.get_calendar_resource(key).await?;
        self.delete_account(&r.id.to_string()).await
    }
}
