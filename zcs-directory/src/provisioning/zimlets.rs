//! Zimlet entries: the directory side of Zimbra's web-client extensions (CreateZimlet,
//! GetZimlet, ModifyZimlet, DeleteZimlet / UndeployZimlet), and which classes of service
//! offer each one (`zimbraZimletAvailableZimlets`, values `+name` offered, `!name`
//! mandatory, `-name` refused).
//!
//! Not in charge of the zimlet packages themselves (deploying a zip is the web server's
//! business).

use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

use super::Provisioning;
use super::lists::zimbra_fault;
use crate::directory::EntryKey;
use crate::validate::{check_attrs, check_edits, generalized_time_now};

/// The COS attribute listing the zimlets a class of service offers.
pub const AVAILABLE_ZIMLETS: &str = "zimbraZimletAvailableZimlets";

fn no_such_zimlet(name: &str) -> ServiceError {
    zimbra_fault(
        "account.NO_SUCH_ZIMLET",
        FaultCode::NoSuchItem,
        format!("no such zimlet: {name}"),
    )
}

/// Whether the `zimbraZimletAvailableZimlets` value `v` names `zimlet` (with or without
/// its `+`, `-` or `!` mark).
fn names_zimlet(v: &str, zimlet: &str) -> bool {
    v.trim_start_matches(['+', '-', '!'])
        .eq_ignore_ascii_case(zimlet)
}

/// Whether a COS's `zimbraZimletAvailableZimlets` values offer `zimlet`.
pub fn cos_offers(values: &[String], zimlet: &str) -> bool {
    values
        .iter()
        .any(|v| names_zimlet(v, zimlet) && !v.starts_with('-'))
}

impl Provisioning {
    /// Creates a zimlet entry named `name` (`cn`), with `zimbraZimletEnabled FALSE`
    /// unless given.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for an empty name or one holding `/` or `,`;
    /// `account.ZIMLET_EXISTS`; invalid attribute faults.
    pub async fn create_zimlet(&self, name: &str, attrs: Attrs) -> ServiceResult<Entry> {
        let name = name.trim();
        if name.is_empty() || name.contains(['/', ',']) {
            return Err(ServiceError::invalid_request(format!(
                "invalid zimlet name: {name:?}"
            )));
        }
        let mut attrs = check_attrs(EntryKind::Zimlet, &attrs)?;
        attrs.set("objectClass", vec!["zimbraZimletEntry".into()]);
        attrs.set_one("cn", name);
        if !attrs.contains("zimbraZimletEnabled") {
            attrs.set_one("zimbraZimletEnabled", "FALSE");
        }
        attrs.set_one("zimbraCreateTimestamp", generalized_time_now());
        if self.find_zimlet(name).await?.is_some() {
            return Err(zimbra_fault(
                "account.ZIMLET_EXISTS",
                FaultCode::AlreadyExists,
                format!("zimlet {name} already exists"),
            ));
        }
        let e = self
            .dir
            .create_entry(EntryKind::Zimlet, name, attrs)
            .await?;
        tracing::info!(zimlet = %name, "zimlet created");
        Ok(e)
    }

    /// The zimlet named `name` (any case), if there is one.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn find_zimlet(&self, name: &str) -> ServiceResult<Option<Entry>> {
        self.dir
            .get_entry(EntryKind::Zimlet, &EntryKey::Name(name.trim().to_string()))
            .await
    }

    /// The zimlet named `name`.
    ///
    /// # Errors
    /// `account.NO_SUCH_ZIMLET`.
    pub async fn get_zimlet(&self, name: &str) -> ServiceResult<Entry> {
        self.find_zimlet(name)
            .await?
            .ok_or_else(|| no_such_zimlet(name))
    }

    /// Every zimlet, by name.
    pub async fn all_zimlets(&self) -> ServiceResult<Vec<Entry>> {
        self.dir.list_entries(EntryKind::Zimlet, None).await
    }

    /// Validates and applies `edits` to a zimlet.
    ///
    /// # Errors
    /// `account.NO_SUCH_ZIMLET`; invalid attribute faults.
    pub async fn modify_zimlet(&self, name: &str, edits: &[AttrEdit]) -> ServiceResult<Entry> {
        let z = self.get_zimlet(name).await?;
        let edits = check_edits(EntryKind::Zimlet, &z.attrs, edits)?;
        self.dir.modify_entry(EntryKind::Zimlet, z.id, &edits).await
    }

    /// Offers (`allow`) or refuses the zimlet `name` in the COS `cos`: its
    /// `zimbraZimletAvailableZimlets` gets `+name` or `-name` instead of any mark it had.
    ///
    /// # Errors
    /// `account.NO_SUCH_ZIMLET`; `account.NO_SUCH_COS`.
    pub async fn set_cos_zimlet(&self, cos: &str, name: &str, allow: bool) -> ServiceResult<()> {
        let z = self.get_zimlet(name).await?;
        let c = self.get_cos(&EntryKey::parse(cos)).await?;
        let mut values: Vec<String> = c
            .attrs
            .get_all(AVAILABLE_ZIMLETS)
            .iter()
            .filter(|v| !names_zimlet(v, &z.name))
            .cloned()
            .collect();
        values.push(format!("{}{}", if allow { '+' } else { '-' }, z.name));
        let edit = [AttrEdit::Replace(AVAILABLE_ZIMLETS.into(), values)];
        self.modify_cos(&EntryKey::Id(c.id), &edit).await?;
        Ok(())
    }

    /// Deletes the zimlet `name` and takes it out of every COS's list.
    ///
    /// # Errors
    /// `account.NO_SUCH_ZIMLET`.
    pub async fn delete_zimlet(&self, name: &str) -> ServiceResult<()> {
        let z = self.get_zimlet(name).await?;
        for c in self.all_cos().await? {
            let values = c.attrs.get_all(AVAILABLE_ZIMLETS);
            if values.iter().any(|v| names_zimlet(v, &z.name)) {
                let kept: Vec<String> = values
                    .iter()
                    .filter(|v| !names_zimlet(v, &z.name))
                    .cloned()
                    .collect();
                let edit = [AttrEdit::Replace(AVAILABLE_ZIMLETS.into(), kept)];
                self.modify_cos(&EntryKey::Id(c.id), &edit).await?;
            }
        }
        self.dir.delete_entry(EntryKind::Zimlet, z.id).await?;
        tracing::info!(zimlet = %z.name, "zimlet deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_lists_name_zimlets_with_marks() {
        let v: Vec<String> = ["+com_a", "!com_b", "-com_c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(cos_offers(&v, "COM_A"));
        assert!(cos_offers(&v, "com_b"));
        assert!(!cos_offers(&v, "com_c"));
        assert!(!cos_offers(&v, "com_d"));
    }
}
