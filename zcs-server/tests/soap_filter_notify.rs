//! Zimbra's `actionRFCCompliantNotify` filter action (RFC 5435 `notify` with a
//! `mailto:` method) over real sockets on 127.0.0.1: stored as Sieve by
//! ModifyFilterRules and read back by GetFilterRules, in XML and JSON.

mod soap_support;

use soap_support::*;

const RULES: &str = "<ModifyFilterRulesRequest xmlns=\"urn:zimbraMail\"><filterRules>\
    <filterRule name=\"tell boss\" active=\"1\"><filterTests condition=\"anyof\">\
    <headerTest header=\"subject\" stringComparison=\"contains\" value=\"urgent\"/>\
    </filterTests><filterActions>\
    <actionRFCCompliantNotify from=\"alice@example.test\" importance=\"1\" \
    message=\"Urgent mail\"><method>mailto:boss@example.test</method>\
    </actionRFCCompliantNotify><actionKeep/></filterActions></filterRule>\
    </filterRules></ModifyFilterRulesRequest>";

#[tokio::test]
async fn rfc_notify_is_stored_and_read_back() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), RULES), "").await;
    assert_eq!(r.status, 200, "{}", r.body);

    let alice = f.prov.get_account(ALICE).await.expect("alice");
    let script = alice
        .attrs
        .get("zimbraMailSieveScript")
        .unwrap_or("")
        .to_string();
    assert!(script.contains("\"enotify\""), "{script}");
    assert!(
        script.contains(
            "notify :from \"alice@example.test\" :importance \"1\" \
             :message \"Urgent mail\" \"mailto:boss@example.test\";"
        ),
        "{script}"
    );

    let get = "<GetFilterRulesRequest xmlns=\"urn:zimbraMail\"/>";
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), get), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<actionRFCCompliantNotify"), "{}", r.body);
    assert!(r.body.contains("from=\"alice@example.test\""), "{}", r.body);
    assert!(r.body.contains("importance=\"1\""), "{}", r.body);
    assert!(r.body.contains("message=\"Urgent mail\""), "{}", r.body);
    assert!(
        r.body.contains("<method>mailto:boss@example.test</method>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<actionKeep"), "{}", r.body);

    let r = post(
        f.user,
        "/service/soap",
        &json_env(
            Some(&tok),
            "{\"GetFilterRulesRequest\":{\"_jsns\":\"urn:zimbraMail\"}}",
        ),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    let rule = &j["Body"]["GetFilterRulesResponse"]["filterRules"][0]["filterRule"][0];
    let act = &rule["filterActions"][0]["actionRFCCompliantNotify"][0];
    assert_eq!(act["from"], "alice@example.test", "{}", r.body);
    assert_eq!(
        act["method"][0]["_content"], "mailto:boss@example.test",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn rfc_notify_without_method_is_refused() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let body = RULES.replace("<method>mailto:boss@example.test</method>", "");
    let r = post(f.user, "/service/soap", &soap12(Some(&tok), &body), "").await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.INVALID_REQUEST"),
        "{}",
        r.body
    );
}
