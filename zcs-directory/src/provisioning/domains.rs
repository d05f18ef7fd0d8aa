//! `renameDomain` (`zmprov -l rd`): the domain and every address in it take the new
//! name; every id stays, so mailboxes, COS references and alias domains pointing at it
//! keep working.

use zcs_core::{AttrEdit, Entry, EntryKind, ServiceError, ServiceResult};

use super::Provisioning;
use super::lists::A_MEMBERS;
use crate::directory::{A_MAIL_ALIAS, EntryKey};
use crate::names::{normalize_domain, split_address};

/// `addr` moved from `old` to `new` when its domain is `old`; `None` otherwise.
fn moved(addr: &str, old: &str, new: &str) -> Option<String> {
    let (local, d) = split_address(addr)?;
    d.eq_ignore_ascii_case(old)
        .then(|| format!("{}@{new}", local.to_lowercase()))
}

/// Every value of `name` with addresses in `old` moved; `None` when none moved.
fn moved_values(e: &Entry, name: &str, old: &str, new: &str) -> Option<Vec<String>> {
    let values = e.attrs.get_all(name);
    let out: Vec<String> = values
        .iter()
        .map(|v| moved(v, old, new).unwrap_or_else(|| v.clone()))
        .collect();
    (out.as_slice() != values).then_some(out)
}

impl Provisioning {
    /// Renames a domain: the domain entry (`zimbraDomainName`, `dc`) and, for every
    /// account, calendar resource, list and group, its name, `mail`, `uid`-bearing
    /// addresses, `zimbraMailDeliveryAddress`, aliases, list members and catch-all
    /// addresses in the old domain. Ids are kept.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `account.DOMAIN_EXISTS` when the new name is taken;
    /// `service.INVALID_REQUEST` for a malformed name; a conflict on an individual
    /// address stops the rename where it is.
    // LIMITATION: not atomic across entries; a failure midway leaves some entries
    // renamed (Zimbra records progress in zimbraDomainRenameInfo and resumes; here the
    // command can be rerun with the same arguments to finish, since renamed entries are
    // skipped).
    pub async fn rename_domain(&self, key: &EntryKey, new_name: &str) -> ServiceResult<Entry> {
        let new = normalize_domain(new_name)?;
        let d = self.get_domain(key).await?;
        let old = d.name.clone();
        if old == new {
            return Ok(d);
        }
        let first_label = new.split('.').next().unwrap_or(&new).to_string();
        let edits = [
            AttrEdit::Replace("zimbraDomainName".into(), vec![new.clone()]),
            AttrEdit::Replace("dc".into(), vec![first_label]),
        ];
        let renamed = self
            .dir
            .rename_and_modify(EntryKind::Domain, d.id, &new, &edits)
            .await?;

        for kind in [
            EntryKind::Account,
            EntryKind::CalendarResource,
            EntryKind::DistributionList,
            EntryKind::DynamicGroup,
        ] {
            for e in self.dir.list_entries(kind, None).await? {
                self.move_entry_addresses(&e, &old, &new).await?;
            }
        }
        tracing::info!(domain = %old, new_name = %new, id = %d.id, "domain renamed");
        Ok(renamed)
    }

    /// Moves one entry's addresses from `old` to `new`.
    async fn move_entry_addresses(&self, e: &Entry, old: &str, new: &str) -> ServiceResult<()> {
        let mut edits = Vec::new();
        for a in [
            "mail",
            "zimbraMailDeliveryAddress",
            A_MAIL_ALIAS,
            A_MEMBERS,
            "zimbraMailCanonicalAddress",
        ] {
            if let Some(v) = moved_values(e, a, old, new) {
                edits.push(AttrEdit::Replace(a.into(), v));
            }
        }
        let catch_all: Vec<String> = e.attrs.get_all("zimbraMailCatchAllAddress").to_vec();
        let wanted = format!("@{old}");
        if catch_all.iter().any(|c| c.eq_ignore_ascii_case(&wanted)) {
            let v = catch_all
                .iter()
                .map(|c| {
                    if c.eq_ignore_ascii_case(&wanted) {
                        format!("@{new}")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            edits.push(AttrEdit::Replace("zimbraMailCatchAllAddress".into(), v));
        }
        let result = match moved(&e.name, old, new) {
            Some(name) => {
                let r = self
                    .dir
                    .rename_and_modify(e.kind, e.id, &name, &edits)
                    .await;
                let is_account = matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource);
                if r.is_ok() && is_account {
                    self.rename_children(&e.name, &name).await?;
                }
                r
            }
            None if !edits.is_empty() => self.dir.modify_entry(e.kind, e.id, &edits).await,
            None => return Ok(()),
        };
        result.map(|_| ()).map_err(|err| {
            ServiceError::new(err.code, format!("renaming {}: {}", e.name, err.message))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_move_only_from_the_old_domain() {
        assert_eq!(
            moved("Joe@Old.test", "old.test", "new.test").as_deref(),
            Some("joe@new.test")
        );
        assert_eq!(moved("joe@sub.old.test", "old.test", "new.test"), None);
        assert_eq!(moved("nodomain", "old.test", "new.test"), None);
    }
}
