//! `zmqueue` commands on a queue directory: list (mailq format), show, hold, release,
//! requeue, delete (one and ALL, per queue), flush and qshape; bad ids are refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use zcs_mta::queue::cli::{CliError, run};
use zcs_mta::queue::{Envelope, Queue, QueueConfig, QueueError, QueueId, QueueName, RcptState};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zcs-qcli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn zmqueue(dir: &Path, args: &[&str]) -> Result<String, CliError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run(&args, dir)
}

/// A queue with one incoming message and one deferred with a reason.
fn setup(name: &str) -> (PathBuf, Queue, QueueId, QueueId) {
    let dir = temp_dir(name);
    let queue = Queue::open(&dir, QueueConfig::default()).unwrap();
    let new = queue
        .enqueue_blocking(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            b"Subject: one\r\n\r\nbody one\r\n".to_vec(),
        )
        .unwrap();
    let late = queue
        .enqueue_blocking(
            Envelope::new("", &["carol@example.net", "dave@example.net"]),
            b"Subject: two\r\n\r\nbody two\r\n".to_vec(),
        )
        .unwrap();
    let mut file = queue.read(QueueName::Incoming, &late).unwrap();
    for r in &mut file.envelope.recipients {
        r.state = RcptState::Deferred("mx.example.net said: 451 4.3.0 busy".into());
    }
    file.attempts = 1;
    let later = SystemTime::now() + Duration::from_secs(3600);
    queue
        .write(QueueName::Deferred, &file, Some(later))
        .unwrap();
    queue.delete(QueueName::Incoming, &late).unwrap();
    (dir, queue, new, late)
}

#[test]
fn list_looks_like_mailq() {
    let (dir, _queue, new, late) = setup("list");
    let out = zmqueue(&dir, &["list"]).unwrap();
    assert!(out.starts_with("-Queue ID-"), "{out}");
    assert!(out.contains(new.as_str()));
    assert!(out.contains("alice@example.com"));
    assert!(out.contains(late.as_str()));
    assert!(
        out.contains("MAILER-DAEMON"),
        "null sender shown as MAILER-DAEMON"
    );
    assert!(out.contains("(mx.example.net said: 451 4.3.0 busy)"));
    assert_eq!(
        out.matches("(mx.example.net said").count(),
        1,
        "same reason printed once"
    );
    assert!(out.contains("carol@example.net") && out.contains("dave@example.net"));
    assert!(out.trim_end().ends_with("in 2 Requests."), "{out}");

    let only = zmqueue(&dir, &["list", "incoming"]).unwrap();
    assert!(only.contains(new.as_str()) && !only.contains(late.as_str()));
    assert_eq!(
        zmqueue(&dir, &["list", "hold"]).unwrap(),
        "Mail queue is empty\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_prints_envelope_and_message() {
    let (dir, _queue, _new, late) = setup("show");
    let out = zmqueue(&dir, &["show", late.as_str()]).unwrap();
    assert!(out.contains(&format!("*** ENVELOPE RECORDS deferred/{late} ***")));
    assert!(out.contains("recipient: carol@example.net [deferred: mx.example.net said: 451"));
    assert!(out.contains("delivery_attempts: 1"));
    assert!(out.contains("body two"));
    assert!(matches!(
        zmqueue(&dir, &["show", "ABCDEF"]),
        Err(CliError::Queue(QueueError::NotFound(_)))
    ));
    assert!(matches!(
        zmqueue(&dir, &["show", "../../etc/passwd"]),
        Err(CliError::Usage(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hold_release_requeue_delete() {
    let (dir, queue, new, late) = setup("ops");
    assert!(
        zmqueue(&dir, &["hold", "ALL"])
            .unwrap()
            .contains("2 messages placed on hold")
    );
    assert_eq!(queue.list(QueueName::Hold).unwrap().len(), 2);
    assert!(
        zmqueue(&dir, &["list"])
            .unwrap()
            .contains(&format!("{new}!"))
    );

    assert!(
        zmqueue(&dir, &["release", late.as_str()])
            .unwrap()
            .contains("1 message released")
    );
    assert_eq!(
        queue.list(QueueName::Deferred).unwrap(),
        std::slice::from_ref(&late)
    );
    // Released mail is due now.
    let mtime = std::fs::metadata(queue.path(QueueName::Deferred, &late))
        .unwrap()
        .modified()
        .unwrap();
    assert!(mtime <= SystemTime::now());

    assert!(
        zmqueue(&dir, &["requeue", "ALL", "hold"])
            .unwrap()
            .contains("1 message requeued")
    );
    assert_eq!(
        queue.list(QueueName::Incoming).unwrap(),
        std::slice::from_ref(&new)
    );

    // Requeue resets the retry count but keeps what each recipient went through.
    let out = zmqueue(&dir, &["requeue", late.as_str()]).unwrap();
    assert!(out.contains("1 message requeued"), "{out}");
    let requeued = queue.read(QueueName::Incoming, &late).unwrap();
    assert_eq!(requeued.attempts, 0);
    assert!(matches!(
        requeued.envelope.recipients[0].state,
        RcptState::Deferred(_)
    ));
    zmqueue(&dir, &["hold", late.as_str()]).unwrap();
    zmqueue(&dir, &["release", late.as_str()]).unwrap();
    assert!(queue.read(QueueName::Deferred, &late).is_ok());

    assert!(
        zmqueue(&dir, &["delete", new.as_str(), "deferred"]).is_err(),
        "not in deferred"
    );
    assert!(
        zmqueue(&dir, &["delete", new.as_str()])
            .unwrap()
            .contains("1 message deleted")
    );
    assert!(
        zmqueue(&dir, &["delete", "ALL", "deferred"])
            .unwrap()
            .contains("1 message deleted")
    );
    assert_eq!(zmqueue(&dir, &["list"]).unwrap(), "Mail queue is empty\n");
    assert!(matches!(
        zmqueue(&dir, &["frobnicate"]),
        Err(CliError::Usage(_))
    ));
    assert!(matches!(
        zmqueue(&dir, &["hold", "ALL", "nosuchqueue"]),
        Err(CliError::Usage(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flush_makes_deferred_mail_due() {
    let (dir, queue, _new, late) = setup("flush");
    let path = queue.path(QueueName::Deferred, &late);
    assert!(std::fs::metadata(&path).unwrap().modified().unwrap() > SystemTime::now());
    let out = zmqueue(&dir, &["flush"]).unwrap();
    assert!(out.contains("1 deferred message(s)"), "{out}");
    assert!(std::fs::metadata(&path).unwrap().modified().unwrap() <= SystemTime::now());
    assert!(
        dir.join("flush").exists(),
        "a running manager is asked to scan"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn qshape_counts_recipients_per_domain_and_age() {
    let (dir, _queue, _new, _late) = setup("qshape");
    let out = zmqueue(&dir, &["qshape", "incoming", "deferred"]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].split_whitespace().eq([
            "T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"
        ]
        .into_iter())
    );
    let row = |name: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap();
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("TOTAL")[..2], ["3", "3"]);
    assert_eq!(row("example.net")[..2], ["2", "2"]);
    assert_eq!(row("example.org")[..2], ["1", "1"]);
    // example.net (2) sorts before example.org (1).
    let net = lines
        .iter()
        .position(|l| l.contains("example.net"))
        .unwrap();
    let org = lines
        .iter()
        .position(|l| l.contains("example.org"))
        .unwrap();
    assert!(net < org);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn qshape_by_sender_domain() {
    let (dir, _queue, _new, _late) = setup("qshape-s");
    let out = zmqueue(&dir, &["qshape", "-s", "incoming", "deferred"]).unwrap();
    let row = |name: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap();
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("TOTAL")[0], "2");
    assert_eq!(row("example.com")[0], "1");
    assert_eq!(row("MAILER-DAEMON")[0], "1");
    let _ = std::fs::remove_dir_all(&dir);
}
