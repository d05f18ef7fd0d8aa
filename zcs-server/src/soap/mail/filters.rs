//! Mail filter rules over urn:zimbraMail: GetFilterRules / ModifyFilterRules (incoming,
//! `zimbraMailSieveScript`) and GetOutgoingFilterRules / ModifyOutgoingFilterRules
//! (`zimbraMailOutgoingSieveScript`). The rules travel in Zimbra's XML/JSON form
//! (`filterRules/filterRule`) and are kept as the Sieve script Zimbra keeps
//! (`to_sieve`); reading them back parses that script (`from_sieve`), so a script set
//! by zmprov shows up as rules too.

use zcs_core::{AttrEdit, ServiceError, ServiceResult};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;

mod from_sieve;
mod to_sieve;

/// Answers the filter requests; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let (attr, resp, modify) = match name {
        "GetFilterRulesRequest" => ("zimbraMailSieveScript", "GetFilterRulesResponse", false),
        "ModifyFilterRulesRequest" => ("zimbraMailSieveScript", "ModifyFilterRulesResponse", true),
        "GetOutgoingFilterRulesRequest" => (
            "zimbraMailOutgoingSieveScript",
            "GetOutgoingFilterRulesResponse",
            false,
        ),
        "ModifyOutgoingFilterRulesRequest" => (
            "zimbraMailOutgoingSieveScript",
            "ModifyOutgoingFilterRulesResponse",
            true,
        ),
        _ => return None,
    };
    Some(if modify {
        modify_rules(ctx, req, attr, resp).await
    } else {
        get_rules(ctx, attr, resp).await
    })
}

/// The account's rules, read from its Sieve script `attr`.
async fn get_rules(ctx: &mut Ctx<'_>, attr: &str, resp_name: &str) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let script = account.attrs.get(attr).unwrap_or("");
    let mut resp = response(resp_name, NS_MAIL);
    resp.add(from_sieve::rules(script));
    Ok(resp)
}

/// Replaces the account's rules with those of `filterRules` (none clears the script).
///
/// # Errors
/// `service.INVALID_REQUEST` for a rule this server cannot write (see `to_sieve`).
async fn modify_rules(
    ctx: &mut Ctx<'_>,
    req: &Element,
    attr: &str,
    resp_name: &str,
) -> ServiceResult<Element> {
    let rules = req
        .child("filterRules")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: filterRules"))?;
    let script = to_sieve::script(rules)?;
    let account = ctx.target_account().await?;
    let values = if script.is_empty() {
        Vec::new()
    } else {
        vec![script]
    };
    let edits = [AttrEdit::Replace(attr.to_string(), values)];
    ctx.svc
        .prov
        .modify_account(&account.id.to_string(), &edits)
        .await?;
    tracing::info!(account = %account.name, attr, "filter rules changed");
    Ok(response(resp_name, NS_MAIL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
        let mut e = Element::new(name);
        for (k, v) in attrs {
            e.set(k, *v);
        }
        e
    }

    fn sample() -> Element {
        let mut rules = Element::new("filterRules");
        let mut r = el("filterRule", &[("name", "work \"mail\""), ("active", "1")]);
        let mut tests = el("filterTests", &[("condition", "allof")]);
        tests.add(el(
            "headerTest",
            &[
                ("header", "subject"),
                ("stringComparison", "contains"),
                ("value", "re\\port"),
            ],
        ));
        tests.add(el(
            "addressTest",
            &[
                ("header", "from"),
                ("part", "domain"),
                ("stringComparison", "is"),
                ("value", "example.com"),
                ("negative", "1"),
            ],
        ));
        tests.add(el(
            "sizeTest",
            &[("numberComparison", "over"), ("s", "10K")],
        ));
        r.add(tests);
        let mut actions = Element::new("filterActions");
        actions.add(el("actionFileInto", &[("folderPath", "Inbox/Work")]));
        actions.add(el("actionTag", &[("tagName", "w")]));
        actions.add(el("actionFlag", &[("flagName", "flagged")]));
        actions.add(el("actionStop", &[]));
        r.add(actions);
        rules.add(r);
        let mut off = el("filterRule", &[("name", "off"), ("active", "0")]);
        let mut t = Element::new("filterTests");
        t.add(el("bodyTest", &[("value", "x")]));
        off.add(t);
        let mut a = Element::new("filterActions");
        a.add(el("actionDiscard", &[]));
        off.add(a);
        rules.add(off);
        rules
    }

    #[test]
    fn rules_become_zimbras_sieve() {
        let s = to_sieve::script(&sample()).expect("valid rules");
        assert!(
            s.starts_with("require [\"fileinto\", \"tag\", \"flag\", \"body\"];\n"),
            "{s}"
        );
        assert!(s.contains("# work \"mail\"\nif allof (header :contains [\"subject\"] \"re\\\\port\", not address :domain :is [\"from\"] \"example.com\", size :over 10K) {\n"), "{s}");
        assert!(s.contains("    fileinto \"Inbox/Work\";\n    tag \"w\";\n    flag \"flagged\";\n    stop;\n}\n"), "{s}");
        assert!(
            s.contains("# off\ndisabled_if anyof (body :contains \"x\") {\n    discard;\n}\n"),
            "{s}"
        );
    }

    #[test]
    fn sieve_reads_back_as_the_same_rules() {
        let s = to_sieve::script(&sample()).expect("valid rules");
        let back = from_sieve::rules(&s);
        assert_eq!(to_sieve::script(&back).expect("round trip"), s);
        let r: Vec<&Element> = back.children_named("filterRule").collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].attr("name"), Some("work \"mail\""));
        assert_eq!(r[1].attr("active"), Some("0"));
        let tests = r[0].child("filterTests").expect("tests");
        assert_eq!(tests.attr("condition"), Some("allof"));
        let addr = tests.child("addressTest").expect("address test");
        assert_eq!(addr.attr("negative"), Some("1"));
        assert_eq!(addr.attr("part"), Some("domain"));
    }

    #[test]
    fn nested_rules_and_text_strings() {
        let script = "require [\"fileinto\"];\n# outer\nif anyof (true) {\n    \
                      fileinto \"A\";\n    if allof (exists [\"X-Y\"]) {\n        \
                      reply text:\nline one\n..dot\n.\n;\n    }\n}\n";
        let rules = from_sieve::rules(script);
        let r = rules.child("filterRule").expect("rule");
        let nested = r.child("nestedRule").expect("nested");
        let reply = nested
            .child("filterActions")
            .and_then(|a| a.child("actionReply"))
            .expect("reply");
        assert_eq!(reply.attr("content"), Some("line one\n.dot"));
        let again = to_sieve::script(&rules).expect("writes");
        assert!(
            again.contains("    if allof (exists [\"X-Y\"]) {\n"),
            "{again}"
        );
    }

    #[test]
    fn unknown_parts_are_refused_or_ignored() {
        let mut rules = Element::new("filterRules");
        let mut r = el("filterRule", &[("name", "x")]);
        let mut t = Element::new("filterTests");
        t.add(el("noSuchTest", &[]));
        r.add(t);
        rules.add(r);
        assert!(to_sieve::script(&rules).is_err());
        assert!(
            to_sieve::script(&Element::new("filterRules"))
                .expect("empty")
                .is_empty()
        );
        assert!(from_sieve::rules("if anyof (").children.is_empty());
        assert!(from_sieve::rules("\"unterminated").children.is_empty());
        let deep = "if true {".repeat(10_000);
        assert!(from_sieve::rules(&deep).children.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_script_reads_without_panicking(s in "\\PC{0,200}") {
            let _ = from_sieve::rules(&s);
        }

        #[test]
        fn header_values_round_trip(v in "\\PC{0,40}", h in "[A-Za-z-]{1,20}") {
            let mut rules = Element::new("filterRules");
            let mut r = el("filterRule", &[("name", "p")]);
            let mut t = Element::new("filterTests");
            t.add(el("headerTest", &[
                ("header", h.as_str()),
                ("stringComparison", "is"),
                ("value", v.as_str()),
            ]));
            r.add(t);
            let mut a = Element::new("filterActions");
            a.add(el("actionKeep", &[]));
            r.add(a);
            rules.add(r);
            let s = to_sieve::script(&rules).expect("valid");
            let back = from_sieve::rules(&s);
            let test = back.child("filterRule").and_then(|r| r.child("filterTests"))
                .and_then(|t| t.child("headerTest")).expect("header test");
            proptest::prop_assert_eq!(test.attr("value"), Some(v.as_str()));
        }
    }
}
