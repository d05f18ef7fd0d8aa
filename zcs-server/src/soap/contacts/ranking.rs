//! Contact ranking for AutoComplete: how often the account has written to an address,
//! counted from the recipients (To and Cc) of its messages in Sent, as Zimbra's
//! ranking table counts each address a sent message goes to.
//! LIMITATION: the counts are read from Sent on each request rather than kept in a
//! table, so RankingActionRequest cannot reset them, and a sent message deleted from
//! Sent no longer counts.

use std::collections::HashMap;

use zcs_core::{ItemId, ServiceResult, folder};
use zcs_store::Mailbox;

use super::super::context::store_fault;

/// The addresses of a comma-separated `Name <addr>, addr` list, lower case.
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

/// How many messages in Sent each address (lower case) received.
///
/// # Errors
/// A store failure reading Sent.
pub(super) async fn sent_counts(mb: &Mailbox) -> ServiceResult<HashMap<String, u32>> {
    let mut counts = HashMap::new();
    for m in mb
        .messages(ItemId(folder::SENT))
        .await
        .map_err(store_fault)?
    {
        for a in addresses(&m.recipients) {
            *counts.entry(a).or_insert(0) += 1;
        }
    }
    Ok(counts)
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
}
