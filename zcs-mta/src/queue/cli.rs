//! `zmqueue`: the operator's queue commands, as Postfix's `mailq`/`postqueue`,
//! `postcat`, `postsuper` and `qshape` provide them. Safe while the server runs: every
//! change is one rename or unlink, and the manager tolerates files that vanish.
//!
//! The `zmqueue` binary in `zcs-server` only forwards its arguments to [`run`].
//!
//! | zmqueue                    | Postfix                           |
//! |----------------------------|-----------------------------------|
//! | `list [queue...]`          | `mailq`, `postqueue -p`           |
//! | `show <id>`                | `postcat -q <id>`                 |
//! | `hold <id\|ALL> [queue]`   | `postsuper -h <id\|ALL> [queue]`  |
//! | `release <id\|ALL>`        | `postsuper -H <id\|ALL>`          |
//! | `requeue <id\|ALL> [queue]`| `postsuper -r <id\|ALL> [queue]`  |
//! | `delete <id\|ALL> [queue]` | `postsuper -d <id\|ALL> [queue]`  |
//! | `flush`                    | `postqueue -f`                    |
//! | `qshape [-s] [queue...]`   | `qshape [-s] [queue...]`          |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::file::RcptState;
use super::{Queue, QueueConfig, QueueError, QueueId, QueueName, unix_now_ms};
use crate::outbound::domain_of;

/// What went wrong with a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments; the text is the usage line.
    #[error("{0}")]
    Usage(String),
    /// `ZCS_HOME` is not set.
    #[error("ZCS_HOME is not set")]
    NoHome,
    /// A queue operation failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

const USAGE: &str = "usage: zmqueue list [queue...] | show <id> | hold <id|ALL> [queue] | \
release <id|ALL> | requeue <id|ALL> [queue] | delete <id|ALL> [queue] | flush | \
qshape [-s] [queue...]\nqueues: incoming active deferred hold corrupt";

/// The queue directory of the zcs home named by `ZCS_HOME`: `$ZCS_HOME/data/mta/queue`.
///
/// # Errors
/// `NoHome` when the variable is unset or empty.
pub fn queue_dir_from_env() -> Result<PathBuf, CliError> {
    match std::env::var_os("ZCS_HOME") {
        Some(home) if !home.is_empty() => Ok(Path::new(&home).join("data/mta/queue")),
        _ => Err(CliError::NoHome),
    }
}

/// Runs one command (`args` without the program name) on the queue in `dir` and returns
/// what to print.
///
/// # Errors
/// `Usage` for bad arguments, `Queue` when the queue cannot be read or changed (a
/// missing message is `Queue(NotFound)`).
pub fn run(args: &[String], dir: &Path) -> Result<String, CliError> {
    let queue = Queue::open_admin(dir, QueueConfig::default())?;
    let usage = || CliError::Usage(USAGE.into());
    let (command, rest) = args.split_first().ok_or_else(usage)?;
    let queues = |names: &[String], default: &[QueueName]| -> Result<Vec<QueueName>, CliError> {
        if names.is_empty() {
            return Ok(default.to_vec());
        }
        names
            .iter()
            .map(|n| QueueName::parse(n).ok_or_else(usage))
            .collect()
    };
    match command.as_str() {
        "list" | "-p" | "mailq" => {
            let default = [
                QueueName::Incoming,
                QueueName::Active,
                QueueName::Deferred,
                QueueName::Hold,
            ];
            list(&queue, &queues(rest, &default)?)
        }
        "show" => {
            let [id] = rest else { return Err(usage()) };
            show(&queue, &parse_id(id)?)
        }
        "hold" | "release" | "requeue" | "delete" => {
            let (target, queue_args) = rest.split_first().ok_or_else(usage)?;
            let from = queues(queue_args, &[])?;
            let count = change(&queue, command, target, &from)?;
            let verb = match command.as_str() {
                "hold" => "placed on hold",
                "release" => "released from hold",
                "requeue" => "requeued",
                _ => "deleted",
            };
            let s = if count == 1 { "" } else { "s" };
            Ok(format!("zmqueue: {count} message{s} {verb}\n"))
        }
        "flush" => {
            let count = queue.flush()?;
            Ok(format!(
                "zmqueue: {count} deferred message(s) scheduled for delivery now\n"
            ))
        }
        "qshape" => {
            let by_sender = rest.first().is_some_and(|a| a == "-s");
            let rest = if by_sender { &rest[1..] } else { rest };
            let default = [QueueName::Incoming, QueueName::Active];
            qshape(&queue, &queues(rest, &default)?, by_sender)
        }
        _ => Err(usage()),
    }
}

fn parse_id(id: &str) -> Result<QueueId, CliError> {
    QueueId::parse(id).ok_or_else(|| CliError::Usage(format!("zmqueue: bad queue id {id:?}")))
}

fn ctime(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a %b %e %H:%M:%S")
        .to_string()
}

/// `mailq` output: one block per message, the deferral reason in parentheses above the
/// recipients it concerns; `*` marks active messages and `!` held ones.
fn list(queue: &Queue, names: &[QueueName]) -> Result<String, CliError> {
    let mut out = String::new();
    let mut total_bytes = 0usize;
    let mut count = 0usize;
    for &name in names {
        for id in queue.list(name)? {
            let file = match queue.read(name, &id) {
                Ok(f) => f,
                Err(QueueError::NotFound(_)) => continue, // delivered meanwhile
                Err(QueueError::Corrupt { .. }) => {
                    let _ = writeln!(
                        out,
                        "{:<21}(unreadable queue file in {name})\n",
                        id.as_str()
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if count == 0 {
                out.push_str(
                    "-Queue ID-           --Size-- ----Arrival Time---- -Sender/Recipient-------\n",
                );
            }
            count += 1;
            total_bytes += file.message.len();
            let mark = match name {
                QueueName::Active => "*",
                QueueName::Hold => "!",
                QueueName::Corrupt => "#",
                _ => "",
            };
            let sender = if file.envelope.sender.is_empty() {
                "MAILER-DAEMON"
            } else {
                &file.envelope.sender
            };
            let _ = writeln!(
                out,
                "{:<21}{:>8} {:<20}  {sender}",
                format!("{id}{mark}"),
                file.message.len(),
                ctime(file.arrival)
            );
            let mut last_reason: Option<&str> = None;
            for r in &file.envelope.recipients {
                match &r.state {
                    RcptState::Delivered(_) | RcptState::Bounced(_) => continue,
                    RcptState::Deferred(reason) if last_reason != Some(reason.as_str()) => {
                        let _ = writeln!(out, "{:>51}({reason})", "");
                        last_reason = Some(reason);
                    }
                    _ => {}
                }
                let _ = writeln!(out, "{:>51}{}", "", r.address);
            }
            out.push('\n');
        }
    }
    if count == 0 {
        return Ok("Mail queue is empty\n".into());
    }
    let s = if count == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "-- {} Kbytes in {count} Request{s}.",
        total_bytes.div_ceil(1024)
    );
    Ok(out)
}

/// `postcat -q`: the envelope records, then the message.
fn show(queue: &Queue, id: &QueueId) -> Result<String, CliError> {
    let name = queue
        .find(id)
        .ok_or_else(|| QueueError::NotFound(id.to_string()))?;
    let file = queue.read(name, id)?;
    let env = &file.envelope;
    let mut out = String::new();
    let _ = writeln!(out, "*** ENVELOPE RECORDS {name}/{id} ***");
    let _ = writeln!(out, "message_size: {}", file.message.len());
    let _ = writeln!(out, "message_arrival_time: {}", ctime(file.arrival));
    let _ = writeln!(out, "delivery_attempts: {}", file.attempts);
    let _ = writeln!(out, "sender: {}", env.sender);
    if let Some(envid) = &env.envid {
        let _ = writeln!(out, "dsn_envid: {envid}");
    }
    if let Some(ret) = env.ret {
        let _ = writeln!(out, "dsn_ret: {ret:?}");
    }
    if let Some((ip, helo)) = &env.client {
        let _ = writeln!(out, "client: {ip} ({helo})");
    }
    for r in &env.recipients {
        let state = match &r.state {
            RcptState::Pending => "pending".to_string(),
            RcptState::Deferred(s) => format!("deferred: {s}"),
            RcptState::Delivered(s) => format!("delivered: {s}"),
            RcptState::Bounced(s) => format!("bounced: {s}"),
        };
        let _ = writeln!(out, "recipient: {} [{state}]", r.address);
        if let Some(orcpt) = &r.orcpt {
            let _ = writeln!(out, "original_recipient: {orcpt}");
        }
    }
    let _ = writeln!(out, "*** MESSAGE CONTENTS {name}/{id} ***");
    out.push_str(&String::from_utf8_lossy(&file.message));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "*** MESSAGE FILE END {name}/{id} ***");
    Ok(out)
}

/// hold / release / requeue / delete of one id or `ALL`. Holding or deleting a message in
/// `active` is safe: the manager notices at the end of the attempt and writes its result
/// into the held copy (or drops it). Requeue does not take messages from `active`.
fn change(
    queue: &Queue,
    command: &str,
    target: &str,
    from: &[QueueName],
) -> Result<usize, CliError> {
    use QueueName::*;
    let (allowed, to): (&[QueueName], Option<QueueName>) = match command {
        "hold" => (&[Incoming, Active, Deferred, Corrupt], Some(Hold)),
        "release" => (&[Hold], Some(Deferred)),
        "requeue" => (&[Incoming, Deferred, Hold, Corrupt], Some(Incoming)),
        _ => (&[Incoming, Active, Deferred, Hold, Corrupt], None),
    };
    let sources: Vec<QueueName> = if from.is_empty() {
        allowed.to_vec()
    } else {
        from.iter()
            .copied()
            .filter(|q| allowed.contains(q))
            .collect()
    };

    let mut targets: Vec<(QueueName, QueueId)> = Vec::new();
    if target.eq_ignore_ascii_case("ALL") {
        for &q in &sources {
            targets.extend(queue.list(q)?.into_iter().map(|id| (q, id)));
        }
    } else {
        let id = parse_id(target)?;
        match sources.iter().find(|q| queue.path(**q, &id).exists()) {
            Some(q) => targets.push((*q, id)),
            None => return Err(QueueError::NotFound(id.to_string()).into()),
        }
    }

    let mut count = 0;
    for (q, id) in targets {
        let done = match to {
            Some(to) if to == q => false,
            Some(Incoming) => requeue(queue, &id, q)?,
            Some(to) => {
                let moved = queue.move_to(&id, q, to)?;
                if moved && to == Deferred {
                    // Released mail is due now (its next-attempt time is its mtime).
                    let path = queue.path(to, &id);
                    if let Ok(f) = std::fs::OpenOptions::new().write(true).open(path) {
                        let _ = f.set_modified(SystemTime::now());
                    }
                }
                moved
            }
            None => queue.delete(q, &id)?,
        };
        if done {
            tracing::info!(qid = %id, from = %q, command, "zmqueue");
            count += 1;
        }
    }
    Ok(count)
}

/// Moves a message to `incoming` with its retry count reset (the backoff starts again).
/// The rewrite happens in `hold`, which the manager never reads, so a running manager
/// never sees a half-done requeue.
fn requeue(queue: &Queue, id: &QueueId, from: QueueName) -> Result<bool, CliError> {
    if from != QueueName::Hold && !queue.move_to(id, from, QueueName::Hold)? {
        return Ok(false);
    }
    match queue.read(QueueName::Hold, id) {
        Ok(mut file) => {
            file.attempts = 0;
            file.id = id.to_string();
            queue.write(QueueName::Hold, &file, None)?;
        }
        // An unreadable file is requeued as it is; the manager sends it back to corrupt.
        Err(QueueError::Corrupt { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(queue.move_to(id, QueueName::Hold, QueueName::Incoming)?)
}

/// Postfix `qshape`: messages per recipient domain (or sender domain with `-s`) and age
/// bucket (minutes).
fn qshape(queue: &Queue, names: &[QueueName], by_sender: bool) -> Result<String, CliError> {
    const BUCKETS: [i64; 9] = [5, 10, 20, 40, 80, 160, 320, 640, 1280];
    let now = unix_now_ms();
    let mut rows: BTreeMap<String, [usize; 10]> = BTreeMap::new();
    let mut total = [0usize; 10];
    for &name in names {
        for id in queue.list(name)? {
            let Ok(file) = queue.read(name, &id) else {
                continue;
            };
            let minutes = (now - file.arrival).max(0) / 60_000;
            let bucket = BUCKETS.iter().position(|b| minutes < *b).unwrap_or(9);
            if by_sender {
                // One count per message, by the sender's domain (`MAILER-DAEMON` for <>).
                let domain = match file.envelope.sender.as_str() {
                    "" => "MAILER-DAEMON".to_string(),
                    sender => domain_of(sender),
                };
                rows.entry(domain).or_default()[bucket] += 1;
                total[bucket] += 1;
                continue;
            }
            for r in &file.envelope.recipients {
                if r.state.is_final() {
                    continue;
                }
                rows.entry(domain_of(&r.address)).or_default()[bucket] += 1;
                total[bucket] += 1;
            }
        }
    }

    let mut out = String::new();
    let _ = write!(out, "{:>30} {:>5}", "", "T");
    for b in BUCKETS {
        let _ = write!(out, " {b:>5}");
    }
    let _ = writeln!(out, " {:>5}", "1280+");
    let mut sorted: Vec<(String, [usize; 10])> = rows.into_iter().collect();
    sorted.sort_by_key(|row| std::cmp::Reverse(row.1.iter().sum::<usize>()));
    for (domain, counts) in std::iter::once(("TOTAL".to_string(), total)).chain(sorted) {
        let _ = write!(out, "{domain:>30} {:>5}", counts.iter().sum::<usize>());
        for c in counts {
            let _ = write!(out, " {c:>5}");
        }
        out.push('\n');
    }
    Ok(out)
}
