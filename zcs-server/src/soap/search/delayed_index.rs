//! Zimbra's delayed indexing: an account's mail index can be dropped and rebuilt only
//! when the account is used again. `zimbraFeatureDelayedIndexEnabled` turns the feature
//! on; `zimbraDelayedIndexStatus` says where the account is:
//!
//! - `suppressed`: the index was removed (ManageIndexRequest `disableIndexing`) and new
//!   mail is stored without being indexed. Searches still run: text terms find nothing,
//!   state terms (`in:`, `is:`, dates) are answered from the store, as Zimbra's database
//!   fallback answers them.
//! - `waitingForSearch`: an admin opened the account (DelegateAuth); the first search
//!   with text terms starts the rebuild and answers `reIndexInProgress="1"` with no
//!   hits.
//! - `indexing`: the index is kept again; a rebuild runs in the background. A user's
//!   own login and ManageIndexRequest `enableIndexing` lead here.
//!
//! SOAP logins and DelegateAuth change the status only for a client that names itself
//! (`<userAgent name=>` in the SOAP context), as Zimbra ignores requests without a user
//! agent by default: scripts and probes do not rebuild an index nobody reads. An IMAP
//! login always does (a mail client is reading), as Zimbra's IMAP server.
//!
//! This module holds those transitions and the admin request; the indexer
//! ([`crate::indexer::Indexer::suppress`] / [`crate::indexer::Indexer::resume`]) does the
//! index work.

use zcs_core::{AttrEdit, Entry, ServiceError, ServiceResult};
use zcs_directory::Provisioning;

use super::super::SoapService;
use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use crate::indexer::Indexer;

/// Whether the feature is on (inherited from the COS, domain or global config).
const FEATURE: &str = "zimbraFeatureDelayedIndexEnabled";
/// The account's state, on the account entry only.
const STATUS: &str = "zimbraDelayedIndexStatus";

/// The values of `zimbraDelayedIndexStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// No index is kept.
    Suppressed,
    /// No index is kept until the next search.
    WaitingForSearch,
    /// The index is kept (and was or is being rebuilt).
    Indexing,
}

impl Status {
    /// The status an attribute value names (any case); `None` for anything else.
    pub(crate) fn parse(v: &str) -> Option<Status> {
        let v = v.trim();
        [
            Status::Suppressed,
            Status::WaitingForSearch,
            Status::Indexing,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(v))
    }

    /// The attribute value, as Zimbra spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Suppressed => "suppressed",
            Status::WaitingForSearch => "waitingForSearch",
            Status::Indexing => "indexing",
        }
    }
}

/// The status `event` leads to from `from`; `None` is no change.
fn next(from: Status, event: Event) -> Option<Status> {
    match (from, event) {
        (Status::Suppressed, Event::DelegateAuth) => Some(Status::WaitingForSearch),
        (Status::Suppressed | Status::WaitingForSearch, Event::Login) => Some(Status::Indexing),
        (Status::WaitingForSearch, Event::Search) => Some(Status::Indexing),
        _ => None,
    }
}

/// What happened to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// The user logged in.
    Login,
    /// An admin took a token for the account.
    DelegateAuth,
    /// The account's mailbox was searched.
    Search,
}

/// The account's status, `None` when the feature is off or no status is set.
async fn status_of(prov: &Provisioning, account: &Entry) -> ServiceResult<Option<Status>> {
    let Some(status) = account.attrs.get(STATUS).and_then(Status::parse) else {
        return Ok(None);
    };
    let effective = prov.effective_account_attrs(account).await?;
    let on = effective
        .get(FEATURE)
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    Ok(on.then_some(status))
}

/// Writes `status` on the account (and turns the feature on when `enable`).
async fn set_status(
    prov: &Provisioning,
    account: &Entry,
    status: Status,
    enable: bool,
) -> ServiceResult<()> {
    let mut edits = vec![AttrEdit::Replace(
        STATUS.into(),
        vec![status.as_str().into()],
    )];
    if enable {
        edits.push(AttrEdit::Replace(FEATURE.into(), vec!["TRUE".into()]));
    }
    prov.modify_account(&account.id.to_string(), &edits).await?;
    tracing::info!(account = %account.name, status = status.as_str(),
        "delayed index status changed");
    Ok(())
}

/// Applies `event` to the account: writes the new status and, when it is `indexing`,
/// has the indexer rebuild the mailbox. Returns the new status when it changed.
async fn apply(
    prov: &Provisioning,
    indexer: &Indexer,
    account: &Entry,
    event: Event,
) -> ServiceResult<Option<Status>> {
    let Some(from) = status_of(prov, account).await? else {
        return Ok(None);
    };
    let Some(to) = next(from, event) else {
        return Ok(None);
    };
    set_status(prov, account, to, false).await?;
    if to == Status::Indexing {
        indexer.resume(account.id);
    }
    Ok(Some(to))
}

/// Whether a request from `user_agent` may change the status: only one that names its
/// client.
fn agent_may_change(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| !ua.trim().is_empty())
}

/// A user's own login (password, preauth): a suppressed account is indexed again.
/// A failure is logged, never fatal to the login.
pub(crate) async fn on_login(ctx: &Ctx<'_>, account: &Entry) {
    if !agent_may_change(ctx.user_agent.as_deref()) {
        return;
    }
    on_protocol_login(&ctx.svc.prov, &ctx.svc.indexer, account).await;
}

/// Whether server start must suppress `account` in the indexer again: its status
/// (suppressed, or waiting for a search) lives in the directory, the indexer's set
/// only in memory.
pub(crate) async fn suppressed_at_start(prov: &Provisioning, account: &Entry) -> bool {
    matches!(
        status_of(prov, account).await,
        Ok(Some(Status::Suppressed | Status::WaitingForSearch))
    )
}

/// An IMAP login (any client, as Zimbra's IMAP server), or a SOAP login from a named
/// client: a suppressed account is indexed again. A failure is logged, never fatal to
/// the login.
pub(crate) async fn on_protocol_login(prov: &Provisioning, indexer: &Indexer, account: &Entry) {
    if account.attrs.get(STATUS).is_none() {
        return;
    }
    if let Err(e) = apply(prov, indexer, account, Event::Login).await {
        tracing::warn!(account = %account.name, error = %e,
            "could not re-enable delayed indexing at login");
    }
}

/// DelegateAuth for the account: a suppressed account waits for its first search.
/// A failure is logged, never fatal to the token.
pub(crate) async fn on_delegate_auth(ctx: &Ctx<'_>, account: &Entry) {
    if !agent_may_change(ctx.user_agent.as_deref()) {
        return;
    }
    if let Err(e) = apply(
        &ctx.svc.prov,
        &ctx.svc.indexer,
        account,
        Event::DelegateAuth,
    )
    .await
    {
        tracing::warn!(account = %account.name, error = %e,
            "could not record delayed indexing state at delegated auth");
    }
}

/// Before searching the account's own mailbox (`text`: the query has terms the index
/// answers). Returns `true` when this search started the rebuild (`waitingForSearch`
/// and a text query): the answer is then `reIndexInProgress="1"` with no hits. A
/// suppressed account whose mailbox the indexer does not know as suppressed (the
/// server restarted and re-added its documents) is suppressed again.
///
/// # Errors
/// Directory failures, and `service.FAILURE` when the index cannot be dropped.
pub(crate) async fn before_search(
    svc: &SoapService,
    account: &Entry,
    text: bool,
) -> ServiceResult<bool> {
    if account.attrs.get(STATUS).is_none() {
        // The common case: no delayed indexing, no directory look-up.
        return Ok(false);
    }
    match status_of(&svc.prov, account).await? {
        Some(Status::Suppressed) if !svc.indexer.is_suppressed(account.id) => {
            svc.indexer
                .suppress(account.id)
                .await
                .map_err(ServiceError::failure)?;
            Ok(false)
        }
        Some(Status::WaitingForSearch) if text => {
            let to = apply(&svc.prov, &svc.indexer, account, Event::Search).await?;
            Ok(to == Some(Status::Indexing))
        }
        _ => Ok(false),
    }
}

/// ManageIndexRequest `action=disableIndexing|enableIndexing <mbox id="{accountId}"/>`
/// for `account`: `disableIndexing` turns the feature on, sets `suppressed` and removes
/// the mailbox's documents from the index (contacts are searched from the store, so
/// nothing of theirs is lost); `enableIndexing` sets `indexing` and rebuilds the index
/// in the background. Answers `<ManageIndexResponse status="started"/>`.
///
/// # Errors
/// `service.INVALID_REQUEST` for a missing or unknown action; `service.FAILURE` when
/// the account has no mailbox yet (as ReIndexRequest) or the index cannot be dropped.
// LIMITATION: only global admins (delegated admins are refused before routing).
pub(crate) async fn manage_index(
    ctx: &Ctx<'_>,
    req: &Element,
    account: &Entry,
    who: &str,
) -> ServiceResult<Element> {
    let action = req.req("action")?.trim();
    let disable = if action.eq_ignore_ascii_case("disableIndexing") {
        true
    } else if action.eq_ignore_ascii_case("enableIndexing") {
        false
    } else {
        return Err(ServiceError::invalid_request(format!(
            "unknown action: {action}"
        )));
    };
    let svc = ctx.svc;
    if svc
        .store
        .find_mailbox(account.id)
        .await
        .map_err(store_fault)?
        .is_none()
    {
        return Err(ServiceError::failure(format!(
            "mailbox not found for account {}",
            account.name
        )));
    }
    if disable {
        set_status(&svc.prov, account, Status::Suppressed, true).await?;
        svc.indexer
            .suppress(account.id)
            .await
            .map_err(ServiceError::failure)?;
    } else {
        set_status(&svc.prov, account, Status::Indexing, false).await?;
        svc.indexer.resume(account.id);
    }
    tracing::info!(admin = %who, account = %account.name, action, "admin: manage index");
    let mut resp = response("ManageIndexResponse", NS_ADMIN);
    resp.set("status", "started");
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_any_case_and_print_as_zimbra_spells_them() {
        for s in [
            Status::Suppressed,
            Status::WaitingForSearch,
            Status::Indexing,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            Status::parse(" WAITINGFORSEARCH "),
            Some(Status::WaitingForSearch)
        );
        assert_eq!(Status::parse("off"), None);
    }

    #[test]
    fn only_a_named_client_changes_the_status() {
        assert!(agent_may_change(Some("ZimbraWebClient")));
        assert!(!agent_may_change(None));
        assert!(!agent_may_change(Some("  ")));
    }

    #[test]
    fn transitions_follow_zimbra() {
        use Event::*;
        use Status::*;
        assert_eq!(next(Suppressed, DelegateAuth), Some(WaitingForSearch));
        assert_eq!(next(Suppressed, Login), Some(Indexing));
        assert_eq!(next(WaitingForSearch, Login), Some(Indexing));
        assert_eq!(next(WaitingForSearch, Search), Some(Indexing));
        // A search of a suppressed account does not bring its index back.
        assert_eq!(next(Suppressed, Search), None);
        assert_eq!(next(WaitingForSearch, DelegateAuth), None);
        for e in [Login, DelegateAuth, Search] {
            assert_eq!(next(Indexing, e), None);
        }
    }
}
