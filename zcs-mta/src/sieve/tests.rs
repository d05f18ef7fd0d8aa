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
