//! Which `From` (and `Sender`) a message built by SendMsg or SaveDraft carries, decided
//! as Zimbra's mail sender decides it for the authenticated account: its own address,
//! an alias or a `zimbraAllowFromAddress` value (or anything with
//! `zimbraAllowAnyFromAddress`) is used as asked; another account's or list's address
//! with a `sendAs`/`sendAsDistList` grant too; with a `sendOnBehalfOf` grant the message
//! is sent on behalf (`From` as asked, `Sender` the caller); otherwise the caller's own
//! address replaces it. Zimbra rewrites rather than refuses, and so does this.

use zcs_core::{Entry, ServiceResult};
use zcs_directory::rights::TargetType;

use super::super::context::Ctx;

/// The headers chosen: `From`'s address and display name, and `Sender`'s when the
/// message goes out on behalf of someone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Senders {
    pub from: (String, Option<String>),
    pub sender: Option<(String, Option<String>)>,
}

/// Whether `addr` is one of `account`'s own addresses: its name, an alias, or a
/// `zimbraAllowFromAddress` value (compared without case).
pub(super) fn owns(account: &Entry, addr: &str) -> bool {
    let addr = addr.trim();
    account.name.eq_ignore_ascii_case(addr)
        || ["zimbraMailAlias", "zimbraAllowFromAddress"]
            .iter()
            .flat_map(|a| account.attrs.get_all(a))
            .any(|v| v.trim().eq_ignore_ascii_case(addr))
}

fn own_address(account: &Entry) -> (String, Option<String>) {
    (
        account.name.clone(),
        account.attrs.get("displayName").map(str::to_string),
    )
}

/// Whether `who` holds `right` (for an account) or `list_right` (for a list) on the
/// entry whose address is `addr`; false when no such entry exists.
pub(super) async fn granted(
    ctx: &Ctx<'_>,
    who: &Entry,
    addr: &str,
    right: &str,
    list_right: &str,
) -> bool {
    let engine = ctx.svc.prov.rights();
    for (ty, r) in [(TargetType::Account, right), (TargetType::Dl, list_right)] {
        if let Ok(target) = engine.target(ty, Some(addr)).await {
            return engine
                .check_right(who, &target, r)
                .await
                .is_ok_and(|d| d.allowed);
        }
    }
    false
}

/// Chooses `From` and `Sender` for a message `me` (the mailbox's account) sends with
/// the requested `From` address `asked` (an `e t="f"`), on the authority of the
/// request's authenticated account.
///
/// # Errors
/// None today; the signature leaves room for directory failures.
pub(super) async fn resolve(
    ctx: &Ctx<'_>,
    me: &Entry,
    asked: Option<(String, Option<String>)>,
) -> ServiceResult<Senders> {
    let caller = match ctx.resolved() {
        Some(Ok(auth)) => auth.account.clone(),
        _ => me.clone(),
    };
    let Some((addr, name)) = asked.filter(|(a, _)| !a.trim().is_empty()) else {
        return Ok(Senders {
            from: own_address(&caller),
            sender: None,
        });
    };
    let any = caller
        .attrs
        .get("zimbraAllowAnyFromAddress")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    if any || owns(&caller, &addr) || granted(ctx, &caller, &addr, "sendAs", "sendAsDistList").await
    {
        return Ok(Senders {
            from: (addr, name),
            sender: None,
        });
    }
    if granted(
        ctx,
        &caller,
        &addr,
        "sendOnBehalfOf",
        "sendOnBehalfOfDistList",
    )
    .await
    {
        return Ok(Senders {
            from: (addr, name),
            sender: Some(own_address(&caller)),
        });
    }
    tracing::info!(account = %caller.name, "From address not allowed; sending as the account");
    Ok(Senders {
        from: own_address(&caller),
        sender: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_are_name_aliases_and_allowed_from() {
        let mut e = Entry {
            kind: zcs_core::EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: "ann@x.test".into(),
            attrs: zcs_core::Attrs::new(),
        };
        e.attrs.add("zimbraMailAlias", "a@x.test");
        e.attrs.add("zimbraAllowFromAddress", "team@x.test");
        assert!(owns(&e, "ANN@x.test"));
        assert!(owns(&e, " a@x.test"));
        assert!(owns(&e, "team@x.test"));
        assert!(!owns(&e, "boss@x.test"));
        assert_eq!(own_address(&e), ("ann@x.test".to_string(), None));
    }
}
