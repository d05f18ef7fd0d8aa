//! The durable queue and its manager with scripted transports: durability and crash
//! recovery, concurrent enqueues, corrupt files, retries with backoff, lifetime expiry,
//! delay/failure/success DSNs and RFC 3461 NOTIFY, no bounce loops, per-destination
//! concurrency, and the local transport over a `LocalDelivery`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use zcs_mta::outbound::{Attempt, LocalTransport, OutboundMessage, Outcome, Transport};
use zcs_mta::queue::file::{self, parse_notify};
use zcs_mta::queue::{
    Envelope, Queue, QueueConfig, QueueId, QueueManager, QueueName, RcptState, Transports,
};
use zcs_mta::{AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zcs-queue-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fast_config() -> QueueConfig {
    QueueConfig {
        minimal_backoff: Duration::from_millis(40),
        maximal_backoff: Duration::from_millis(160),
        queue_run_delay: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        hostname: "zcs.example.com".into(),
        ..Default::default()
    }
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..400 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn empty(queue: &Queue) -> bool {
    QueueName::ALL
        .iter()
        .all(|q| queue.list(*q).unwrap().is_empty())
}

/// One message a scripted transport saw.
#[derive(Clone, Debug)]
struct Seen {
    sender: String,
    rcpts: Vec<String>,
    data: Vec<u8>,
}

/// Decides the outcome for a recipient on the n-th transport call.
type Rule = Box<dyn Fn(&str, usize) -> Outcome + Send + Sync>;

/// A transport whose answer per recipient comes from a rule; it records every call.
struct Scripted {
    seen: Mutex<Vec<Seen>>,
    rule: Rule,
    calls: AtomicUsize,
    running: Mutex<HashMap<String, usize>>,
    max_running: AtomicUsize,
    delay: Duration,
}

impl Scripted {
    fn new(rule: impl Fn(&str, usize) -> Outcome + Send + Sync + 'static) -> Arc<Scripted> {
        Arc::new(Scripted {
            seen: Mutex::new(Vec::new()),
            rule: Box::new(rule),
            calls: AtomicUsize::new(0),
            running: Mutex::new(HashMap::new()),
            max_running: AtomicUsize::new(0),
            delay: Duration::ZERO,
        })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Messages from the null sender (our DSNs), as text.
    fn dsns(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.sender.is_empty())
            .map(|s| String::from_utf8_lossy(&s.data).into_owned())
            .collect()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn deliver(&self, m: OutboundMessage<'_>) -> Vec<Attempt> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let domain = zcs_mta::outbound::domain_of(&m.recipients[0]);
        {
            let mut running = self.running.lock().unwrap();
            let n = running.entry(domain.clone()).or_default();
            *n += 1;
            self.max_running.fetch_max(*n, Ordering::SeqCst);
        }
        tokio::time::sleep(self.delay).await;
        self.seen.lock().unwrap().push(Seen {
            sender: m.envelope.sender.clone(),
            rcpts: m.recipients.to_vec(),
            data: m.data.to_vec(),
        });
        *self.running.lock().unwrap().get_mut(&domain).unwrap() -= 1;
        m.recipients
            .iter()
            .map(|r| {
                let outcome = (self.rule)(r, call);
                let reply = match outcome {
                    Outcome::Delivered => "250 2.0.0 Ok",
                    Outcome::Deferred => "451 4.3.0 try again later",
                    Outcome::Bounced => "550 5.1.1 User unknown",
                };
                Attempt::from_reply(reply[..3].parse().unwrap(), &reply[4..], Some("mx.test"))
            })
            .collect()
    }
}

struct Running {
    queue: Queue,
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
    dir: PathBuf,
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.handle.await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str, config: QueueConfig, transport: Arc<dyn Transport>) -> Running {
    let dir = temp_dir(name);
    let queue = Queue::open(&dir, config).unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), Transports::new(transport), rx);
    Running {
        queue,
        stop,
        handle,
        dir,
    }
}

const MESSAGE: &[u8] = b"From: alice@example.com\r\nSubject: test\r\n\r\nhello\r\n";

#[test]
fn enqueue_is_durable_and_a_crash_puts_active_mail_back_in_incoming() {
    let dir = temp_dir("crash");
    let queue = Queue::open(&dir, QueueConfig::default()).unwrap();
    let env = Envelope::new("alice@example.com", &["bob@example.org"]);
    let id = queue
        .enqueue_blocking(env.clone(), MESSAGE.to_vec())
        .unwrap();
    assert_eq!(
        queue.list(QueueName::Incoming).unwrap(),
        std::slice::from_ref(&id)
    );
    let file = queue.read(QueueName::Incoming, &id).unwrap();
    assert_eq!(file.envelope, env);
    assert_eq!(file.message, MESSAGE);

    // Simulate a crash in the middle of a delivery: the file is in active, a temporary
    // file is half written, and the process goes away without cleaning up.
    assert!(
        queue
            .move_to(&id, QueueName::Incoming, QueueName::Active)
            .unwrap()
    );
    std::fs::write(dir.join("tmp").join("DEAD.partial"), b"ZCSQ 1\nid: DE").unwrap();
    drop(queue);

    let queue = Queue::open(&dir, QueueConfig::default()).unwrap();
    assert!(queue.list(QueueName::Active).unwrap().is_empty());
    assert_eq!(
        queue.list(QueueName::Incoming).unwrap(),
        std::slice::from_ref(&id)
    );
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    assert_eq!(
        queue.read(QueueName::Incoming, &id).unwrap().message,
        MESSAGE
    );

    // Operator opens never move anything.
    assert!(
        queue
            .move_to(&id, QueueName::Incoming, QueueName::Active)
            .unwrap()
    );
    let admin = Queue::open_admin(&dir, QueueConfig::default()).unwrap();
    assert_eq!(admin.list(QueueName::Active).unwrap(), [id]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_sharing_directory_fsyncs_all_land_whole() {
    // Many enqueues at once share the incoming directory's fsync; each returns only
    // with its own file in place, and a reopened queue (a restart) finds every one.
    let dir = temp_dir("concurrent");
    let queue = Queue::open(&dir, QueueConfig::default()).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..64 {
        let queue = queue.clone();
        tasks.spawn(async move {
            let env = Envelope::new("alice@example.com", &[&format!("r{n}@example.org")]);
            let body = format!("Subject: {n}\r\n\r\nbody {n}\r\n");
            let id = queue.enqueue(env, body.as_bytes()).await.unwrap();
            (id, body)
        });
    }
    let mut sent = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, body) = done.unwrap();
        // Returned means in place.
        assert_eq!(queue.find(&id), Some(QueueName::Incoming));
        sent.insert(id, body);
    }
    drop(queue);
    let queue = Queue::open_admin(&dir, QueueConfig::default()).unwrap();
    let listed = queue.list(QueueName::Incoming).unwrap();
    assert_eq!(listed.len(), 64);
    for id in listed {
        let file = queue.read(QueueName::Incoming, &id).unwrap();
        assert_eq!(file.message, sent[&id].as_bytes());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn delivered_mail_leaves_the_queue() {
    let t = Scripted::new(|_, _| Outcome::Delivered);
    let run = start("deliver", fast_config(), t.clone());
    let env = Envelope::new("alice@example.com", &["bob@example.org", "c@example.net"]);
    run.queue.enqueue(env, MESSAGE).await.unwrap();
    wait_for("delivery", || t.seen().len() == 2).await;
    wait_for("empty queue", || empty(&run.queue)).await;
    let seen = t.seen();
    assert!(
        seen.iter()
            .all(|s| s.data == MESSAGE && s.sender == "alice@example.com")
    );
    assert!(t.dsns().is_empty());
    run.stop().await;
}

#[tokio::test]
async fn unreadable_files_go_to_corrupt() {
    let t = Scripted::new(|_, _| Outcome::Delivered);
    let run = start("corrupt", fast_config(), t.clone());
    std::fs::write(run.dir.join("incoming").join("ABCDEF0123"), b"garbage").unwrap();
    wait_for("corrupt", || {
        run.queue.list(QueueName::Corrupt).unwrap().len() == 1
    })
    .await;
    assert!(t.seen().is_empty());
    run.stop().await;
}

#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_then_delivered() {
    // Two deferrals, then success.
    let t = Scripted::new(|_, call| {
        if call <= 2 {
            Outcome::Deferred
        } else {
            Outcome::Delivered
        }
    });
    let run = start("retry", fast_config(), t.clone());
    let id = run
        .queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();

    wait_for("a deferral", || {
        run.queue.list(QueueName::Deferred).unwrap().contains(&id)
    })
    .await;
    if let Ok(file) = run.queue.read(QueueName::Deferred, &id) {
        assert!(file.attempts >= 1);
        assert!(matches!(&file.envelope.recipients[0].state,
            RcptState::Deferred(r) if r.contains("451 4.3.0 try again later")));
    }
    wait_for("delivery", || t.seen().len() == 3).await;
    wait_for("empty queue", || empty(&run.queue)).await;
    assert!(t.dsns().is_empty(), "no delay warning is configured");
    run.stop().await;
}

#[tokio::test]
async fn permanent_failure_bounces_to_the_sender_and_a_bounce_never_bounces() {
    // Everything bounces, including our DSN to alice: that one must be dropped.
    let t = Scripted::new(|_, _| Outcome::Bounced);
    let run = start("bounce", fast_config(), t.clone());
    let mut env = Envelope::new("alice@example.com", &["bob@example.org", "c@example.org"]);
    env.envid = Some("ENV42".into());
    env.recipients[1].orcpt = Some("rfc822;c@example.org".into());
    run.queue.enqueue(env, MESSAGE).await.unwrap();

    wait_for("the DSN attempt", || t.dsns().len() == 1).await;
    wait_for("empty queue", || empty(&run.queue)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.seen().len(), 2, "original once, DSN once, nothing more");
    let dsn = &t.dsns()[0];
    let seen = t.seen();
    assert_eq!(seen[1].rcpts, ["alice@example.com"]);
    assert!(dsn.contains("Subject: Undelivered Mail Returned to Sender"));
    assert!(dsn.contains("Original-Envelope-Id: ENV42"));
    assert!(dsn.contains("Final-Recipient: rfc822; bob@example.org"));
    assert!(dsn.contains("Original-Recipient: rfc822;c@example.org"));
    assert_eq!(dsn.matches("Action: failed").count(), 2);
    assert!(dsn.contains("Content-Type: message/rfc822"));
    assert!(dsn.contains("hello"));
    run.stop().await;
}

#[tokio::test]
async fn expired_mail_bounces_with_the_last_error() {
    let t = Scripted::new(|r, _| {
        if r.ends_with("@example.com") {
            Outcome::Delivered // the DSN to our sender
        } else {
            Outcome::Deferred
        }
    });
    let config = QueueConfig {
        maximal_queue_lifetime: Duration::from_millis(300),
        ..fast_config()
    };
    let run = start("expire", config, t.clone());
    run.queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    wait_for("the DSN", || t.dsns().len() == 1).await;
    wait_for("empty queue", || empty(&run.queue)).await;
    let dsn = &t.dsns()[0];
    assert!(dsn.contains("Action: failed\r\nStatus: 5.4.7"), "{dsn}");
    assert!(dsn.contains("message expired in queue; last error"));
    assert!(dsn.contains("451 4.3.0 try again later"));
    assert!(t.seen().len() >= 3, "retried before expiring");
    run.stop().await;
}

#[tokio::test]
async fn one_delay_warning_then_delivery() {
    let t = Scripted::new(|r, call| {
        if r.ends_with("@example.com") || call >= 6 {
            Outcome::Delivered
        } else {
            Outcome::Deferred
        }
    });
    let config = QueueConfig {
        delay_warning_time: Some(Duration::from_millis(60)),
        ..fast_config()
    };
    let run = start("delay", config, t.clone());
    run.queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    wait_for("delivery", || {
        t.seen().iter().any(|s| s.rcpts == ["bob@example.org"])
            && empty(&run.queue)
            && t.calls.load(Ordering::SeqCst) >= 6
    })
    .await;
    let dsns = t.dsns();
    assert_eq!(dsns.len(), 1, "exactly one delay warning");
    assert!(dsns[0].contains("Subject: Delayed Mail (still being retried)"));
    assert!(dsns[0].contains("Action: delayed\r\nStatus: 4.3.0"));
    assert!(dsns[0].contains("Will-Retry-Until:"));
    assert!(dsns[0].contains("text/rfc822-headers"));
    assert!(
        !dsns[0].contains("hello"),
        "a delay notice returns headers only"
    );
    run.stop().await;
}

#[tokio::test]
async fn notify_never_and_success_are_honoured() {
    let t = Scripted::new(|r, _| {
        if r.starts_with("bad") {
            Outcome::Bounced
        } else {
            Outcome::Delivered
        }
    });
    let run = start("notify", fast_config(), t.clone());
    let mut env = Envelope::new(
        "alice@example.com",
        &["bad@example.org", "good@example.org", "quiet@example.org"],
    );
    env.recipients[0].notify = parse_notify("NEVER");
    env.recipients[1].notify = parse_notify("SUCCESS");
    run.queue.enqueue(env, MESSAGE).await.unwrap();
    wait_for("the success DSN", || t.dsns().len() == 1).await;
    wait_for("empty queue", || empty(&run.queue)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dsns = t.dsns();
    assert_eq!(dsns.len(), 1, "no failure DSN for NOTIFY=NEVER");
    assert!(dsns[0].contains("Subject: Successful Mail Delivery Report"));
    assert!(dsns[0].contains("Final-Recipient: rfc822; good@example.org"));
    assert!(dsns[0].contains("Action: relayed"));
    assert!(!dsns[0].contains("quiet@example.org"));
    run.stop().await;
}

#[tokio::test]
async fn concurrency_per_destination_is_capped() {
    let t = Arc::new(Scripted {
        delay: Duration::from_millis(50),
        ..Arc::into_inner(Scripted::new(|_, _| Outcome::Delivered)).unwrap()
    });
    let config = QueueConfig {
        destination_concurrency_limit: 2,
        ..fast_config()
    };
    let run = start("concurrency", config, t.clone());
    for _ in 0..8 {
        run.queue
            .enqueue(
                Envelope::new("alice@example.com", &["bob@example.org"]),
                MESSAGE,
            )
            .await
            .unwrap();
    }
    wait_for("all delivered", || t.seen().len() == 8 && empty(&run.queue)).await;
    let max = t.max_running.load(Ordering::SeqCst);
    assert!(max <= 2, "at most 2 at once, saw {max}");
    assert_eq!(max, 2, "deliveries to one domain do run in parallel");
    run.stop().await;
}

#[tokio::test]
async fn held_mail_is_not_delivered_until_released() {
    let t = Scripted::new(|_, _| Outcome::Delivered);
    let dir = temp_dir("hold");
    let queue = Queue::open(&dir, fast_config()).unwrap();
    let id = queue
        .enqueue(
            Envelope::new("alice@example.com", &["bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    assert!(
        queue
            .move_to(&id, QueueName::Incoming, QueueName::Hold)
            .unwrap()
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = QueueManager::start(queue.clone(), Transports::new(t.clone()), rx);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(t.seen().is_empty());

    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out = zcs_mta::queue::cli::run(&args(&["release", id.as_str()]), &dir).unwrap();
    assert!(out.contains("1 message released"), "{out}");
    wait_for("delivery", || t.seen().len() == 1 && empty(&queue)).await;
    stop.send(true).unwrap();
    handle.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `LocalDelivery` with one known user and one in maintenance.
#[derive(Default)]
struct Store(Mutex<Vec<InboundMessage>>);

#[async_trait]
impl LocalDelivery for Store {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        match address {
            "bob@example.com" => RecipientStatus::Local("bob@example.com".into()),
            "maint@example.com" => RecipientStatus::TempFail("4.2.1 mailbox in maintenance".into()),
            _ => RecipientStatus::Unknown,
        }
    }

    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        self.0.lock().unwrap().push(message.clone());
        vec![DeliveryOutcome::Delivered; message.recipients.len()]
    }
}

#[tokio::test]
async fn local_transport_resolves_then_delivers() {
    let store = Arc::new(Store::default());
    let local = LocalTransport::new(store.clone());
    let mut env = Envelope::new("carol@example.net", &[]);
    env.client = Some(("192.0.2.7".into(), "client.example.net".into()));
    let rcpts: Vec<String> = ["bob@example.com", "ghost@example.com", "maint@example.com"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let attempts = local
        .deliver(OutboundMessage {
            id: "ABC",
            envelope: &env,
            recipients: &rcpts,
            data: MESSAGE,
        })
        .await;
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [Outcome::Delivered, Outcome::Bounced, Outcome::Deferred]
    );
    assert!(attempts[1].reply.starts_with("5.1.1"));
    assert!(attempts[2].reply.starts_with("4.2.1"));
    let stored = store.0.lock().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].recipients,
        [AcceptedRecipient {
            address: "bob@example.com".into(),
            canonical: "bob@example.com".into()
        }]
    );
    assert_eq!(stored[0].mail_from, "carol@example.net");
    assert_eq!(stored[0].remote_ip.to_string(), "192.0.2.7");
    assert_eq!(stored[0].data, MESSAGE);
}

#[test]
fn queue_files_on_disk_decode() {
    let dir = temp_dir("decode");
    let queue = Queue::open(&dir, QueueConfig::default()).unwrap();
    let id = queue
        .enqueue_blocking(Envelope::new("", &["x@example.org"]), b"x".to_vec())
        .unwrap();
    let bytes = std::fs::read(queue.path(QueueName::Incoming, &id)).unwrap();
    let parsed = file::decode(&bytes).unwrap();
    assert_eq!(parsed.id, id.as_str());
    assert_eq!(parsed.envelope.sender, "");
    assert!(QueueId::parse(&parsed.id).is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn holding_a_message_during_delivery_keeps_its_recipient_states() {
    // bob is delivered, carol deferred; the attempt takes 300 ms.
    let t = Arc::new(Scripted {
        delay: Duration::from_millis(300),
        ..Arc::into_inner(Scripted::new(|r, _| {
            if r.starts_with("bob") {
                Outcome::Delivered
            } else {
                Outcome::Deferred
            }
        }))
        .unwrap()
    });
    let run = start("hold-active", fast_config(), t.clone());
    let env = Envelope::new(
        "alice@example.com",
        &["bob@example.org", "carol@example.net"],
    );
    let id = run.queue.enqueue(env, MESSAGE).await.unwrap();
    wait_for("active", || {
        run.queue.list(QueueName::Active).unwrap().contains(&id)
    })
    .await;

    let args: Vec<String> = ["hold", id.as_str()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = zcs_mta::queue::cli::run(&args, &run.dir).unwrap();
    assert!(out.contains("1 message placed on hold"), "{out}");
    wait_for("the attempt to end", || t.seen().len() == 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert!(run.queue.list(QueueName::Deferred).unwrap().is_empty());
    let held = run.queue.read(QueueName::Hold, &id).unwrap();
    assert!(matches!(
        held.envelope.recipients[0].state,
        RcptState::Delivered(_)
    ));
    assert!(matches!(
        held.envelope.recipients[1].state,
        RcptState::Deferred(_)
    ));
    run.stop().await;
}

#[tokio::test]
async fn deleting_a_message_during_delivery_drops_it() {
    let t = Arc::new(Scripted {
        delay: Duration::from_millis(300),
        ..Arc::into_inner(Scripted::new(|_, _| Outcome::Deferred)).unwrap()
    });
    let run = start("delete-active", fast_config(), t.clone());
    let env = Envelope::new("alice@example.com", &["bob@example.org"]);
    let id = run.queue.enqueue(env, MESSAGE).await.unwrap();
    wait_for("active", || {
        run.queue.list(QueueName::Active).unwrap().contains(&id)
    })
    .await;
    let args: Vec<String> = ["delete", id.as_str()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    zcs_mta::queue::cli::run(&args, &run.dir).unwrap();
    wait_for("the attempt to end", || t.seen().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(empty(&run.queue), "a deleted message does not come back");
    assert_eq!(t.seen().len(), 1);
    run.stop().await;
}

#[tokio::test]
async fn undeliverable_bounces_expire_silently() {
    // Mail from <> (a DSN from elsewhere) that cannot be delivered: after
    // bounce_queue_lifetime it is dropped, and no DSN is made about it.
    let t = Scripted::new(|_, _| Outcome::Deferred);
    let config = QueueConfig {
        bounce_queue_lifetime: Duration::from_millis(200),
        ..fast_config()
    };
    let run = start("bounce-lifetime", config, t.clone());
    run.queue
        .enqueue(Envelope::new("", &["bob@example.org"]), MESSAGE)
        .await
        .unwrap();
    wait_for("expiry", || empty(&run.queue) && !t.seen().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        t.seen().iter().all(|s| s.rcpts == ["bob@example.org"]),
        "no DSN sent"
    );
    run.stop().await;
}
