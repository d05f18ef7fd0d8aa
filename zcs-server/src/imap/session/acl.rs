//! ACL (RFC 4314): GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS on the store's
//! folder grants, with Zimbra's mapping of IMAP rights letters to its own rights:
//! `l r` are read (`r`), `s w` write (`w`), `i p k c` insert (`i`), `x t e d` delete
//! (`d`) and `a` administer (`a`). Letters mapped to one Zimbra right are tied
//! (RFC 4314 §2.1.1): granting one grants all of them, and LISTRIGHTS says so.

use zcs_store::Rights;

use super::{Handled, Session};
use crate::imap::response::{Reply, push_mailbox_as, push_string};

/// Appends an RFC 3501 `astring`: a bare atom when it is one (as Zimbra writes
/// identifiers and rights, and as some clients expect), else a string.
fn push_astring(out: &mut Vec<u8>, bytes: &[u8]) {
    let atom = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b));
    if atom {
        out.extend_from_slice(bytes);
    } else {
        push_string(out, bytes);
    }
}

/// Each Zimbra right with the IMAP letters it stands for (RFC 4314 §2.1, RIGHTS=ektx
/// with the obsolete RFC 2086 `c` and `d` kept for old clients).
const MAPPING: [(u8, &str); 5] = [
    (Rights::READ, "lr"),
    (Rights::WRITE, "sw"),
    (Rights::INSERT, "ipkc"),
    (Rights::DELETE, "xted"),
    (Rights::ADMIN, "a"),
];

/// The IMAP rights string of Zimbra rights.
pub(crate) fn imap_rights(rights: Rights) -> String {
    MAPPING
        .iter()
        .filter(|(bit, _)| rights.contains(*bit))
        .map(|(_, letters)| *letters)
        .collect()
}

/// The Zimbra rights of IMAP letters; `None` for a letter that is no right.
pub(crate) fn zimbra_rights(letters: &str) -> Option<Rights> {
    let mut bits = 0;
    for c in letters.chars() {
        let (bit, _) = MAPPING.iter().find(|(_, l)| l.contains(c))?;
        bits |= bit;
    }
    Some(Rights(bits))
}

impl Session {
    /// Writes one untagged line `* <verb> <mailbox> <rest>`.
    async fn acl_line(&mut self, verb: &str, mailbox: &str, rest: &[u8]) -> std::io::Result<()> {
        let mut line = format!("* {verb} ").into_bytes();
        push_mailbox_as(&mut line, mailbox, self.enabled.utf8);
        line.extend_from_slice(rest);
        line.extend_from_slice(b"\r\n");
        self.conn.write(&line).await
    }

    /// Whether this account may administer the folder (the `a` right).
    async fn may_administer(&self, folder: zcs_core::ItemId) -> Result<bool, super::Fail> {
        let Some(account) = self.account.clone() else {
            return Ok(false);
        };
        Ok(account.my_rights(folder).await?.contains(Rights::ADMIN))
    }

    /// GETACL (RFC 4314 §3.3): the owner with every right, then each grant. Needs `a`.
    pub(super) async fn get_acl(&mut self, mailbox: &str) -> Handled {
        let Some(folder) = self.find_folder(mailbox).await? else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if !self.may_administer(folder.id).await? {
            return Ok(Reply::no("Permission denied").with_code("NOPERM"));
        }
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let grants = account.folder_acl(folder.id).await?;
        let mut rest = Vec::new();
        if !folder.path.starts_with("//") {
            rest.push(b' ');
            push_astring(&mut rest, account.account_name().as_bytes());
            rest.push(b' ');
            push_astring(&mut rest, imap_rights(Rights::all()).as_bytes());
        }
        for (who, rights) in grants {
            rest.push(b' ');
            push_astring(&mut rest, who.as_bytes());
            rest.push(b' ');
            push_astring(&mut rest, imap_rights(rights).as_bytes());
        }
        self.acl_line("ACL", mailbox, &rest).await?;
        Ok(Reply::ok("GETACL completed"))
    }

    /// MYRIGHTS (RFC 4314 §3.5): the rights this account holds on the mailbox.
    pub(super) async fn my_rights(&mut self, mailbox: &str) -> Handled {
        let (Some(account), Some(folder)) =
            (self.account.clone(), self.find_folder(mailbox).await?)
        else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        let rights = account.my_rights(folder.id).await?;
        let mut rest = vec![b' '];
        push_astring(&mut rest, imap_rights(rights).as_bytes());
        self.acl_line("MYRIGHTS", mailbox, &rest).await?;
        Ok(Reply::ok("MYRIGHTS completed"))
    }

    /// LISTRIGHTS (RFC 4314 §3.4): nothing is always granted, and the rights come in
    /// Zimbra's tied groups. Needs `a`.
    pub(super) async fn list_rights(&mut self, mailbox: &str, identifier: &str) -> Handled {
        let Some(folder) = self.find_folder(mailbox).await? else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if !self.may_administer(folder.id).await? {
            return Ok(Reply::no("Permission denied").with_code("NOPERM"));
        }
        let mut rest = vec![b' '];
        push_astring(&mut rest, identifier.as_bytes());
        rest.extend_from_slice(b" \"\"");
        for (_, letters) in MAPPING {
            rest.push(b' ');
            rest.extend_from_slice(letters.as_bytes());
        }
        self.acl_line("LISTRIGHTS", mailbox, &rest).await?;
        Ok(Reply::ok("LISTRIGHTS completed"))
    }

    /// SETACL (RFC 4314 §3.1; `+`/`-` add to or take from the current rights) and
    /// DELETEACL (§3.2, `rights` `None`). Needs `a`; the owner's own rights cannot be
    /// changed.
    pub(super) async fn set_acl(
        &mut self,
        mailbox: &str,
        identifier: &str,
        rights: Option<&str>,
    ) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let Some(folder) = self.find_folder(mailbox).await? else {
            return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT"));
        };
        if !self.may_administer(folder.id).await? {
            return Ok(Reply::no("Permission denied").with_code("NOPERM"));
        }
        if identifier.eq_ignore_ascii_case(account.account_name()) && !folder.path.starts_with("//")
        {
            return Ok(Reply::no("The owner's rights cannot change").with_code("CANNOT"));
        }
        let (mode, letters) = match rights {
            None => (None, ""),
            Some(r) => match r.as_bytes().first() {
                Some(b'+') => (Some(true), &r[1..]),
                Some(b'-') => (Some(false), &r[1..]),
                _ => (None, r),
            },
        };
        let Some(asked) = zimbra_rights(letters) else {
            return Ok(Reply::bad("Unknown right in rights string"));
        };
        let current = || async {
            let grants = account.folder_acl(folder.id).await?;
            Ok::<_, super::Fail>(
                grants
                    .into_iter()
                    .find(|(who, _)| who.eq_ignore_ascii_case(identifier))
                    .map_or(Rights(0), |(_, r)| r),
            )
        };
        let new = match mode {
            None => asked,
            Some(true) => Rights(current().await?.0 | asked.0),
            Some(false) => Rights(current().await?.0 & !asked.0),
        };
        // Zimbra keeps its other rights (x, p) as they were.
        account.set_folder_acl(folder.id, identifier, new).await?;
        let verb = if rights.is_some() {
            "SETACL"
        } else {
            "DELETEACL"
        };
        Ok(Reply::ok(format!("{verb} completed")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_map_to_zimbra_rights_in_tied_groups() {
        assert_eq!(
            zimbra_rights("lr").map(|r| r.to_string()).as_deref(),
            Some("r")
        );
        assert_eq!(
            zimbra_rights("lrswipkxtecda")
                .map(|r| r.to_string())
                .as_deref(),
            Some("rwida")
        );
        assert_eq!(zimbra_rights("t").map(|r| r.0), Some(Rights::DELETE));
        assert!(zimbra_rights("lz").is_none());
        assert_eq!(imap_rights(Rights(Rights::READ | Rights::WRITE)), "lrsw");
        assert_eq!(imap_rights(Rights::all()), "lrswipkcxteda");
        assert_eq!(imap_rights(Rights(0)), "");
    }

    proptest::proptest! {
        #[test]
        fn any_rights_string_is_handled(s in "\\PC{0,20}") {
            if let Some(r) = zimbra_rights(&s) {
                let again = zimbra_rights(&imap_rights(r));
                proptest::prop_assert_eq!(again, Some(r));
            }
        }
    }
}
