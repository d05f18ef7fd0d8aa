//! Pulls one account's mail from the source server into its mailbox here: every folder
//! the source lists is found or created under the same path (`INBOX` is the Inbox, a
//! hierarchy delimiter other than `/` is translated), and every message is stored as
//! the source sends it, byte for byte, with its flags and internal date.
//!
//! A later run takes only what is new: the highest UID imported from each source
//! folder, with the folder's UIDVALIDITY (RFC 3501 §2.3.1.1), is kept in [`Marks`]
//! (stored by the caller in the data source); a folder whose UIDVALIDITY changed is
//! read again from the start.
//!
//! LIMITATION: IMAP keywords other than `$Forwarded` are not carried over as tags.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use zcs_core::{Flags, ItemId};
use zcs_store::{Mailbox, StoreError};

use super::imap_client::{Credentials, Endpoint, ImapClient, ImapError};
use super::imap_parse::RemoteFolder;

/// What earlier runs took, by source folder (its name as sent): (UIDVALIDITY, highest
/// UID imported).
pub(crate) type Marks = HashMap<Vec<u8>, (u32, u32)>;

/// The prefix of the data source attribute values holding [`Marks`].
const MARK_PREFIX: &str = "bulkImapUid ";

/// The data source attribute values (`zimbraDataSourceAttribute`) recording `marks`
/// for the source `server` (`host:port`): `bulkImapUid <hex server> <validity> <uid>
/// <hex folder>` each.
pub(crate) fn marks_to_values(server: &str, marks: &Marks) -> Vec<String> {
    let mut out: Vec<String> = marks
        .iter()
        .map(|(wire, (validity, uid))| {
            format!(
                "{MARK_PREFIX}{} {validity} {uid} {}",
                hex(server.as_bytes()),
                hex(wire)
            )
        })
        .collect();
    out.sort();
    out
}

/// The marks of the source `server` among data source attribute `values` (others, and
/// malformed ones, are ignored).
pub(crate) fn marks_from_values<'a>(
    server: &str,
    values: impl IntoIterator<Item = &'a String>,
) -> Marks {
    let want = hex(server.as_bytes());
    let mut out = Marks::new();
    for v in values {
        let Some(rest) = v.strip_prefix(MARK_PREFIX) else {
            continue;
        };
        let f: Vec<&str> = rest.split(' ').collect();
        let [srv, validity, uid, wire] = f.as_slice() else {
            continue;
        };
        if *srv != want {
            continue;
        }
        if let (Ok(validity), Ok(uid), Some(wire)) = (validity.parse(), uid.parse(), unhex(wire)) {
            out.insert(wire, (validity, uid));
        }
    }
    out
}

/// Whether a data source attribute value is one of the marks.
pub(crate) fn is_mark(v: &str) -> bool {
    v.starts_with(MARK_PREFIX)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The Zimbra id of the user root folder (`/`).
const USER_ROOT: ItemId = ItemId(1);

/// What one account's import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pulled {
    /// Folders read on the source.
    pub folders: usize,
    /// Folders created here.
    pub created_folders: usize,
    /// Messages stored here.
    pub messages: usize,
    /// Folders that could not be imported, with why.
    pub folder_errors: Vec<(String, String)>,
}

/// Why an account's import stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PullError {
    #[error("source server: {0}")]
    Imap(#[from] ImapError),
    #[error("mailbox: {0}")]
    Store(#[from] StoreError),
    #[error("stopped")]
    Aborted,
}

/// The local folder path of a source folder: segments split at its delimiter, decoded
/// from modified UTF-7 (RFC 3501 §5.1.3), a leading `INBOX` (any case) as `Inbox`.
/// `None` when the name does not decode or a segment holds `/` or is empty.
pub(crate) fn local_path(f: &RemoteFolder) -> Option<Vec<String>> {
    let name = crate::imap::utf7::decode(&f.wire).ok()?;
    let segs: Vec<String> = match f.delimiter {
        Some(d) => name.split(d).map(str::to_string).collect(),
        None => vec![name],
    };
    let mut out = Vec::with_capacity(segs.len());
    for (i, s) in segs.into_iter().enumerate() {
        if s.is_empty() || (f.delimiter != Some('/') && s.contains('/')) {
            return None;
        }
        if i == 0 && s.eq_ignore_ascii_case("INBOX") {
            out.push("Inbox".to_string());
        } else {
            out.push(s);
        }
    }
    Some(out)
}

/// The flags of a fetched message: `\Seen` absent is unread (RFC 3501 §2.3.2).
pub(crate) fn flags_of(imap: &[String]) -> Flags {
    let mut bits = Flags::UNREAD;
    for f in imap {
        match f.to_ascii_lowercase().as_str() {
            "\\seen" => bits &= !Flags::UNREAD,
            "\\answered" => bits |= Flags::ANSWERED,
            "\\flagged" => bits |= Flags::FLAGGED,
            "\\draft" => bits |= Flags::DRAFT,
            "\\deleted" => bits |= Flags::DELETED,
            "$forwarded" => bits |= Flags::FORWARDED,
            _ => {}
        }
    }
    Flags(bits)
}

/// The folder at `path` here, created (with its missing parents) when absent; counts
/// what it created in `created`.
async fn folder_for(
    mb: &Mailbox,
    path: &[String],
    created: &mut usize,
) -> Result<ItemId, StoreError> {
    let mut parent = USER_ROOT;
    let mut so_far = String::new();
    for seg in path {
        so_far.push('/');
        so_far.push_str(seg);
        parent = match mb.folder_by_path(&so_far).await? {
            Some(f) => f.id,
            None => {
                *created += 1;
                mb.create_folder(parent, seg).await?.id
            }
        };
    }
    Ok(parent)
}

/// Imports the mailbox `creds` opens on `ep` into `mb`, skipping what `marks` says
/// earlier runs took and recording in it what this one takes (also when it fails part
/// way). `abort` is checked between messages; `messages` counts what was stored so far
/// (for progress reports).
///
/// # Errors
/// The source cannot be reached or refuses the login, the connection breaks, or the
/// mailbox here fails; a folder that cannot be mapped or opened is recorded in
/// [`Pulled::folder_errors`] and the others go on.
pub(crate) async fn pull_account(
    mb: &Mailbox,
    ep: &Endpoint,
    creds: &Credentials,
    abort: &AtomicBool,
    messages: &AtomicUsize,
    marks: &mut Marks,
) -> Result<Pulled, PullError> {
    let mut client = ImapClient::connect(ep).await?;
    client.login(creds).await?;
    let folders = client.list().await?;
    let mut done = Pulled::default();
    for f in &folders {
        if abort.load(Ordering::Relaxed) {
            client.logout().await;
            return Err(PullError::Aborted);
        }
        let shown = String::from_utf8_lossy(&f.wire).into_owned();
        let Some(path) = local_path(f) else {
            done.folder_errors
                .push((shown, "the name cannot be a folder name here".into()));
            continue;
        };
        done.folders += 1;
        let local = match folder_for(mb, &path, &mut done.created_folders).await {
            Ok(id) => id,
            Err(e) => {
                done.folder_errors.push((shown, e.to_string()));
                continue;
            }
        };
        if f.no_select {
            continue;
        }
        let seen = match client.examine(&f.wire).await {
            Ok(n) => n,
            Err(ImapError::Command(_, why)) => {
                done.folder_errors.push((shown, why));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if seen.exists == 0 {
            continue;
        }
        let from = match marks.get(&f.wire) {
            Some((v, last)) if *v == seen.uid_validity && *v != 0 => last.saturating_add(1),
            _ => 1,
        };
        client.fetch_from(from).await?;
        while let Some(m) = client.next_message().await? {
            if abort.load(Ordering::Relaxed) {
                // The rest of the FETCH is read off by dropping the connection.
                return Err(PullError::Aborted);
            }
            if m.uid < from {
                continue;
            }
            let date = m
                .internal_date_ms
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
            mb.append(local, &m.body, flags_of(&m.flags), date).await?;
            done.messages += 1;
            messages.fetch_add(1, Ordering::Relaxed);
            if seen.uid_validity != 0 {
                let mark = marks
                    .entry(f.wire.clone())
                    .or_insert((seen.uid_validity, 0));
                *mark = (seen.uid_validity, mark.1.max(m.uid));
            }
        }
    }
    client.logout().await;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(wire: &str, delim: Option<char>) -> RemoteFolder {
        RemoteFolder {
            wire: wire.as_bytes().to_vec(),
            delimiter: delim,
            no_select: false,
        }
    }

    #[test]
    fn paths_map_inbox_delimiters_and_utf7() {
        assert_eq!(
            local_path(&folder("INBOX", Some('/'))),
            Some(vec!["Inbox".to_string()])
        );
        assert_eq!(
            local_path(&folder("inbox.Work.2024", Some('.'))),
            Some(vec!["Inbox".into(), "Work".into(), "2024".into()])
        );
        assert_eq!(
            local_path(&folder("Sent", None)),
            Some(vec!["Sent".to_string()])
        );
        assert_eq!(
            local_path(&folder("Entw&APw-rfe", Some('/'))),
            Some(vec!["Entwürfe".to_string()])
        );
        assert_eq!(local_path(&folder("a/b", Some('.'))), None);
        assert_eq!(local_path(&folder("a..b", Some('.'))), None);
        assert_eq!(local_path(&folder("bad&-utf7-&", Some('/'))), None);
    }

    #[test]
    fn marks_round_trip_per_server() {
        let mut m = Marks::new();
        m.insert(b"INBOX".to_vec(), (7, 42));
        m.insert("Entw&APw-rfe x".as_bytes().to_vec(), (1, 3));
        let values = marks_to_values("imap.test:143", &m);
        assert!(values.iter().all(|v| is_mark(v) && !v.contains("INBOX")));
        let mut all = values.clone();
        all.push("other value".into());
        all.push("bulkImapUid zz 1 2 3".into());
        assert_eq!(marks_from_values("imap.test:143", &all), m);
        assert!(marks_from_values("imap.test:993", &all).is_empty());
    }

    #[test]
    fn flags_map_seen_to_read() {
        assert_eq!(flags_of(&[]).0, Flags::UNREAD);
        let f = flags_of(&["\\Seen".into(), "\\Flagged".into(), "$Forwarded".into()]);
        assert_eq!(f.0, Flags::FLAGGED | Flags::FORWARDED);
        let f = flags_of(&["\\ANSWERED".into(), "\\Draft".into(), "custom".into()]);
        assert_eq!(f.0, Flags::UNREAD | Flags::ANSWERED | Flags::DRAFT);
    }
}
