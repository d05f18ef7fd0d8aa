//! `zmmailbox help [topic]`: the command table of the families this crate's core and
//! its mail, folder, search, account and REST modules answer (name, short name,
//! syntax, options, topic), looked up without regard to case as Zimbra's tool does,
//! and printed in Zimbra's layout: the topic list, then for a topic each command's
//! `name(alias)  [opts] syntax` line and its `-x/--long <arg>` option lines. The
//! families other modules fill in (calendar, filter, rights, admin) add their own
//! `HELP` lines under their topic.

/// The help topics, in Zimbra's order, with the line the topic list shows.
pub(super) const TOPICS: [(&str, &str); 14] = [
    ("admin", "admin commands"),
    ("account", "identity and signature commands"),
    ("appointment", "calendar commands"),
    ("commands", "every command"),
    ("contact", "contact commands"),
    ("conversation", "conversation commands"),
    ("filter", "mail filter commands"),
    ("folder", "folder commands"),
    ("item", "commands on any kind of item"),
    ("message", "message commands"),
    ("misc", "other commands"),
    ("right", "right commands"),
    ("search", "search commands"),
    ("tag", "tag commands"),
];

/// One option: short name, long name, whether it takes a value, what it does.
pub(super) type Opt = (Option<&'static str>, &'static str, bool, &'static str);

pub(super) const O_AUTH: Opt = (None, "auth", true, "account to log in as");
pub(super) const O_AS_ADMIN: Opt = (Some("A"), "admin-priv", false, "act with admin rights");
pub(super) const O_COLOR: Opt = (Some("c"), "color", true, "color (name, 0-9 or #rrggbb)");
pub(super) const O_CONTENT_TYPE: Opt = (Some("c"), "contentType", true, "content type");
pub(super) const O_CURRENT: Opt = (Some("c"), "current", false, "show this page again");
pub(super) const O_DATE: Opt = (Some("d"), "date", true, "received date (ms since 1970)");
pub(super) const O_FLAGS: Opt = (Some("F"), "flags", true, "flags");
pub(super) const O_FOLDER: Opt = (Some("f"), "folder", true, "folder path or id");
pub(super) const O_IGNORE: Opt = (Some("i"), "ignore", false, "skip unknown contact fields");
pub(super) const O_IGNORE_ERROR: Opt = (Some("i"), "ignore", false, "go on past bad entries");
pub(super) const O_LIMIT: Opt = (Some("l"), "limit", true, "hits per page (1-1000, 25)");
pub(super) const O_NEXT: Opt = (Some("n"), "next", false, "the next page");
pub(super) const O_OUTPUT: Opt = (Some("o"), "output", true, "file to write to");
pub(super) const O_PRESERVE_ALARMS: Opt = (None, "preserveAlarms", false, "keep alarms");
pub(super) const O_START: Opt = (None, "startTime", true, "start of an ics export");
pub(super) const O_END: Opt = (None, "endTime", true, "end of an ics export");
pub(super) const O_PREVIOUS: Opt = (Some("p"), "previous", false, "the previous page");
pub(super) const O_SORT: Opt = (Some("s"), "sort", true, "sort order (dateDesc, ...)");
pub(super) const O_REPLACE: Opt = (Some("r"), "replace", false, "replace, not merge");
pub(super) const O_TAGS: Opt = (Some("T"), "tags", true, "tag names or ids");
pub(super) const O_TYPES: Opt = (Some("t"), "types", true, "message,conversation,contact,...");
pub(super) const O_URL: Opt = (Some("u"), "url", true, "server url (accepted, unused)");
pub(super) const O_VERBOSE: Opt = (Some("v"), "verbose", false, "print every field");
pub(super) const O_VIEW: Opt = (Some("V"), "view", true, "view (message, appointment, ...)");
pub(super) const O_NO_VALIDATION: Opt = (None, "noValidation", false, "add any file");
pub(super) const O_DUMPSTER: Opt = (None, "dumpster", false, "search the dumpster");
pub(super) const O_OFFSET: Opt = (Some("o"), "offset", true, "first hit to show (0)");

/// One command of the table.
pub(super) struct Cmd {
    /// The long name (canonical spelling).
    pub name: &'static str,
    /// The short name.
    pub alias: Option<&'static str>,
    /// The operands.
    pub syntax: &'static str,
    /// Its help topic.
    pub topic: &'static str,
    /// Its options.
    pub opts: &'static [Opt],
}

const fn c(
    name: &'static str,
    alias: &'static str,
    syntax: &'static str,
    topic: &'static str,
    opts: &'static [Opt],
) -> Cmd {
    Cmd {
        name,
        alias: if alias.is_empty() { None } else { Some(alias) },
        syntax,
        topic,
        opts,
    }
}

/// Every command this crate's own modules answer, alphabetical as Zimbra lists them.
pub(super) const COMMANDS: &[Cmd] = &[
    c(
        "addMessage",
        "am",
        "{dest-folder-path} {filename-or-dir} [{filename-or-dir} ...]",
        "message",
        &[O_TAGS, O_DATE, O_FLAGS, O_NO_VALIDATION],
    ),
    c(
        "authenticate",
        "a",
        "{auth-account-name} {password} [target-account-name]",
        "misc",
        &[O_URL],
    ),
    c(
        "createContact",
        "cct",
        "[attr1 value1 [attr2 value2...]]",
        "contact",
        &[O_FOLDER, O_IGNORE, O_TAGS],
    ),
    c(
        "createFolder",
        "cf",
        "{folder-path}",
        "folder",
        &[O_VIEW, O_COLOR, O_FLAGS, O_URL],
    ),
    c(
        "createIdentity",
        "cid",
        "{identity-name} [attr1 value1 [attr2 value2...]]",
        "account",
        &[],
    ),
    c(
        "createMountpoint",
        "cm",
        "{folder-path} {owner-id-or-name} {remote-item-id-or-path} [{reminder-enabled (0*|1)}]",
        "folder",
        &[O_VIEW, O_COLOR, O_FLAGS],
    ),
    c(
        "createSearchFolder",
        "csf",
        "{folder-path} {query}",
        "folder",
        &[O_SORT, O_TYPES, O_COLOR],
    ),
    c(
        "createSignature",
        "csig",
        "{signature-name} [signature-value}",
        "account",
        &[],
    ),
    c("createTag", "ct", "{tag-name}", "tag", &[O_COLOR]),
    c("deleteContact", "dct", "{contact-ids}", "contact", &[]),
    c(
        "deleteConversation",
        "dc",
        "{conv-ids}",
        "conversation",
        &[],
    ),
    c("deleteFolder", "df", "{folder-path}", "folder", &[]),
    c("deleteIdentity", "did", "{identity-name}", "account", &[]),
    c("deleteItem", "di", "{item-ids}", "item", &[]),
    c("deleteMessage", "dm", "{msg-ids}", "message", &[]),
    c(
        "deleteSignature",
        "dsig",
        "{signature-name|signature-id}",
        "account",
        &[],
    ),
    c("deleteTag", "dt", "{tag-name}", "tag", &[]),
    c("dumpsterDeleteItem", "ddi", "{item-ids}", "item", &[]),
    c("emptyDumpster", "", "", "misc", &[]),
    c("emptyFolder", "ef", "{folder-path}", "folder", &[]),
    c("exit", "quit", "", "misc", &[]),
    c("flagContact", "fct", "{contact-ids} [0|1*]", "contact", &[]),
    c(
        "flagConversation",
        "fc",
        "{conv-ids} [0|1*]",
        "conversation",
        &[],
    ),
    c("flagItem", "fi", "{item-ids} [0|1*]", "item", &[]),
    c("flagMessage", "fm", "{msg-ids} [0|1*]", "message", &[]),
    c(
        "getAllContacts",
        "gact",
        "[attr1 [attr2...]]",
        "contact",
        &[O_VERBOSE, O_FOLDER],
    ),
    c("getAllFolders", "gaf", "", "folder", &[O_VERBOSE]),
    c("getAllTags", "gat", "", "tag", &[O_VERBOSE]),
    c(
        "getContacts",
        "gct",
        "{contact-ids} [attr1 [attr2...]]",
        "contact",
        &[O_VERBOSE],
    ),
    c(
        "getConversation",
        "gc",
        "{conv-id}",
        "conversation",
        &[O_VERBOSE],
    ),
    c("getFolder", "gf", "{folder-path}", "folder", &[O_VERBOSE]),
    c(
        "getFolderGrant",
        "gfg",
        "{folder-path}",
        "folder",
        &[O_VERBOSE],
    ),
    c(
        "getFolderRequest",
        "gfr",
        "{folder-id}",
        "folder",
        &[O_VERBOSE],
    ),
    c("getIdentities", "gid", "", "account", &[O_VERBOSE]),
    c("getMailboxSize", "gms", "", "misc", &[O_VERBOSE]),
    c("getMessage", "gm", "{msg-id}", "message", &[O_VERBOSE]),
    c(
        "getRestURL",
        "gru",
        "{relative-path}",
        "misc",
        &[O_OUTPUT, O_START, O_END, O_URL],
    ),
    c("getSignatures", "gsig", "", "account", &[O_VERBOSE]),
    c("help", "?", "commands", "misc", &[O_VERBOSE]),
    c(
        "importURLIntoFolder",
        "iuif",
        "{folder-path} {url}",
        "folder",
        &[],
    ),
    c(
        "markConversationRead",
        "mcr",
        "{conv-ids} [0|1*]",
        "conversation",
        &[],
    ),
    c(
        "markConversationSpam",
        "mcs",
        "{conv} [0|1*] [{dest-folder-path}]",
        "conversation",
        &[],
    ),
    c("markFolderRead", "mfr", "{folder-path}", "folder", &[]),
    c("markItemRead", "mir", "{item-ids} [0|1*]", "item", &[]),
    c("markMessageRead", "mmr", "{msg-ids} [0|1*]", "message", &[]),
    c(
        "markMessageSpam",
        "mms",
        "{msg} [0|1*] [{dest-folder-path}]",
        "message",
        &[],
    ),
    c("markTagRead", "mtr", "{tag-name}", "tag", &[]),
    c(
        "modifyContactAttrs",
        "mcta",
        "{contact-id} [attr1 value1 [attr2 value2...]]",
        "contact",
        &[O_REPLACE, O_IGNORE],
    ),
    c(
        "modifyFolderChecked",
        "mfch",
        "{folder-path} [0|1*]",
        "folder",
        &[],
    ),
    c(
        "modifyFolderColor",
        "mfc",
        "{folder-path} {new-color}",
        "folder",
        &[],
    ),
    c(
        "modifyFolderExcludeFreeBusy",
        "mfefb",
        "{folder-path} [0|1*]",
        "folder",
        &[],
    ),
    c(
        "modifyFolderFlags",
        "mff",
        "{folder-path} {folder-flags}",
        "folder",
        &[],
    ),
    c(
        "modifyFolderGrant",
        "mfg",
        "{folder-path} {account {name}|group {name}|domain {name}|all|public|guest {email} \
         [{password}]} {permissions|none}",
        "folder",
        &[],
    ),
    c(
        "modifyFolderURL",
        "mfu",
        "{folder-path} {url}",
        "folder",
        &[],
    ),
    c(
        "modifyIdentity",
        "mid",
        "{identity-name} [attr1 value1 [attr2 value2...]]",
        "account",
        &[],
    ),
    c(
        "modifyItemFlags",
        "mif",
        "{item-ids} {item-flags}",
        "item",
        &[],
    ),
    c(
        "modifyMountpointEnableSharedReminder",
        "mmesr",
        "{mountpoint-path} {0|1}",
        "folder",
        &[],
    ),
    c(
        "modifySignature",
        "msig",
        "{signature-name|signature-id} {value}",
        "account",
        &[],
    ),
    c(
        "modifyTagColor",
        "mtc",
        "{tag-name} {tag-color}",
        "tag",
        &[],
    ),
    c(
        "moveContact",
        "mct",
        "{contact-ids} {dest-folder-path}",
        "contact",
        &[],
    ),
    c(
        "moveConversation",
        "mc",
        "{conv-ids} {dest-folder-path}",
        "conversation",
        &[],
    ),
    c(
        "moveItem",
        "mi",
        "{item-ids} {dest-folder-path}",
        "item",
        &[],
    ),
    c(
        "moveMessage",
        "mm",
        "{msg-ids} {dest-folder-path}",
        "message",
        &[],
    ),
    c("noOp", "no", "", "misc", &[]),
    c(
        "postRestURL",
        "pru",
        "{relative-path} {file-name}",
        "misc",
        &[O_CONTENT_TYPE, O_IGNORE_ERROR, O_PRESERVE_ALARMS, O_URL],
    ),
    c(
        "recoverItem",
        "ri",
        "{item-ids} {dest-folder-path}",
        "item",
        &[],
    ),
    c(
        "renameFolder",
        "rf",
        "{folder-path} {new-folder-path}",
        "folder",
        &[],
    ),
    c(
        "renameSignature",
        "rsig",
        "{signature-name|signature-id} {new-name}",
        "account",
        &[],
    ),
    c("renameTag", "rt", "{tag-name} {new-tag-name}", "tag", &[]),
    c(
        "search",
        "s",
        "{query}",
        "search",
        &[
            O_LIMIT, O_SORT, O_TYPES, O_VERBOSE, O_CURRENT, O_NEXT, O_PREVIOUS, O_DUMPSTER,
            O_OFFSET,
        ],
    ),
    c(
        "searchConv",
        "sc",
        "{conv-id} {query}",
        "search",
        &[
            O_LIMIT, O_SORT, O_TYPES, O_VERBOSE, O_CURRENT, O_NEXT, O_PREVIOUS,
        ],
    ),
    c(
        "selectMailbox",
        "sm",
        "{name}",
        "admin",
        &[O_AUTH, O_AS_ADMIN],
    ),
    c("syncFolder", "sf", "{folder-path}", "folder", &[]),
    c(
        "tagContact",
        "tct",
        "{contact-ids} {tag-name} [0|1*]",
        "contact",
        &[],
    ),
    c(
        "tagConversation",
        "tc",
        "{conv-ids} {tag-name} [0|1*]",
        "conversation",
        &[],
    ),
    c("tagItem", "ti", "{item-ids} {tag-name} [0|1*]", "item", &[]),
    c(
        "tagMessage",
        "tm",
        "{msg-ids} {tag-name} [0|1*]",
        "message",
        &[],
    ),
    c("whoami", "", "", "misc", &[]),
];

/// The table entry `word` names (long or short name, any case).
pub(super) fn lookup(word: &str) -> Option<&'static Cmd> {
    COMMANDS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(word) || c.alias.is_some_and(|a| a.eq_ignore_ascii_case(word))
    })
}

/// The names of the options of `cmd` that take a value (`-x` and `--long`), for
/// [`super::Parsed::new`].
pub(super) fn valued(cmd: &Cmd) -> Vec<String> {
    let mut out = Vec::new();
    for (short, long, arg, _) in cmd.opts {
        if *arg {
            if let Some(s) = short {
                out.push(format!("-{s}"));
            }
            out.push(format!("--{long}"));
        }
    }
    out
}

/// One command's usage: `name(alias)  [opts] syntax`, then one line per option.
pub(super) fn usage(cmd: &Cmd) -> String {
    let name = match cmd.alias {
        Some(a) => format!("{}({a})", cmd.name),
        None => cmd.name.to_string(),
    };
    let opts = if cmd.opts.is_empty() { "" } else { "[opts] " };
    let mut out = format!("  {name:<28} {opts}{}\n", cmd.syntax);
    for (short, long, arg, desc) in cmd.opts {
        let arg = if *arg { " <arg>" } else { "" };
        let o = match short {
            Some(s) => format!("  -{s}/--{long}{arg}"),
            None => format!("  --{long}{arg}"),
        };
        out.push_str(&format!("  {o:<30} {desc}\n"));
    }
    out
}

/// The topic `word` names: its exact name, else the first topic it begins.
pub(super) fn topic(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_lowercase();
    TOPICS
        .iter()
        .find(|(t, _)| *t == w)
        .or_else(|| {
            TOPICS
                .iter()
                .find(|(t, _)| !w.is_empty() && t.starts_with(&w))
        })
        .map(|(t, _)| *t)
}

/// `help [topic]`: the topic list when none (or no known one) is named; the commands
/// of the topic (all for `commands`), each family's extra lines, `extra` giving the
/// other modules' help lines by topic.
pub(super) fn text(arg: Option<&str>, extra: &[(&str, &str)]) -> String {
    let topic = arg.and_then(topic);
    let mut out = String::new();
    if topic.is_none() {
        out.push_str(" zmmailbox is used for mailbox management. Try:\n\n");
        for (t, d) in TOPICS {
            out.push_str(&format!("     zmmailbox help {t:<15} {d}\n"));
        }
        return out;
    }
    let topic = topic.unwrap_or("commands");
    out.push('\n');
    for cmd in COMMANDS {
        if topic == "commands" || cmd.topic == topic {
            out.push_str(&usage(cmd));
            out.push('\n');
        }
    }
    for (t, lines) in extra {
        if !lines.is_empty() && (topic == "commands" || *t == topic) {
            out.push_str(lines);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_found_in_any_case() {
        assert_eq!(lookup("GC").map(|c| c.name), Some("getConversation"));
        assert_eq!(
            lookup("markconversationread").map(|c| c.name),
            Some("markConversationRead")
        );
        assert_eq!(lookup("ddi").map(|c| c.name), Some("dumpsterDeleteItem"));
        assert!(lookup("frobnicate").is_none());
    }

    #[test]
    fn no_two_commands_share_a_name() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.name.to_ascii_lowercase()), "{}", c.name);
            if let Some(a) = c.alias {
                assert!(seen.insert(a.to_ascii_lowercase()), "{a}");
            }
        }
    }

    #[test]
    fn usage_lines_follow_zimbras_layout() {
        let u = usage(lookup("gru").unwrap());
        let lines: Vec<&str> = u.lines().collect();
        assert_eq!(
            lines[0],
            format!("  {:<28} [opts] {{relative-path}}", "getRestURL(gru)")
        );
        assert!(lines[1].starts_with("    -o/--output <arg>"), "{u}");
        assert_eq!(lines[1].find("file to write to"), Some(33), "{u}");
        assert_eq!(
            valued(lookup("gru").unwrap()),
            ["-o", "--output", "--startTime", "--endTime", "-u", "--url"]
        );
    }

    #[test]
    fn topics_are_matched_by_prefix() {
        assert_eq!(topic("conv"), Some("conversation"));
        assert_eq!(topic("FOLDER"), Some("folder"));
        assert_eq!(topic("zzz"), None);
        let t = text(Some("tag"), &[]);
        assert!(
            t.contains("renameTag(rt)") && !t.contains("renameFolder"),
            "{t}"
        );
        assert!(text(None, &[]).contains("zmmailbox help conversation"));
        let all = text(
            Some("commands"),
            &[("filter", "  addFilterRule(afrl) ...\n")],
        );
        assert!(
            all.contains("getConversation(gc)") && all.contains("afrl"),
            "{all}"
        );
    }
}
