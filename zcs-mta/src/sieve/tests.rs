//! Tests of the Sieve runner: standard actions, Zimbra's dialect, vacation memory, and
//! property tests that no script and no message makes it panic.

use std::collections::HashMap;
use std::sync::Mutex;

use proptest::prelude::*;

use super::*;

const MESSAGE: &[u8] = b"From: Boss <boss@example.test>\r\nTo: joe@example.test\r\n\
Subject: Quarterly report\r\nMessage-ID: <1@example.test>\r\n\r\nNumbers inside.\r\n";

fn run(script: &str) -> Vec<SieveAction> {
    run_with(script, None)
}

fn run_with(script: &str, tracker: Option<&dyn VacationTracker>) -> Vec<SieveAction> {
    let envelope = SieveEnvelope {
        from: "boss@example.test",
        to: "joe@example.test",
    };
    let ctx = SieveContext {
        user_address: "joe@example.test",
        user_name: "Joe",
        vacation: tracker,
    };
    run_sieve(script, MESSAGE, envelope, ctx)
}

fn keep() -> SieveAction {
    SieveAction::Keep {
        flags: vec![],
        tags: vec![],
    }
}

#[test]
fn implicit_keep_and_errors() {
    assert_eq!(run(""), vec![keep()]);
    assert_eq!(run("this is not sieve {"), vec![keep()]);
    assert_eq!(run("require \"fileinto\";"), vec![keep()]);
}

#[test]
fn fileinto_copy_discard_redirect_reject() {
    let s = "require [\"fileinto\", \"copy\"];\r\n\
             if header :contains \"subject\" \"report\" { fileinto :copy \"Reports\"; }";
    let actions = run(s);
    assert!(actions.contains(&SieveAction::FileInto {
        folder: "Reports".into(),
        flags: vec![],
        tags: vec![],
        create: false
    }));
    assert!(actions.contains(&keep()), "{actions:?}");

    let s = "require \"fileinto\"; fileinto \"Work/Reports\";";
    assert_eq!(
        run(s),
        vec![SieveAction::FileInto {
            folder: "Work/Reports".into(),
            flags: vec![],
            tags: vec![],
            create: false
        }]
    );
    assert_eq!(run("discard;"), vec![SieveAction::Discard]);
    assert_eq!(
        run("redirect \"other@example.test\";"),
        vec![SieveAction::Redirect {
            address: "other@example.test".into()
        }]
    );
    let rejected = run("require \"reject\"; reject \"go away\";");
    assert_eq!(
        rejected,
        vec![SieveAction::Reject {
            reason: "go away".into(),
            extended: false
        }]
    );
}

#[test]
fn flags_and_zimbra_tags() {
    let s = "require [\"imap4flags\"]; addflag \"\\\\Flagged\"; keep;";
    assert_eq!(
        run(s),
        vec![SieveAction::Keep {
            flags: vec!["\\Flagged".into()],
            tags: vec![]
        }]
    );
    // RFC 5232 §3: the implicit keep files with the flags set so far.
    let s = "require [\"imap4flags\"]; addflag \"\\\\Flagged\";";
    assert_eq!(
        run(s),
        vec![SieveAction::Keep {
            flags: vec!["\\Flagged".into()],
            tags: vec![]
        }]
    );
    let s = "require [\"fileinto\", \"tag\", \"flag\"];\r\n\
             # tag \"not-this\";\r\n\
             if header :is \"from\" \"x\" { tag \"never\"; }\r\n\
             tag \"Boss\"; flag \"read\"; fileinto \"Inbox/Boss\";";
    assert_eq!(
        run(s),
        vec![SieveAction::FileInto {
            folder: "Inbox/Boss".into(),
            flags: vec!["\\Seen".into()],
            tags: vec!["Boss".into()],
            create: false
        }]
    );
}

#[test]
fn disabled_rules_compile_and_never_fire() {
    // As Zimbra's GetFilterRules/ModifyFilterRules write an inactive rule.
    let s = "require [\"fileinto\"];\n# off\n\
             disabled_if anyof (header :contains \"subject\" \"report\") {\n\
             fileinto \"Reports\";\n}\n\
             # on\nif header :contains \"subject\" \"quarterly\" { discard; }\n";
    validate(s).expect("a script with a disabled rule compiles");
    assert_eq!(
        run(s),
        vec![SieveAction::Discard],
        "only the active rule acts"
    );
    let only_disabled = "disabled_if header :contains \"subject\" \"report\" { discard; }";
    assert_eq!(run(only_disabled), vec![keep()]);
    // Inside a string it is text, not a command.
    let quoted = "if header :contains \"subject\" \"disabled_if\" { discard; }";
    assert_eq!(run(quoted), vec![keep()]);
}

#[test]
fn rewrite_leaves_strings_and_comments() {
    let s = "# tag \"a\";\n/* flag \"read\"; */ if header :is \"x\" \"tag\" { tag \"b\"; }";
    let r = rewrite_zimbra_commands(s);
    assert!(r.starts_with("# tag \"a\";\n/* flag \"read\"; */"), "{r}");
    assert!(r.contains("\"x\" \"tag\""), "{r}");
    assert!(r.contains("addflag \"$zcs-tag:b\";"), "{r}");
}

#[derive(Default)]
struct Memory(Mutex<HashMap<String, u64>>);

impl VacationTracker for Memory {
    fn seen_within(&self, key: &str, period_secs: u64) -> bool {
        let mut map = self.0.lock().unwrap();
        if map.contains_key(key) {
            return true;
        }
        map.insert(key.to_string(), period_secs);
        false
    }
}

#[test]
fn vacation_once_per_sender() {
    let script = out_of_office_script("I am \"away\" until Monday.", 7, Some("Away"));
    let memory = Memory::default();
    let first = run_with(&script, Some(&memory));
    let sent: Vec<_> = first
        .iter()
        .filter_map(|a| match a {
            SieveAction::Send { to, message } => Some((to.clone(), message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{first:?}");
    assert_eq!(sent[0].0, "boss@example.test");
    let text = String::from_utf8_lossy(&sent[0].1);
    assert!(text.contains("I am \"away\" until Monday."), "{text}");
    assert!(text.contains("Subject: Away"), "{text}");
    assert!(first.contains(&keep()));
    let period = memory.0.lock().unwrap().values().next().copied();
    assert_eq!(period, Some(7 * 86400));

    let second = run_with(&script, Some(&memory));
    assert_eq!(second, vec![keep()]);
}

proptest! {
    #[test]
    fn any_script_text_never_panics(script in "\\PC{0,200}") {
        let actions = run(&script);
        let _ = actions;
    }

    #[test]
    fn sieveish_scripts_never_panic(
        parts in proptest::collection::vec(prop_oneof![
            Just("require [\"fileinto\",\"vacation\",\"imap4flags\",\"copy\"];"),
            Just("if header :contains \"subject\" \"r\" {"),
            Just("}"), Just("else {"), Just("fileinto :copy \"F\";"), Just("discard;"),
            Just("tag \"t\";"), Just("flag \"read\";"), Just("keep;"), Just("stop;"),
            Just("vacation :days 1 \"x\";"), Just("redirect \"a@b.c\";"), Just("\""),
            Just("text:\r\nx\r\n.\r\n"), Just("/*"), Just("#"), Just("addflag \"\\\\Seen\";"),
        ], 0..12),
    ) {
        let _ = run(&parts.concat());
    }

    #[test]
    fn any_message_never_panics(message in proptest::collection::vec(any::<u8>(), 0..400)) {
        let envelope = SieveEnvelope { from: "a@b.c", to: "joe@example.test" };
        let ctx = SieveContext { user_address: "joe@example.test", user_name: "", vacation: None };
        let script = "require [\"fileinto\", \"vacation\"]; \
                      if header :contains \"subject\" \"x\" { fileinto \"X\"; } \
                      vacation \"away\";";
        let _ = run_sieve(script, &message, envelope, ctx);
    }
}

/// The `Send` actions of a run, as (recipient, message text).
fn sends(actions: &[SieveAction]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            SieveAction::Send { to, message } => {
                Some((to.clone(), String::from_utf8_lossy(message).into_owned()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn notify_mailto_per_rfc_5436() {
    let script = "require \"enotify\";\r\n\
        notify :message \"Boss wrote\" :importance \"1\" \
        \"mailto:joe@mobile.test?subject=ignored&cc=a@x.test&bcc=b@x.test\";";
    assert_eq!(validate(script), Ok(()));
    let actions = run(script);
    assert!(actions.contains(&keep()), "{actions:?}");
    let sent = sends(&actions);
    let to: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(to, ["joe@mobile.test", "a@x.test", "b@x.test"]);
    let msg = &sent[0].1;
    assert!(
        msg.starts_with("From: \"Joe\" <joe@example.test>\r\n"),
        "{msg}"
    );
    assert!(msg.contains("\r\nSubject: Boss wrote\r\n"), "{msg}");
    assert!(
        msg.contains("\r\nAuto-Submitted: auto-notified\r\n"),
        "{msg}"
    );
    assert!(msg.contains("\r\nCc: <a@x.test>\r\n"), "{msg}");
    assert!(msg.contains("\r\nImportance: High\r\n"), "{msg}");
    assert!(
        !msg.contains("b@x.test"),
        "Bcc stays out of the header: {msg}"
    );
    assert!(
        msg.contains("Subject: Quarterly report"),
        "summary in the body: {msg}"
    );
}

#[test]
fn notify_subject_falls_back_to_uri_then_message() {
    let with_uri =
        run("require \"enotify\"; notify \"mailto:n@x.test?subject=From%20URI&body=Hi\";");
    let (_, msg) = &sends(&with_uri)[0];
    assert!(msg.contains("Subject: From URI\r\n"), "{msg}");
    assert!(msg.ends_with("\r\n\r\nHi\r\n"), "{msg}");
    let bare = run("require \"enotify\"; notify \"mailto:n@x.test\";");
    let (_, msg) = &sends(&bare)[0];
    assert!(msg.contains("Subject: Quarterly report\r\n"), "{msg}");
}

#[test]
fn notify_from_must_be_the_owner() {
    let own =
        run("require \"enotify\"; notify :from \"Joe <joe@example.test>\" \"mailto:n@x.test\";");
    assert!(
        sends(&own)[0]
            .1
            .starts_with("From: Joe <joe@example.test>\r\n")
    );
    let spoof = run("require \"enotify\"; notify :from \"ceo@example.test\" \"mailto:n@x.test\";");
    assert!(
        sends(&spoof)[0]
            .1
            .starts_with("From: \"Joe\" <joe@example.test>\r\n")
    );
}

#[test]
fn notify_headers_cannot_be_injected() {
    let script = "require [\"enotify\", \"variables\"];\r\n\
        notify :message \"a\r\nBcc: evil@x.test\" \
        \"mailto:n@x.test?Auto-Submitted=no&From=ceo@x.test&Received=x&body=b\";";
    let (_, msg) = &sends(&run(script))[0];
    let head = msg.split("\r\n\r\n").next().unwrap_or_default();
    assert!(!head.contains("\r\nBcc"), "{head}");
    assert!(!head.contains("ceo@x.test"), "{head}");
    assert!(!head.contains("Received"), "{head}");
    assert_eq!(head.matches("Auto-Submitted").count(), 1, "{head}");
}

#[test]
fn notify_limits_and_loops() {
    let many: String = (0..9)
        .map(|i| format!("notify \"mailto:n{i}@x.test\";\r\n"))
        .collect();
    let script = format!("require \"enotify\";\r\n{many}redirect \"r@x.test\";");
    let actions = run(&script);
    assert_eq!(sends(&actions).len(), MAX_NOTIFICATIONS);
    assert!(actions.contains(&SieveAction::Redirect {
        address: "r@x.test".into()
    }));
    // The same notification twice goes once.
    let twice = "require \"enotify\"; notify \"mailto:n@x.test\"; notify \"mailto:n@x.test\";";
    assert_eq!(sends(&run(twice)).len(), 1);
    // Never about an auto-submitted message (RFC 5436 §2.7).
    let auto = b"From: robot@x.test\r\nAuto-Submitted: auto-replied\r\nSubject: s\r\n\r\nx\r\n";
    let env = SieveEnvelope {
        from: "",
        to: "joe@example.test",
    };
    let ctx = SieveContext {
        user_address: "joe@example.test",
        user_name: "Joe",
        vacation: None,
    };
    let actions = run_sieve(
        "require \"enotify\"; notify \"mailto:n@x.test\";",
        auto,
        env,
        ctx,
    );
    assert_eq!(actions, vec![keep()]);
}

#[test]
fn notify_methods_other_than_mailto_are_refused() {
    let xmpp = run("require \"enotify\"; notify \"xmpp:joe@im.test\"; fileinto \"A\";");
    assert!(sends(&xmpp).is_empty());
    assert!(matches!(&xmpp[0], SieveAction::FileInto { folder, .. } if folder == "A"));
    let valid = "require [\"enotify\"]; \
        if valid_notify_method \"mailto:n@x.test\" { fileinto \"Yes\"; } \
        if valid_notify_method \"xmpp:n@x.test\" { fileinto \"No\"; } \
        if notify_method_capability \"mailto:n@x.test\" \"online\" \"maybe\" \
        { fileinto \"Maybe\"; }";
    let folders: Vec<String> = run(valid)
        .into_iter()
        .filter_map(|a| match a {
            SieveAction::FileInto { folder, .. } => Some(folder),
            _ => None,
        })
        .collect();
    assert_eq!(folders, ["Yes", "Maybe"]);
    // A bad constant URI is still a compile error.
    assert!(validate("require \"enotify\"; notify \"nonsense\";").is_err());
}

#[test]
fn zimbra_notify_rule() {
    // What ModifyFilterRules' <actionNotify> becomes (soap/mail/filters/to_sieve.rs).
    let script = "require [\"fileinto\"];\r\n\
        if header :contains \"subject\" \"report\" {\r\n\
          notify \"pager@x.test\" \"New: ${SUBJECT}\" \"From ${From}: ${BODY}\" 14 [\"To\"];\r\n\
          fileinto \"Reports\";\r\n}";
    assert_eq!(validate(script), Ok(()));
    let actions = run(script);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, SieveAction::FileInto { folder, .. } if folder == "Reports")),
        "{actions:?}"
    );
    let sent = sends(&actions);
    assert_eq!(sent.len(), 1, "{actions:?}");
    let (to, msg) = &sent[0];
    assert_eq!(to, "pager@x.test");
    assert!(
        msg.contains("\r\nSubject: New: Quarterly report\r\n"),
        "{msg}"
    );
    assert!(
        msg.contains("\r\nAuto-Submitted: auto-notified\r\n"),
        "{msg}"
    );
    // The To header is the notification's own, never the original's.
    assert!(msg.contains("\r\nTo: <pager@x.test>\r\n"), "{msg}");
    assert!(!msg.contains("To: joe@example.test"), "{msg}");
    // 14 octets of the filled body.
    assert!(msg.ends_with("\r\n\r\nFrom Boss <bos\r\n"), "{msg}");
    // No subject in the rule: with "*" the original's is kept, else none.
    let all = run("notify \"p@x.test\" \"\" \"Mail from ${from}\" [\"*\"];");
    let (_, msg) = &sends(&all)[0];
    assert!(msg.contains("\r\nSubject: Quarterly report\r\n"), "{msg}");
    assert!(
        !msg.contains("<1@example.test>"),
        "Message-ID is never copied: {msg}"
    );
    let plain = run("notify \"p@x.test\" \"\" \"Mail from ${from}\";");
    let (_, msg) = &sends(&plain)[0];
    assert!(!msg.contains("Subject:"), "{msg}");
    assert!(
        msg.ends_with("Mail from Boss <boss@example.test>\r\n"),
        "{msg}"
    );
}
