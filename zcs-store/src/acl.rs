//! Grants (ACLs) on folders, as Zimbra shares them: a grantee (`usr`, `grp`, `dom`,
//! `all`, `pub`, `guest`, `key`) and a rights string (`r` read, `w` write, `i` insert,
//! `d` delete, `a` administer, `x` workflow action, `p` private); and the rights an
//! accessor ends up with on a folder, which IMAP ACL (RFC 4314) and SOAP sharing check.
//!
//! The store keeps and evaluates grants; it does not resolve group membership or
//! domains (the caller passes them in an [`Accessor`]).

use sqlx::Row;
use zcs_core::{ItemId, ZimbraId};

use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::redo::codec_items::GrantRecord;

/// Who a grant is for (Zimbra's `gt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GranteeType {
    /// `usr`: one account, by zimbraId.
    User,
    /// `grp`: a distribution list's members, by the list's zimbraId.
    Group,
    /// `dom`: every account of a domain, by domain name.
    Domain,
    /// `all`: every authenticated account.
    All,
    /// `pub`: everyone, unauthenticated included.
    Public,
    /// `guest`: an external address with a password.
    Guest,
    /// `key`: anyone presenting an access key.
    Key,
}

impl GranteeType {
    /// The code stored in redo records and rows.
    pub fn code(self) -> u8 {
        match self {
            GranteeType::User => 1,
            GranteeType::Group => 2,
            GranteeType::Domain => 3,
            GranteeType::All => 4,
            GranteeType::Public => 5,
            GranteeType::Guest => 6,
            GranteeType::Key => 7,
        }
    }

    /// The type for a stored code.
    pub fn from_code(code: u8) -> Option<GranteeType> {
        Some(match code {
            1 => GranteeType::User,
            2 => GranteeType::Group,
            3 => GranteeType::Domain,
            4 => GranteeType::All,
            5 => GranteeType::Public,
            6 => GranteeType::Guest,
            7 => GranteeType::Key,
            _ => return None,
        })
    }

    /// Zimbra's `gt` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GranteeType::User => "usr",
            GranteeType::Group => "grp",
            GranteeType::Domain => "dom",
            GranteeType::All => "all",
            GranteeType::Public => "pub",
            GranteeType::Guest => "guest",
            GranteeType::Key => "key",
        }
    }

    /// The type for a `gt` value (any case).
    pub fn parse(s: &str) -> Option<GranteeType> {
        [
            GranteeType::User,
            GranteeType::Group,
            GranteeType::Domain,
            GranteeType::All,
            GranteeType::Public,
            GranteeType::Guest,
            GranteeType::Key,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// A set of folder rights, Zimbra's `perm` letters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(pub u8);

impl Rights {
    /// `r`: see the folder and read its items.
    pub const READ: u8 = 1;
    /// `w`: change items.
    pub const WRITE: u8 = 1 << 1;
    /// `i`: add items (and subfolders).
    pub const INSERT: u8 = 1 << 2;
    /// `d`: delete items.
    pub const DELETE: u8 = 1 << 3;
    /// `a`: administer the folder (change its grants).
    pub const ADMIN: u8 = 1 << 4;
    /// `x`: workflow actions (accept/decline invitations).
    pub const ACTION: u8 = 1 << 5;
    /// `p`: see items marked private.
    pub const PRIVATE: u8 = 1 << 6;

    const LETTERS: [(u8, char); 7] = [
        (Self::READ, 'r'),
        (Self::WRITE, 'w'),
        (Self::INSERT, 'i'),
        (Self::DELETE, 'd'),
        (Self::ADMIN, 'a'),
        (Self::ACTION, 'x'),
        (Self::PRIVATE, 'p'),
    ];

    /// Every right: what the mailbox owner has.
    pub fn all() -> Rights {
        Rights(0x7f)
    }

    /// Parses a rights string (`"rwidx"`); letters may repeat and come in any order.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a letter that is not a right.
    pub fn parse(s: &str) -> Result<Rights, StoreError> {
        let mut bits = 0;
        for c in s.chars() {
            let bit = Self::LETTERS
                .iter()
                .find(|(_, l)| *l == c)
                .map(|(b, _)| *b)
                .ok_or_else(|| StoreError::InvalidRequest(format!("unknown right {c:?}")))?;
            bits |= bit;
        }
        Ok(Rights(bits))
    }

    /// Whether every right of `other` is here.
    pub fn contains(self, other: u8) -> bool {
        self.0 & other == other
    }

    /// Whether no right is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Rights {
    /// The letters in Zimbra's order (`rwidaxp`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (bit, l) in Self::LETTERS {
            if self.0 & bit != 0 {
                write!(f, "{l}")?;
            }
        }
        Ok(())
    }
}

/// One grant on a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Who it is for.
    pub grantee_type: GranteeType,
    /// The grantee: zimbraId (`usr`, `grp`), domain (`dom`), address (`guest`), a key
    /// name (`key`), empty (`all`, `pub`).
    pub grantee: String,
    /// The rights granted.
    pub rights: Rights,
    /// Guest password or access key (empty when none).
    pub secret: String,
}

/// Who is asking, for [`Mailbox::effective_rights_for`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accessor {
    /// The authenticated account, if any.
    pub account: Option<ZimbraId>,
    /// Distribution lists the account belongs to (directly or not).
    pub groups: Vec<ZimbraId>,
    /// The account's domain name.
    pub domain: Option<String>,
    /// An external guest address, authenticated by its grant's password.
    pub guest: Option<String>,
    /// An access key presented.
    pub access_key: Option<String>,
}

impl Mailbox {
    /// Grants `rights` on `folder` to a grantee, replacing any earlier grant to the
    /// same grantee; empty rights revoke it. Durable on return.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`; `service.INVALID_REQUEST` for a missing grantee where
    /// one is needed.
    pub async fn grant(
        &self,
        folder: ItemId,
        grantee_type: GranteeType,
        grantee: &str,
        rights: Rights,
        secret: &str,
    ) -> Result<(), StoreError> {
        let needs_name = !matches!(grantee_type, GranteeType::All | GranteeType::Public);
        let grantee = if needs_name {
            grantee.trim().to_string()
        } else {
            String::new()
        };
        if needs_name && (grantee.is_empty() || grantee.len() > 256) {
            return Err(StoreError::InvalidRequest("grant needs a grantee".into()));
        }
        let secret = secret.chars().take(256).collect::<String>();
        self.locked(move |mb| async move {
            let (all, _) = mb.folder_rows().await?;
            if !all.contains_key(&folder.0) {
                return Err(StoreError::no_such_folder(folder));
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::SetGrant(GrantRecord {
                change: st.change + 1,
                folder: folder.0,
                grantee_type: grantee_type.code(),
                grantee,
                rights: rights.to_string(),
                secret,
            }))
            .await
        })
        .await
    }

    /// Revokes the grant on `folder` to a grantee (no-op when there is none).
    pub async fn revoke(
        &self,
        folder: ItemId,
        grantee_type: GranteeType,
        grantee: &str,
    ) -> Result<(), StoreError> {
        self.grant(folder, grantee_type, grantee, Rights(0), "")
            .await
    }

    /// The grants set on `folder` itself (not inherited), by grantee type then name.
    pub async fn grants(&self, folder: ItemId) -> Result<Vec<Grant>, StoreError> {
        self.check_maintenance()?;
        let rows = sqlx::query(
            "SELECT grantee_type, grantee_id, rights, secret FROM acl
             WHERE mailbox_id = ? AND folder_id = ? ORDER BY grantee_type, grantee_id",
        )
        .bind(self.id().0)
        .bind(folder.0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list grants")?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let code: i64 = r.try_get("grantee_type").db("read grant")?;
            let Some(grantee_type) = GranteeType::from_code(code as u8) else {
                continue;
            };
            let rights: String = r.try_get("rights").db("read grant")?;
            out.push(Grant {
                grantee_type,
                grantee: r.try_get("grantee_id").db("read grant")?,
                rights: Rights::parse(&rights).unwrap_or_default(),
                secret: r.try_get("secret").db("read grant")?,
            });
        }
        Ok(out)
    }

    /// The rights of account `accessor` (member of `groups`) on `folder`; see
    /// [`Mailbox::effective_rights_for`].
    pub async fn effective_rights(
        &self,
        folder: ItemId,
        accessor: Option<ZimbraId>,
        groups: &[ZimbraId],
    ) -> Result<Rights, StoreError> {
        let who = Accessor {
            account: accessor,
            groups: groups.to_vec(),
            ..Accessor::default()
        };
        self.effective_rights_for(folder, &who).await
    }

    /// The rights `who` has on `folder`. The owner has every right. Otherwise the
    /// grants of the nearest folder, from `folder` up, that has any apply (a folder
    /// with no grant of its own inherits its parent's), and `who` gets the union of
    /// every grant on it that matches them, as Zimbra's `ACL.getGrantedRights` ORs
    /// them: a `usr` grant naming the account, `grp` grants of lists it belongs to,
    /// `dom` of its domain, `all` for any account, `guest`/`key` with the right
    /// secret, `pub` for anyone. A grant that does not match adds nothing; there are
    /// no negative grants on folders.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`.
    pub async fn effective_rights_for(
        &self,
        folder: ItemId,
        who: &Accessor,
    ) -> Result<Rights, StoreError> {
        let (all, _) = self.folder_rows().await?;
        if !all.contains_key(&folder.0) {
            return Err(StoreError::no_such_folder(folder));
        }
        if who.account == Some(self.account()) {
            return Ok(Rights::all());
        }
        let mut cur = folder.0;
        let mut grants = Vec::new();
        for _ in 0..=all.len() {
            grants = self.grants(ItemId(cur)).await?;
            if !grants.is_empty() {
                break;
            }
            match all.get(&cur) {
                Some(f) if f.parent != cur => cur = f.parent,
                _ => break,
            }
        }
        Ok(evaluate(&grants, who))
    }
}

/// The rights `grants` give `who`: the union of the rights of every grant that
/// matches them (Zimbra ORs the matching grants of one ACL; a user grant does not hide
/// a group grant).
fn evaluate(grants: &[Grant], who: &Accessor) -> Rights {
    let bits = grants
        .iter()
        .filter(|g| matches(g, who))
        .fold(0u8, |acc, g| acc | g.rights.0);
    Rights(bits)
}

/// Whether grant `g` applies to `who`.
fn matches(g: &Grant, who: &Accessor) -> bool {
    let authed = who.account.is_some();
    match g.grantee_type {
        GranteeType::User => who.account.is_some_and(|a| a.to_string() == g.grantee),
        GranteeType::Group => authed && who.groups.iter().any(|x| x.to_string() == g.grantee),
        GranteeType::Domain => {
            authed
                && who
                    .domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(&g.grantee))
        }
        GranteeType::All => authed,
        GranteeType::Guest => {
            !g.secret.is_empty()
                && who
                    .guest
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&g.grantee))
                && who.access_key.as_deref() == Some(g.secret.as_str())
        }
        GranteeType::Key => {
            !g.secret.is_empty() && who.access_key.as_deref() == Some(g.secret.as_str())
        }
        GranteeType::Public => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_parse_and_print_in_zimbra_order() {
        let r = Rights::parse("xdwr").unwrap();
        assert_eq!(r.to_string(), "rwdx");
        assert!(r.contains(Rights::READ | Rights::WRITE));
        assert!(!r.contains(Rights::ADMIN));
        assert!(Rights::parse("rq").is_err());
        assert_eq!(Rights::all().to_string(), "rwidaxp");
        assert!(Rights::parse("").unwrap().is_empty());
    }

    #[test]
    fn grantee_types_round_trip() {
        for t in ["usr", "grp", "dom", "all", "pub", "guest", "key"] {
            let g = GranteeType::parse(t).unwrap();
            assert_eq!(g.as_str(), t);
            assert_eq!(GranteeType::from_code(g.code()), Some(g));
        }
        assert_eq!(GranteeType::parse("nope"), None);
    }

    fn grant(t: GranteeType, who: &str, r: &str) -> Grant {
        Grant {
            grantee_type: t,
            grantee: who.into(),
            rights: Rights::parse(r).unwrap(),
            secret: String::new(),
        }
    }

    #[test]
    fn matching_grants_combine() {
        let u = ZimbraId::new();
        let grp = ZimbraId::new();
        let grants = vec![
            grant(GranteeType::Group, &grp.to_string(), "rwid"),
            grant(GranteeType::All, "", "x"),
            grant(GranteeType::Public, "", "r"),
        ];
        let member = Accessor {
            account: Some(u),
            groups: vec![grp],
            ..Accessor::default()
        };
        assert_eq!(evaluate(&grants, &member).to_string(), "rwidx");
        let other = Accessor {
            account: Some(ZimbraId::new()),
            ..Accessor::default()
        };
        assert_eq!(evaluate(&grants, &other).to_string(), "rx");
        assert_eq!(evaluate(&grants, &Accessor::default()).to_string(), "r");
        // SharingFoldersCombineBasic_01: read to the user, delete to a list the user
        // is in: both apply.
        let mut with_user = vec![
            grant(GranteeType::User, &u.to_string(), "r"),
            grant(GranteeType::Group, &grp.to_string(), "d"),
        ];
        assert_eq!(evaluate(&with_user, &member).to_string(), "rd");
        with_user.push(grant(GranteeType::Domain, "example.com", "i"));
        let in_domain = Accessor {
            domain: Some("Example.COM".into()),
            ..member.clone()
        };
        assert_eq!(evaluate(&with_user, &in_domain).to_string(), "rid");
        assert!(evaluate(&[], &member).is_empty());
    }

    #[test]
    fn grants_that_do_not_match_add_nothing() {
        let (u, grp, stranger) = (ZimbraId::new(), ZimbraId::new(), ZimbraId::new());
        let grants = vec![
            grant(GranteeType::User, &u.to_string(), "r"),
            grant(GranteeType::Group, &grp.to_string(), "wid"),
            grant(GranteeType::Domain, "example.com", "a"),
        ];
        // Another account, outside the list and the domain: nothing.
        let other = Accessor {
            account: Some(stranger),
            groups: vec![ZimbraId::new()],
            domain: Some("example.org".into()),
            ..Accessor::default()
        };
        assert!(evaluate(&grants, &other).is_empty());
        // The user alone (not in the list) gets only the user grant.
        let alone = Accessor {
            account: Some(u),
            ..Accessor::default()
        };
        assert_eq!(evaluate(&grants, &alone).to_string(), "r");
        // Unauthenticated callers match neither lists nor domains nor `all`, even
        // when they claim them.
        let anon = Accessor {
            groups: vec![grp],
            domain: Some("example.com".into()),
            ..Accessor::default()
        };
        let mut more = grants.clone();
        more.push(grant(GranteeType::All, "", "x"));
        assert!(evaluate(&more, &anon).is_empty());
        // SharingFoldersCombineBasic_06: delete to the user and read to a guest: the
        // user does not get read (the guest grant is not theirs).
        let mut guest = grant(GranteeType::Guest, "ext@example.org", "r");
        guest.secret = "pw".into();
        let ug = vec![grant(GranteeType::User, &u.to_string(), "d"), guest.clone()];
        assert_eq!(evaluate(&ug, &alone).to_string(), "d");
        // A guest with a wrong or missing password gets nothing; with it, read.
        let ext = |key: Option<&str>| Accessor {
            guest: Some("EXT@example.org".into()),
            access_key: key.map(str::to_string),
            ..Accessor::default()
        };
        assert!(evaluate(&ug, &ext(Some("nope"))).is_empty());
        assert!(evaluate(&ug, &ext(None)).is_empty());
        assert_eq!(evaluate(&ug, &ext(Some("pw"))).to_string(), "r");
        // A guest grant without a password matches no one.
        let open = vec![grant(GranteeType::Guest, "ext@example.org", "r")];
        assert!(evaluate(&open, &ext(Some(""))).is_empty());
    }
}
