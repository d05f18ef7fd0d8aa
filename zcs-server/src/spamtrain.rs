//! Spam training (Zimbra's `zmtrainsa`): the messages users filed in the spam and ham
//! training mailboxes (the global `zimbraSpamIsSpamAccount` and
//! `zimbraSpamIsNotSpamAccount`) are taught to spamd's Bayes filter with the SPAMC `TELL`
//! command, and marked read; the cleanup run empties the trained ones. The server runs
//! both every night on the host with `zimbra_zmtrainsa_cleanup_host` TRUE, appending
//! what it did to `log/spamtrain.log`.
//!
//! spamd must allow learning (`--allow-tell`) and have Bayes on; a spamd that refuses
//! says so in the log and the messages stay for the next night.

use std::io::Write as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zcs_core::{Flags, ItemId, folder};

use crate::frontends::Context;

/// Longest spamd reply read to a `TELL`.
const MAX_REPLY: u64 = 16 * 1024;

/// What a message is taught as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Spam,
    Ham,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Class::Spam => "spam",
            Class::Ham => "ham",
        }
    }
}

/// Why a `TELL` failed.
#[derive(Debug, thiserror::Error)]
pub enum TellError {
    #[error("spamd unreachable: {0}")]
    Unreachable(String),
    #[error("spamd refused: {0}")]
    Refused(String),
}

/// Teaches `message` to spamd at `addr` as `class` (SPAMC/1.5 `TELL` with
/// `Message-class` and `Set: local`). Returns whether spamd reported the message as
/// newly learned (`DidSet: local`); `false` means it knew it already.
///
/// # Errors
/// [`TellError::Unreachable`] on connection failure or after `timeout`;
/// [`TellError::Refused`] when spamd answers with an error (e.g. no `--allow-tell`).
pub async fn tell(
    addr: &str,
    message: &[u8],
    class: Class,
    timeout: Duration,
) -> Result<bool, TellError> {
    let request = format!(
        "TELL SPAMC/1.5\r\nMessage-class: {}\r\nSet: local\r\nContent-length: {}\r\n\r\n",
        class.as_str(),
        message.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(message).await?;
        stream.flush().await?;
        let _ = stream.shutdown().await;
        let mut reply = Vec::new();
        (&mut stream)
            .take(MAX_REPLY)
            .read_to_end(&mut reply)
            .await?;
        Ok::<_, std::io::Error>(reply)
    };
    let reply = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(TellError::Unreachable(e.to_string())),
        Err(_) => return Err(TellError::Unreachable("timed out".into())),
    };
    parse_tell_reply(&reply)
}

/// Reads spamd's answer to `TELL`: `SPAMD/1.1 0 EX_OK` and a `DidSet:` header naming
/// the databases the message was added to.
///
/// # Errors
/// [`TellError::Refused`] for any other status line.
pub fn parse_tell_reply(reply: &[u8]) -> Result<bool, TellError> {
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split_whitespace();
    let proto = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !proto.starts_with("SPAMD/") || code != "0" {
        let shown: String = status
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Err(TellError::Refused(if shown.is_empty() {
            "empty reply".into()
        } else {
            shown
        }));
    }
    Ok(lines.take_while(|l| !l.is_empty()).any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("DidSet") && v.contains("local"))
    }))
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainReport {
    pub spam: usize,
    pub ham: usize,
    pub failed: usize,
    pub removed: usize,
}

/// Whether this server trains (local config `zmtrainsa_cleanup_host`, TRUE by default
/// since one server is the usual install).
pub fn is_training_host(ctx: &Context) -> bool {
    !ctx.subs
        .lc
        .get("zmtrainsa_cleanup_host")
        .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
}

/// One training run (`cleanup` false: teach the unread messages of both training
/// mailboxes and mark them read) or one cleanup run (`cleanup` true: hard-delete the
/// messages already taught). Appends a line per run to `log/spamtrain.log`.
///
/// # Errors
/// Text saying why nothing could be done (no spamd configured, directory failure).
pub async fn run(ctx: &Context, cleanup: bool) -> Result<TrainReport, String> {
    let mut report = TrainReport::default();
    let spamd = ctx
        .subs
        .lc
        .get("zcs_spamd_address")
        .filter(|a| !a.is_empty());
    if !cleanup && spamd.is_none() {
        return Err("no spamd configured (zcs_spamd_address)".into());
    }
    let global = ctx
        .subs
        .prov
        .global_config()
        .await
        .map_err(|e| e.to_string())?;
    for (attr, class) in [
        ("zimbraSpamIsSpamAccount", Class::Spam),
        ("zimbraSpamIsNotSpamAccount", Class::Ham),
    ] {
        let Some(name) = global.attrs.get(attr).filter(|n| !n.is_empty()) else {
            continue;
        };
        let account = match ctx.subs.prov.find_account(name).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                tracing::warn!(account = %name, attr, "training account does not exist");
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        let mb = ctx
            .subs
            .store
            .mailbox(account.id)
            .await
            .map_err(|e| e.to_string())?;
        let mut ids: Vec<(ItemId, bool)> = Vec::new();
        for f in mb.folders().await.map_err(|e| e.to_string())? {
            if f.id.0 == folder::TRASH {
                continue;
            }
            for m in mb.messages(f.id).await.map_err(|e| e.to_string())? {
                ids.push((m.id, m.flags.0 & Flags::UNREAD != 0));
            }
        }
        if cleanup {
            let taught: Vec<ItemId> = ids.iter().filter(|(_, u)| !u).map(|(i, _)| *i).collect();
            if !taught.is_empty() {
                mb.delete_items(&taught).await.map_err(|e| e.to_string())?;
                report.removed += taught.len();
            }
            continue;
        }
        let addr = spamd.clone().unwrap_or_default();
        let mut done = Vec::new();
        for (id, unread) in ids {
            if !unread {
                continue;
            }
            let bytes = match mb.read_message(id).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "training message not readable");
                    report.failed += 1;
                    continue;
                }
            };
            match tell(&addr, &bytes, class, Duration::from_secs(60)).await {
                Ok(_) => {
                    done.push(id);
                    match class {
                        Class::Spam => report.spam += 1,
                        Class::Ham => report.ham += 1,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "spam training stopped");
                    report.failed += 1;
                    break;
                }
            }
        }
        if !done.is_empty() {
            mb.set_flags(&done, Flags::UNREAD, false)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    log_run(ctx, cleanup, &report);
    Ok(report)
}

/// Appends the run's line to `log/spamtrain.log` (Zimbra keeps zmtrainsa's output
/// there).
fn log_run(ctx: &Context, cleanup: bool, r: &TrainReport) {
    let line = if cleanup {
        format!(
            "{} zmtrainsa --cleanup: removed {} trained messages\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
            r.removed
        )
    } else {
        format!(
            "{} zmtrainsa: learned {} spam, {} ham; {} failed\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
            r.spam,
            r.ham,
            r.failed
        )
    };
    let path = ctx.home.log().join("spamtrain.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = f.write_all(line.as_bytes());
    }
    tracing::info!(target: "zimbra.jobs", spam = r.spam, ham = r.ham, failed = r.failed,
        removed = r.removed, cleanup, "spam training");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::net::TcpListener;

    #[test]
    fn replies_are_read() {
        assert!(parse_tell_reply(b"SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n").unwrap());
        assert!(!parse_tell_reply(b"SPAMD/1.1 0 EX_OK\r\n\r\n").unwrap());
        assert!(matches!(
            parse_tell_reply(b"SPAMD/1.0 69 EX_UNAVAILABLE TELL commands are not enabled"),
            Err(TellError::Refused(m)) if m.contains("TELL")
        ));
        assert!(parse_tell_reply(b"").is_err());
    }

    proptest! {
        #[test]
        fn any_reply_is_an_answer_not_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300)
        ) {
            let _ = parse_tell_reply(&bytes);
        }
    }

    #[tokio::test]
    async fn tell_sends_the_class_and_the_whole_message() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.expect("read");
            s.write_all(b"SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n")
                .await
                .expect("write");
            got
        });
        let learned = tell(
            &addr,
            b"Subject: x\r\n\r\nbody",
            Class::Ham,
            Duration::from_secs(5),
        )
        .await
        .expect("tell");
        assert!(learned);
        let got = String::from_utf8(server.await.expect("join")).expect("utf8");
        assert!(got.starts_with("TELL SPAMC/1.5\r\nMessage-class: ham\r\nSet: local\r\n"));
        assert!(got.contains("Content-length: 18\r\n\r\nSubject: x\r\n\r\nbody"));
    }
}
