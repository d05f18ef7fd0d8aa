//! Turns the answers of `LocalDelivery` into replies: the `RCPT TO` answer, the single
//! SMTP reply after `DATA`, and the per-recipient LMTP replies (RFC 2033 §4.2).
//!
//! Pure functions; the session writes what they return.

use crate::delivery::{AcceptedRecipient, DeliveryOutcome, RecipientStatus};
use crate::reply::{Reply, Status, sanitize, status_from_text};

const TEMP_DEFAULT: Status = Status(4, 3, 0);
const RCPT_PERM_DEFAULT: Status = Status(5, 1, 0);
const DELIVERY_PERM_DEFAULT: Status = Status(5, 3, 0);

/// The reply to `RCPT TO:<address>` given the lookup result.
pub(crate) fn rcpt_reply(address: &str, status: &RecipientStatus) -> Reply {
    let addr = sanitize(address);
    match status {
        RecipientStatus::Local(_) => Reply::new(250, Status(2, 1, 5), "Ok"),
        // RFC 3463 §3.2: X.1.1 bad destination mailbox address.
        RecipientStatus::Unknown => Reply::new(
            550,
            Status(5, 1, 1),
            format!("<{addr}>: Recipient address rejected: User unknown"),
        ),
        RecipientStatus::TempFail(msg) => {
            let (status, text) = status_from_text(msg, 4, TEMP_DEFAULT);
            Reply::new(451, status, format!("<{addr}>: {text}"))
        }
        RecipientStatus::PermFail(msg) => {
            let (status, text) = status_from_text(msg, 5, RCPT_PERM_DEFAULT);
            Reply::new(550, status, format!("<{addr}>: {text}"))
        }
    }
}

/// The one SMTP reply after the end of data (RFC 5321 §4.1.1.4): `250` when every
/// recipient got the message; else `451` when any failure is temporary (the client
/// retries the whole message); else `554`.
///
/// LIMITATION: SMTP cannot answer per recipient after DATA, and without a queue there is
/// no bounce to send. A temporary failure next to successes makes the client resend to
/// everyone, so recipients already served get a duplicate; a permanent failure next to
/// successes is reported as a failure of the whole message, so the sender sees a bounce
/// although some recipients got it. The durable queue (issue 6) will accept once and
/// retry or bounce per recipient.
pub(crate) fn smtp_data_reply(id: &str, outcomes: &[DeliveryOutcome]) -> Reply {
    let first_temp = outcomes.iter().find_map(|o| match o {
        DeliveryOutcome::TempFail(m) => Some(m),
        _ => None,
    });
    let first_perm = outcomes.iter().find_map(|o| match o {
        DeliveryOutcome::PermFail(m) => Some(m),
        _ => None,
    });
    let delivered = outcomes
        .iter()
        .filter(|o| **o == DeliveryOutcome::Delivered)
        .count();
    match (first_temp, first_perm) {
        (None, None) => Reply::new(250, Status(2, 0, 0), format!("Ok: queued as {id}")),
        (Some(msg), _) => {
            let (status, text) = status_from_text(msg, 4, TEMP_DEFAULT);
            Reply::new(451, status, text)
        }
        (None, Some(msg)) => {
            let (status, text) = status_from_text(msg, 5, DELIVERY_PERM_DEFAULT);
            let text = if delivered > 0 {
                format!(
                    "{text} (delivered to {delivered} of {} recipients)",
                    outcomes.len()
                )
            } else {
                text
            };
            Reply::new(554, status, text)
        }
    }
}

/// The LMTP replies after the end of data: one per accepted recipient, in `RCPT` order
/// (RFC 2033 §4.2).
pub(crate) fn lmtp_data_replies(
    id: &str,
    recipients: &[AcceptedRecipient],
    outcomes: &[DeliveryOutcome],
) -> Vec<Reply> {
    recipients
        .iter()
        .zip(outcomes)
        .map(|(rcpt, outcome)| {
            let addr = sanitize(&rcpt.address);
            match outcome {
                DeliveryOutcome::Delivered => {
                    Reply::new(250, Status(2, 1, 5), format!("<{addr}> Delivered as {id}"))
                }
                DeliveryOutcome::TempFail(msg) => {
                    let (status, text) = status_from_text(msg, 4, TEMP_DEFAULT);
                    Reply::new(451, status, format!("<{addr}> {text}"))
                }
                DeliveryOutcome::PermFail(msg) => {
                    let (status, text) = status_from_text(msg, 5, DELIVERY_PERM_DEFAULT);
                    Reply::new(550, status, format!("<{addr}> {text}"))
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rcpt_replies() {
        let r = rcpt_reply("x@y", &RecipientStatus::Unknown);
        assert_eq!(
            wire(&r),
            "550 5.1.1 <x@y>: Recipient address rejected: User unknown\r\n"
        );
        let r = rcpt_reply(
            "x@y",
            &RecipientStatus::TempFail("4.4.3 directory down".into()),
        );
        assert_eq!(wire(&r), "451 4.4.3 <x@y>: directory down\r\n");
        let r = rcpt_reply("x@y", &RecipientStatus::PermFail("closed".into()));
        assert_eq!(wire(&r), "550 5.1.0 <x@y>: closed\r\n");
    }

    #[test]
    fn smtp_aggregate() {
        use DeliveryOutcome::*;
        let ok = smtp_data_reply("ID", &[Delivered, Delivered]);
        assert_eq!(wire(&ok), "250 2.0.0 Ok: queued as ID\r\n");
        let temp = smtp_data_reply("ID", &[Delivered, TempFail("4.2.2 full".into())]);
        assert_eq!(wire(&temp), "451 4.2.2 full\r\n");
        let mixed = smtp_data_reply("ID", &[PermFail("no".into()), TempFail("later".into())]);
        assert_eq!(mixed.code(), 451);
        let perm = smtp_data_reply("ID", &[PermFail("no".into()), PermFail("no".into())]);
        assert_eq!(wire(&perm), "554 5.3.0 no\r\n");
        let part = smtp_data_reply("ID", &[Delivered, PermFail("no".into())]);
        assert_eq!(
            wire(&part),
            "554 5.3.0 no (delivered to 1 of 2 recipients)\r\n"
        );
    }

    #[test]
    fn lmtp_per_recipient() {
        let rcpts: Vec<_> = ["a@x", "b@x"]
            .iter()
            .map(|a| AcceptedRecipient {
                address: a.to_string(),
                canonical: a.to_string(),
            })
            .collect();
        let replies = lmtp_data_replies(
            "ID",
            &rcpts,
            &[
                DeliveryOutcome::Delivered,
                DeliveryOutcome::TempFail("busy".into()),
            ],
        );
        let text: String = replies.iter().map(wire).collect();
        assert_eq!(
            text,
            "250 2.1.5 <a@x> Delivered as ID\r\n451 4.3.0 <b@x> busy\r\n"
        );
    }
}
