//! Contact ranking for AutoComplete: how often the account has written to an address,
//! counted from the recipients (To and Cc) of its messages in Sent, as Zimbra's
//! ranking table counts each address a sent message goes to. RankingActionRequest
//! `reset` and `delete` start the count again from zero (for every address, or one):
//! messages sent before the reset no longer count, later ones do.
//! LIMITATION: the counts are read from Sent on each request rather than kept in a
//! table; the reset points are kept in this process only (a restart brings the
//! earlier counts back), and a sent message deleted from Sent no longer counts.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use zcs_core::{ItemId, ServiceResult, ZimbraId, folder};
use zcs_store::Mailbox;

use super::super::context::store_fault;

/// Where an account's ranking was last reset: only Sent messages with a higher item id
/// count, for every address (`all`) or one (`by_address`, lower case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ResetPoints {
    all: i32,
    by_address: HashMap<String, i32>,
}

impl ResetPoints {
    /// The item id above which messages to `addr` (lower case) count.
    fn floor(&self, addr: &str) -> i32 {
        self.all
            .max(self.by_address.get(addr).copied().unwrap_or(0))
    }
}

/// The reset points of every account this process has seen a RankingAction from.
fn resets() -> &'static Mutex<HashMap<ZimbraId, ResetPoints>> {
    static RESETS: OnceLock<Mutex<HashMap<ZimbraId, ResetPoints>>> = OnceLock::new();
    RESETS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The account's reset points (none yet: everything counts).
fn points(account: &ZimbraId) -> ResetPoints {
    resets()
        .lock()
        .map(|m| m.get(account).cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// The comma-separated `Name <addr>, addr` list's addresses, lower case.
fn addresses(list: &str) -> Vec<String> {
    list.split(',')
        .filter_map(|part| {
            let part = part.trim();
            let addr = match (part.rfind('<'), part.rfind('>')) {
                (Some(a), Some(b)) if a < b => &part[a + 1..b],
                _ => part,
            };
            let addr = addr.trim().trim_matches('"').to_lowercase();
            addr.contains('@').then_some(addr)
        })
        .collect()
}

/// Counts `(message id, recipients)` pairs per address, leaving out messages at or
/// below the address's reset point.
fn count<'a>(
    sent: impl IntoIterator<Item = (i32, &'a str)>,
    points: &ResetPoints,
) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for (id, recipients) in sent {
        for a in addresses(recipients) {
            if id > points.floor(&a) {
                *counts.entry(a).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// How many messages in Sent each address (lower case) received since its ranking
/// was last reset.
///
/// # Errors
/// A store failure reading Sent.
pub(super) async fn sent_counts(mb: &Mailbox) -> ServiceResult<HashMap<String, u32>> {
    let sent = mb
        .messages(ItemId(folder::SENT))
        .await
        .map_err(store_fault)?;
    let points = points(&mb.account());
    Ok(count(
        sent.iter().map(|m| (m.id.0, m.recipients.as_str())),
        &points,
    ))
}

/// Resets the account's ranking: of `email` (any case), or of every address when
/// `email` is `None`. Messages now in Sent stop counting; those sent later count.
///
/// # Errors
/// A store failure reading Sent.
pub(super) async fn reset(mb: &Mailbox, email: Option<&str>) -> ServiceResult<()> {
    let top = mb
        .messages(ItemId(folder::SENT))
        .await
        .map_err(store_fault)?
        .iter()
        .map(|m| m.id.0)
        .max()
        .unwrap_or(0);
    let mut map = resets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let p = map.entry(mb.account()).or_default();
    match email {
        Some(e) => {
            p.by_address.insert(e.trim().to_lowercase(), top);
        }
        None => {
            p.all = top;
            p.by_address.clear();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_lists_give_lower_case_addresses() {
        assert_eq!(
            addresses("\"Ann, B\" <Ann@X.test>, bob@x.test,  , Carol <c@x.test>"),
            ["ann@x.test", "bob@x.test", "c@x.test"]
        );
        assert!(addresses("undisclosed-recipients:;").is_empty());
    }

    #[test]
    fn a_reset_address_counts_only_later_messages() {
        let sent = [
            (300, "a@x.test"),
            (301, "b@x.test"),
            (302, "B <b@x.test>, a@x.test"),
            (310, "b@x.test"),
        ];
        let none = ResetPoints::default();
        let c = count(sent, &none);
        assert_eq!((c["a@x.test"], c["b@x.test"]), (2, 3));
        // `delete` of b at 302: only 310 counts for b; a is untouched.
        let mut p = ResetPoints::default();
        p.by_address.insert("b@x.test".into(), 302);
        let c = count(sent, &p);
        assert_eq!((c["a@x.test"], c["b@x.test"]), (2, 1));
        // `reset` at 302: everyone starts again.
        let p = ResetPoints {
            all: 302,
            by_address: HashMap::new(),
        };
        let c = count(sent, &p);
        assert_eq!((c.get("a@x.test"), c["b@x.test"]), (None, 1));
    }
}
