//! Which folders of other mailboxes carry a grant naming an account: the folders an
//! IMAP client lists under "Other Users" (RFC 2342) and SOAP's share discovery. The
//! store only finds candidate grants; the rights an accessor ends up with are still
//! decided per folder by `Mailbox::effective_rights_for` (inheritance, most specific
//! grantee first).

use zcs_core::{ItemId, ZimbraId};

use crate::acl::GranteeType;
use crate::error::{DbContext, StoreError};
use crate::store::Store;

impl Store {
    /// The `(owner account, folder)` pairs, across every mailbox but `account`'s own,
    /// whose folder has a grant to `account` itself (`usr`), to its `domain` (`dom`,
    /// compared without case) or to every authenticated account (`all`), in owner
    /// then folder order. Group grants are not found here (the store does not know
    /// group membership).
    ///
    /// # Errors
    /// A database failure; `store.CORRUPT` for an unparsable owner id.
    pub async fn folders_shared_with(
        &self,
        account: ZimbraId,
        domain: Option<&str>,
    ) -> Result<Vec<(ZimbraId, ItemId)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.account_id, a.folder_id FROM acl a JOIN mailbox m ON m.id = a.mailbox_id
             WHERE m.account_id <> ?
               AND ((a.grantee_type = ? AND a.grantee_id = ?)
                 OR (a.grantee_type = ? AND LOWER(a.grantee_id) = ?)
                 OR a.grantee_type = ?)
             ORDER BY m.account_id, a.folder_id",
        )
        .bind(account.to_string())
        .bind(i64::from(GranteeType::User.code()))
        .bind(account.to_string())
        .bind(i64::from(GranteeType::Domain.code()))
        .bind(domain.unwrap_or("").to_lowercase())
        .bind(i64::from(GranteeType::All.code()))
        .fetch_all(&self.inner.pool)
        .await
        .db("list folders shared with an account")?;
        let mut out: Vec<(ZimbraId, ItemId)> = Vec::with_capacity(rows.len());
        for (owner, folder) in rows {
            let owner = owner
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("bad account id {owner:?}")))?;
            let pair = (owner, ItemId(folder as i32));
            if out.last() != Some(&pair) {
                out.push(pair);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::Rights;

    #[tokio::test]
    async fn grants_to_the_account_its_domain_and_everyone_are_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(crate::StoreConfig::under(dir.path()))
            .await
            .expect("open");
        let (alice, bob, carol) = (ZimbraId::new(), ZimbraId::new(), ZimbraId::new());
        let a = store.mailbox(alice).await.expect("alice");
        let c = store.mailbox(carol).await.expect("carol");
        let inbox = ItemId(zcs_core::folder::INBOX);
        let sent = ItemId(zcs_core::folder::SENT);
        let read = Rights(Rights::READ);
        a.grant(inbox, GranteeType::User, &bob.to_string(), read, "")
            .await
            .expect("grant");
        a.grant(sent, GranteeType::Domain, "Example.COM", read, "")
            .await
            .expect("grant");
        c.grant(inbox, GranteeType::All, "", read, "")
            .await
            .expect("grant");
        let mut want = vec![(alice, inbox), (alice, sent), (carol, inbox)];
        want.sort_by_key(|(o, f)| (o.to_string(), f.0));
        let got = store
            .folders_shared_with(bob, Some("example.com"))
            .await
            .expect("query");
        assert_eq!(got, want);
        let elsewhere = store
            .folders_shared_with(bob, Some("other.test"))
            .await
            .expect("query");
        assert_eq!(elsewhere.len(), 2);
        // Carol's own grant to everyone is not listed for Carol.
        let own = store.folders_shared_with(carol, None).await.expect("query");
        assert!(own.iter().all(|(o, _)| *o != carol));
    }
}
