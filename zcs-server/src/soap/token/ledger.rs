//! Token ids issued by this server and not yet recorded on their accounts.
//!
//! A login's token id belongs in the account's `zimbraAuthTokens` (see the parent
//! module), a directory write that on the embedded SQLite directory costs an fsync.
//! Rather than make every AuthRequest wait for it, [`TokenLedger::issue`] keeps the id
//! here, where [`TokenLedger::is_registered`] finds it at once, and a background task
//! writes it to the directory in the next batch, one write per account however many of
//! its logins the batch holds (`docs/decisions/2026-12-06-token-write-behind.md`).
//!
//! What that changes, and why it is safe: a token that was never written fails closed.
//! If the process dies before the batch lands, the client's next request is refused as
//! expired and it logs in again; no token is ever accepted that the account did not
//! issue. Ending sessions goes through the ledger too ([`TokenLedger::end`],
//! [`TokenLedger::end_all`]): it drops the waiting ids first, then writes the directory
//! while no batch is being written, so an ended token cannot be written back after its
//! end. A clean stop writes what waits ([`TokenLedger::flush`]).
//!
//! LIMITATION: another server sharing the directory sees a token this one issued only
//! once its batch lands (normally within one directory write), and ending every session
//! on that other server in between does not reach the id still waiting here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use zcs_core::{AttrEdit, Entry, EntryKind, FaultCode, ServiceResult, ZimbraId};
use zcs_directory::{CacheKind, EntryKey, Provisioning};

use super::{TokenData, registration_edits, token_value};

/// How long the writer waits after a failed batch before trying again.
const RETRY: Duration = Duration::from_secs(2);

/// How long the writer lets logins gather after the first one wakes it. Each batch
/// rewrites the account's token list and drops the account from the directory cache,
/// so the next request of that account reads its entry again: one batch per login cost
/// more than the logins themselves (a profile of issue 8's first screen: a fifth of the
/// server's CPU in the batch writes and a sixth in the re-reads). A token waiting here
/// is accepted all the same; a crash inside the window only sends its client back to
/// the login page.
const GATHER: Duration = Duration::from_millis(250);

/// One issued id waiting to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Waiting {
    tid: u32,
    value: String,
}

/// The ids issued here and not yet written, and the writer that writes them.
pub struct TokenLedger {
    prov: Arc<Provisioning>,
    waiting: Mutex<HashMap<ZimbraId, Vec<Waiting>>>,
    /// Held while a batch or an end writes `zimbraAuthTokens`.
    writing: tokio::sync::Mutex<()>,
    wake: Notify,
    writer_started: std::sync::Once,
}

impl std::fmt::Debug for TokenLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLedger")
            .field("waiting", &self.waiting_count())
            .finish()
    }
}

impl TokenLedger {
    /// The ledger of `prov`, shared by every SOAP service of this process on that
    /// directory (a user and an admin listener, or several services in one test), so a
    /// token one issued is live on all of them at once; made on first use.
    pub fn shared(prov: Arc<Provisioning>) -> Arc<TokenLedger> {
        type Registry = Mutex<Vec<(usize, Weak<TokenLedger>)>>;
        static LEDGERS: Registry = Mutex::new(Vec::new());
        let key = Arc::as_ptr(&prov) as usize;
        let mut all = LEDGERS.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(_, l)| l.strong_count() > 0);
        // A live ledger holds its Provisioning, so its address cannot have been reused.
        if let Some(l) = all
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, l)| l.upgrade())
        {
            return l;
        }
        let ledger = TokenLedger::new(prov);
        all.push((key, Arc::downgrade(&ledger)));
        ledger
    }

    /// A ledger of its own writing to `prov`'s directory (see [`TokenLedger::shared`]).
    /// Its writer task starts with the first issued id (inside the caller's tokio
    /// runtime) and ends when the ledger is dropped.
    pub fn new(prov: Arc<Provisioning>) -> Arc<TokenLedger> {
        Arc::new(TokenLedger {
            prov,
            waiting: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            writer_started: std::sync::Once::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ZimbraId, Vec<Waiting>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many ids wait to be written.
    pub fn waiting_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Records `data`'s token id as issued: [`TokenLedger::is_registered`] accepts it
    /// from now on, and the writer records it on the account shortly.
    pub fn issue(self: &Arc<Self>, data: &TokenData) {
        self.lock().entry(data.account).or_default().push(Waiting {
            tid: data.tid,
            value: token_value(data),
        });
        self.start_writer();
        self.wake.notify_one();
    }

    /// Whether token id `tid` of `account` is live: recorded on the entry, or issued
    /// here and waiting to be written.
    pub fn is_registered(&self, account: &Entry, tid: u32) -> bool {
        super::is_registered(account, tid)
            || self
                .lock()
                .get(&account.id)
                .is_some_and(|w| w.iter().any(|t| t.tid == tid))
    }

    /// Voids token id `tid` of account `id` (EndSession): a waiting id is dropped, a
    /// written one removed from the account.
    ///
    /// # Errors
    /// The directory read or write failed.
    pub async fn end(&self, id: ZimbraId, tid: u32) -> ServiceResult<()> {
        let _writing = self.writing.lock().await;
        if let Some(w) = self.lock().get_mut(&id) {
            w.retain(|t| t.tid != tid);
        }
        match self.fresh_account(id).await? {
            Some(account) => super::unregister(&self.prov, &account, tid).await,
            None => Ok(()),
        }
    }

    /// Voids every token of account `id` (a password reset): the waiting ids are
    /// dropped and `zimbraAuthTokens` cleared.
    ///
    /// # Errors
    /// The directory write failed.
    pub async fn end_all(&self, id: ZimbraId) -> ServiceResult<()> {
        let _writing = self.writing.lock().await;
        self.lock().remove(&id);
        let clear = [AttrEdit::Replace("zimbraAuthTokens".into(), Vec::new())];
        self.prov
            .directory()
            .modify_entry(EntryKind::Account, id, &clear)
            .await?;
        Ok(())
    }

    /// Writes every waiting id to its account, one directory write per account, and
    /// drops the expired ids each account held. An account deleted meanwhile loses its
    /// ids; a failed write keeps them for the next batch.
    ///
    /// # Errors
    /// The first failed write (the others were still tried).
    pub async fn flush(&self) -> ServiceResult<()> {
        let _writing = self.writing.lock().await;
        let batch: Vec<(ZimbraId, Vec<Waiting>)> = self
            .lock()
            .iter()
            .filter(|(_, w)| !w.is_empty())
            .map(|(id, w)| (*id, w.clone()))
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        let mut first_error = None;
        for (id, items) in batch {
            let written = match self.write_account(id, &items, now).await {
                Ok(written) => written,
                Err(e) => {
                    tracing::warn!(account = %id, error = %e, "token ids not recorded yet");
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let mut waiting = self.lock();
            if let Some(w) = waiting.get_mut(&id) {
                w.retain(|t| !items.contains(t));
                if w.is_empty() {
                    waiting.remove(&id);
                }
            }
            if !written {
                tracing::debug!(account = %id, "token ids dropped: no such account");
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Records `items` on account `id`; false when the account is gone.
    async fn write_account(
        &self,
        id: ZimbraId,
        items: &[Waiting],
        now: i64,
    ) -> ServiceResult<bool> {
        let Some(account) = self.prov.find_account(&id.to_string()).await? else {
            return Ok(false);
        };
        let values: Vec<String> = items.iter().map(|t| t.value.clone()).collect();
        let edits = registration_edits(&account, &values, now);
        match self
            .prov
            .directory()
            .modify_entry(EntryKind::Account, id, &edits)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code == FaultCode::NoSuchAccount => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The account as the directory holds it now, past any cached copy.
    async fn fresh_account(&self, id: ZimbraId) -> ServiceResult<Option<Entry>> {
        self.prov
            .flush_cache(CacheKind::Account, Some(&EntryKey::Id(id)));
        self.prov.find_account(&id.to_string()).await
    }

    /// Starts the writer once, inside the current tokio runtime.
    fn start_writer(self: &Arc<Self>) {
        self.writer_started.call_once(|| {
            let ledger = Arc::downgrade(self);
            tokio::spawn(write_loop(ledger));
        });
    }
}

/// The writer: one batch per wake-up, written [`GATHER`] after it, so logins that
/// arrive meanwhile or while a batch is being written share it; ends when the ledger
/// is dropped.
async fn write_loop(ledger: Weak<TokenLedger>) {
    loop {
        let Some(mut l) = ledger.upgrade() else {
            return;
        };
        // A wake-up that came while the last batch was written is kept by Notify;
        // the timeout only lets the loop notice a dropped ledger.
        let woke = tokio::time::timeout(Duration::from_secs(5), l.wake.notified()).await;
        if woke.is_err() && l.waiting_count() == 0 {
            continue;
        }
        if woke.is_ok() {
            // Not holding the ledger while waiting, so a dropped ledger ends the loop.
            drop(l);
            tokio::time::sleep(GATHER).await;
            let Some(again) = ledger.upgrade() else {
                return;
            };
            l = again;
        }
        if l.flush().await.is_err() {
            drop(l);
            tokio::time::sleep(RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests;
