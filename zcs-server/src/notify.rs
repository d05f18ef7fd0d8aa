//! The per-account change bus: every front end that changes a mailbox (IMAP, POP3,
//! LMTP/SMTP delivery, SOAP) publishes the account's id here, and every IMAP session
//! of that account wakes up (IDLE, RFC 2177) and looks at its mailbox again.
//!
//! A notification carries no data: it only says "something in this account changed";
//! the receiver re-reads what it needs from the store. Publishing is cheap (a map
//! lookup and a broadcast send) and never blocks; an account nobody listens to costs
//! nothing. The bus is process-wide ([`ChangeBus::global`]) so that delivery, the
//! backends and the listeners need no extra wiring.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::sync::broadcast;
use zcs_core::ZimbraId;

/// Notifications buffered per account before a slow receiver lags (a lagging receiver
/// still wakes up; it only loses the count, which does not matter).
const CAPACITY: usize = 16;

/// Account id → broadcast channel of change notifications.
#[derive(Default)]
pub struct ChangeBus {
    channels: Mutex<HashMap<ZimbraId, broadcast::Sender<()>>>,
}

impl ChangeBus {
    /// The process-wide bus.
    pub fn global() -> &'static ChangeBus {
        static BUS: OnceLock<ChangeBus> = OnceLock::new();
        BUS.get_or_init(ChangeBus::default)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ZimbraId, broadcast::Sender<()>>> {
        match self.channels.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Starts listening to `account`'s changes. The receiver sees every publish made
    /// after this call (`RecvError::Lagged` also means "changed").
    pub fn subscribe(&self, account: ZimbraId) -> broadcast::Receiver<()> {
        let mut map = self.lock();
        map.entry(account)
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Says that `account`'s mailbox changed. Never blocks; a no-op when nobody
    /// listens. Channels whose listeners are all gone are dropped here.
    pub fn publish(&self, account: ZimbraId) {
        let mut map = self.lock();
        if let Some(tx) = map.get(&account) {
            if tx.receiver_count() == 0 {
                map.remove(&account);
            } else {
                let _ = tx.send(());
            }
        }
    }

    /// How many receivers (IMAP sessions) listen to `account` right now; used for the
    /// per-account session limit.
    pub fn listeners(&self, account: ZimbraId) -> usize {
        self.lock()
            .get(&account)
            .map_or(0, broadcast::Sender::receiver_count)
    }
}

/// Shorthand for `ChangeBus::global().publish(account)`.
pub fn publish(account: ZimbraId) {
    ChangeBus::global().publish(account);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_of_the_account_wake() {
        let bus = ChangeBus::default();
        let (a, b) = (ZimbraId::new(), ZimbraId::new());
        bus.publish(a); // nobody listens: no-op
        let mut rx = bus.subscribe(a);
        let mut other = bus.subscribe(b);
        assert_eq!(bus.listeners(a), 1);
        bus.publish(a);
        assert!(rx.recv().await.is_ok());
        assert!(other.try_recv().is_err());
        drop(rx);
        bus.publish(a);
        assert_eq!(bus.listeners(a), 0);
        assert!(bus.lock().get(&a).is_none());
    }
}
