//! LIST and LSUB (RFC 3501 §6.3.8-9) with CHILDREN (RFC 3348), LIST-EXTENDED (RFC 5258:
//! selection and return options, several patterns), SPECIAL-USE (RFC 6154), LIST-STATUS
//! (RFC 5819) and XLIST (Gmail's, which Zimbra offers).
//!
//! Only mail folders are listed (see `folders::is_mail`); a non-mail folder above a mail
//! folder shows as `\Noselect`. Zimbra's Sent, Drafts, Trash and Junk system folders
//! carry their special-use attribute in every LIST answer, as RFC 6154 §1 permits.

use std::collections::{BTreeMap, HashSet};

use zcs_core::{ItemId, folder};

use super::folders::{imap_name, is_mail};
use super::{Handled, Session};
use crate::imap::backend::FolderInfo;
use crate::imap::parser::ListCommand;
use crate::imap::response::{Reply, push_mailbox_as};

/// The RFC 6154 §2 attribute of a system folder.
fn special_use(id: ItemId) -> Option<&'static str> {
    match id.0 {
        folder::SENT => Some("\\Sent"),
        folder::DRAFTS => Some("\\Drafts"),
        folder::TRASH => Some("\\Trash"),
        folder::JUNK => Some("\\Junk"),
        _ => None,
    }
}

/// The XLIST attribute of a system folder (Gmail's names: `\Inbox`, `\Spam`).
fn xlist_attr(id: ItemId) -> Option<&'static str> {
    match id.0 {
        folder::INBOX => Some("\\Inbox"),
        folder::JUNK => Some("\\Spam"),
        _ => special_use(id),
    }
}

/// Applies the reference to a pattern (RFC 3501 §6.3.8) and spells INBOX in capitals,
/// so `inbox/%` matches `INBOX/x`.
fn full_pattern(reference: &str, pattern: &str) -> String {
    let full = format!("{reference}{pattern}");
    match full.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("INBOX") => format!("INBOX{}", &full[5..]),
        _ => full,
    }
}

/// RFC 3501 §6.3.8 wildcard match: `*` matches anything, `%` anything but `/`.
/// Case-insensitive; dynamic programming, so no pattern is exponential.
pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    // reach[j]: the pattern prefix consumed so far can end at name position j.
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut on = false;
                for j in 0..=n.len() {
                    if reach[j] {
                        on = true;
                    }
                    next[j] = on;
                    if pc == '%' && j < n.len() && n[j] == '/' {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    if reach[j] && n[j] == c {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n.len()]
}

/// The listable names of an account: every mail folder, and each of their superior
/// levels (`None`: not a mail folder, so `\Noselect`).
fn listable(folders: &[FolderInfo]) -> BTreeMap<String, Option<FolderInfo>> {
    let mut names: BTreeMap<String, Option<FolderInfo>> = BTreeMap::new();
    for f in folders.iter().filter(|f| is_mail(f)) {
        let name = imap_name(&f.path);
        let parts: Vec<&str> = name.split('/').collect();
        for depth in 1..parts.len() {
            let superior = parts[..depth].join("/");
            // The Other Users namespace starts with `/`: no empty name above it.
            if !superior.is_empty() {
                names.entry(superior).or_insert(None);
            }
        }
        names.insert(name, Some(f.clone()));
    }
    names
}

impl Session {
    /// LIST, LIST-EXTENDED and XLIST.
    pub(super) async fn list(&mut self, cmd: &ListCommand) -> Handled {
        let verb = if cmd.xlist { "XLIST" } else { "LIST" };
        if cmd.patterns.iter().all(String::is_empty) {
            // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and root.
            self.untagged(&format!("{verb} (\\Noselect) \"/\" \"\""))
                .await?;
            return Ok(Reply::ok(format!("{verb} completed")));
        }
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let folders = account.list_folders().await?;
        let names = listable(&folders);
        let patterns: Vec<String> = cmd
            .patterns
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| full_pattern(&cmd.reference, p))
            .collect();
        let parents: HashSet<&str> = names
            .keys()
            .filter_map(|n| n.rsplit_once('/').map(|(p, _)| p))
            .collect();
        let subscribed = cmd.select_subscribed || cmd.return_subscribed;
        let subs = if subscribed {
            account
                .subscriptions()
                .await?
                .map(|v| v.into_iter().collect::<HashSet<_>>())
        } else {
            None
        };
        let is_subscribed =
            |name: &str, exists: bool| subs.as_ref().map_or(exists, |s| s.contains(name));
        // RFC 5258 §3.1: a subscribed name that no longer exists is listed with
        // \NonExistent under (SUBSCRIBED).
        if cmd.select_subscribed
            && let Some(subs) = &subs
        {
            let mut gone: Vec<&String> = subs
                .iter()
                .filter(|n| !names.contains_key(n.as_str()))
                .collect();
            gone.sort();
            for name in gone {
                if !patterns.iter().any(|p| wildcard_match(p, name)) {
                    continue;
                }
                let mut line = format!("* {verb} (\\NonExistent \\Subscribed) \"/\" ").into_bytes();
                push_mailbox_as(&mut line, name, self.enabled.utf8);
                line.extend_from_slice(b"\r\n");
                self.conn.write(&line).await?;
            }
        }
        let mut ordered: Vec<(&String, &Option<FolderInfo>)> = names.iter().collect();
        ordered.sort_by_key(|(n, _)| (n.as_str() != "INBOX", n.to_lowercase()));
        for (n, (name, info)) in ordered.into_iter().enumerate() {
            // Breaker finding H2: deep or wide trees yield to other sessions.
            if n % 256 == 255 {
                tokio::task::yield_now().await;
            }
            if !patterns.iter().any(|p| wildcard_match(p, name)) {
                continue;
            }
            let special = info.as_ref().and_then(|f| {
                if cmd.xlist {
                    xlist_attr(f.id)
                } else {
                    special_use(f.id)
                }
            });
            if cmd.select_special_use && special.is_none() {
                continue;
            }
            let sub = is_subscribed(name, info.is_some());
            if cmd.select_subscribed && !sub {
                continue;
            }
            let mut attrs = Vec::new();
            if info.is_none() {
                attrs.push("\\Noselect");
            }
            attrs.push(if parents.contains(name.as_str()) {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if subscribed && sub {
                attrs.push("\\Subscribed");
            }
            attrs.extend(special);
            let mut line = format!("* {verb} ({}) \"/\" ", attrs.join(" ")).into_bytes();
            push_mailbox_as(&mut line, name, self.enabled.utf8);
            line.extend_from_slice(b"\r\n");
            self.conn.write(&line).await?;
            // RFC 5819 §2: STATUS after the LIST line, only for selectable mailboxes.
            if let (Some(items), Some(info)) = (&cmd.return_status, info) {
                let status = self.status_line(info, items).await?;
                self.conn.write(&status).await?;
            }
        }
        Ok(Reply::ok(format!("{verb} completed")))
    }

    /// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7): SUBSCRIBE wants an existing
    /// mailbox; UNSUBSCRIBE takes any name, so stale entries can be cleaned up.
    pub(super) async fn subscribe(&mut self, name: &str, on: bool) -> Handled {
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let verb = if on { "SUBSCRIBE" } else { "UNSUBSCRIBE" };
        let canonical = match self.find_folder(name).await? {
            Some(f) => super::folders::imap_name(&f.path),
            None if on => return Ok(Reply::no("No such mailbox").with_code("NONEXISTENT")),
            None => name.to_string(),
        };
        account.set_subscribed(&canonical, on).await?;
        Ok(Reply::ok(format!("{verb} completed")))
    }

    /// LSUB (RFC 3501 §6.3.9): the subscribed names matching the pattern; a name whose
    /// mailbox is gone is shown `\Noselect`. Without stored subscriptions, every mail
    /// folder.
    pub(super) async fn lsub(&mut self, reference: &str, pattern: &str) -> Handled {
        if pattern.is_empty() {
            return Ok(Reply::ok("LSUB completed"));
        }
        let Some(account) = self.account.clone() else {
            return Ok(Reply::bad("Please authenticate first"));
        };
        let mut names = listable(&account.list_folders().await?);
        if let Some(subs) = account.subscriptions().await? {
            let subs: HashSet<String> = subs.into_iter().collect();
            names.retain(|n, info| subs.contains(n) && info.is_some());
            for s in subs {
                names.entry(s).or_insert(None);
            }
        }
        let full = full_pattern(reference, pattern);
        let mut ordered: Vec<(&String, &Option<FolderInfo>)> = names.iter().collect();
        ordered.sort_by_key(|(n, _)| (n.as_str() != "INBOX", n.to_lowercase()));
        for (name, info) in ordered {
            if !wildcard_match(&full, name) {
                continue;
            }
            let attrs = if info.is_some() { "" } else { "\\Noselect" };
            let mut line = format!("* LSUB ({attrs}) \"/\" ").into_bytes();
            push_mailbox_as(&mut line, name, self.enabled.utf8);
            line.extend_from_slice(b"\r\n");
            self.conn.write(&line).await?;
        }
        Ok(Reply::ok("LSUB completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_wildcards() {
        assert!(wildcard_match("*", "a/b/c"));
        assert!(wildcard_match("%", "abc"));
        assert!(!wildcard_match("%", "a/b"));
        assert!(wildcard_match("a/%", "a/b"));
        assert!(!wildcard_match("a/%", "a/b/c"));
        assert!(wildcard_match("a/*", "a/b/c"));
        assert!(wildcard_match("INBOX", "INBOX"));
        assert!(wildcard_match("inbox*", "INBOX/x"));
        assert!(wildcard_match("%/%", "a/b"));
        assert!(!wildcard_match("a", "ab"));
        assert!(wildcard_match("a%c", "abc"));
        assert!(!wildcard_match("a%c", "ab/c"));
        assert!(wildcard_match("", ""));
    }

    proptest! {
        #[test]
        fn star_matches_everything(name in "\\PC{0,30}") {
            prop_assert!(wildcard_match("*", &name));
            let plain = name.replace(['*', '%'], "x");
            prop_assert!(wildcard_match(&plain, &plain));
        }

        #[test]
        fn long_patterns_are_fast(n in 1usize..200) {
            let pattern = "*%".repeat(n) + "z";
            prop_assert!(!wildcard_match(&pattern, &"a/".repeat(200)));
        }
    }

    #[test]
    fn system_folders_have_special_use() {
        assert_eq!(special_use(ItemId(folder::SENT)), Some("\\Sent"));
        assert_eq!(special_use(ItemId(folder::INBOX)), None);
        assert_eq!(xlist_attr(ItemId(folder::INBOX)), Some("\\Inbox"));
        assert_eq!(xlist_attr(ItemId(folder::JUNK)), Some("\\Spam"));
        assert_eq!(full_pattern("inbox/", "%"), "INBOX/%");
    }
}
