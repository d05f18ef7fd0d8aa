//! DMARC aggregate reports end to end, with pinned DNS records (no DNS): mail from
//! outside is checked, each evaluation of a domain with `rua=` is recorded, and the
//! next day the report is queued to the `rua` address with the gzip XML attached.

mod common;

use std::sync::Arc;

use common::wire::connect;
use common::{assert_reply, config, start};
use zcs_mta::dmarc_report::{DmarcLog, ReporterConfig, send_reports};
use zcs_mta::queue::{Queue, QueueConfig, QueueName};
use zcs_mta::{AuthChecker, Protocol};

const MESSAGE: &str = "From: Joe <joe@x.test>\r\nTo: ann@mx.test\r\nSubject: hi\r\n\
Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nMessage-ID: <d1@x.test>\r\n\r\nHello Ann.\r\n.\r\n";

#[tokio::test]
async fn evaluations_are_recorded_and_reported_the_next_day() {
    let tmp = std::env::temp_dir().join(format!("zcs-dmarc-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let checker = AuthChecker::offline("mx.test").unwrap();
    checker
        .pin_spf("x.test", "v=spf1 ip4:127.0.0.1 -all")
        .unwrap();
    checker
        .pin_dmarc("x.test", "v=DMARC1; p=none; rua=mailto:agg@x.test")
        .unwrap();
    let log = Arc::new(DmarcLog::new(tmp.join("dmarc")));
    let mut cfg = config(Protocol::Smtp);
    cfg.filters.auth_check = Some(Arc::new(checker));
    cfg.filters.dmarc_log = Some(log.clone());
    let server = start(cfg).await;
    for _ in 0..2 {
        let (mut c, _) = connect(server.addr).await;
        c.cmd("EHLO client.x.test").await;
        assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<ann@mx.test>").await, "250");
        assert_reply(&c.data(MESSAGE).await, "250");
    }
    let today = chrono::Utc::now();
    let evals = log.read_day(today.date_naive()).unwrap();
    assert_eq!(evals.len(), 2);
    assert_eq!(evals[0].policy.domain, "x.test");

    // Nothing is sent for a day that is not over yet.
    let queue = Queue::open(tmp.join("queue"), QueueConfig::default()).unwrap();
    let reporter = ReporterConfig {
        org_name: "mx.test".into(),
        submitter: "mx.test".into(),
        from: "noreply-dmarc@mx.test".into(),
    };
    assert_eq!(
        send_reports(&log, &queue, None, &reporter, today)
            .await
            .unwrap(),
        0
    );
    let tomorrow = today + chrono::Duration::days(1);
    assert_eq!(
        send_reports(&log, &queue, None, &reporter, tomorrow)
            .await
            .unwrap(),
        1
    );
    let ids = queue.list(QueueName::Incoming).unwrap();
    assert_eq!(ids.len(), 1);
    let file = queue.read(QueueName::Incoming, &ids[0]).unwrap();
    assert_eq!(file.envelope.sender, "noreply-dmarc@mx.test");
    assert_eq!(file.envelope.recipients[0].address, "agg@x.test");
    let text = String::from_utf8_lossy(&file.message).to_string();
    assert!(text.contains("Report Domain: x.test"), "{text}");
    // Reported once only.
    assert_eq!(
        send_reports(&log, &queue, None, &reporter, tomorrow)
            .await
            .unwrap(),
        0
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
