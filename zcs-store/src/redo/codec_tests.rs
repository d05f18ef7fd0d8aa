//! Tests of the redo log byte format: round trips, cut logs, garbage and flipped
//! bytes (proptest), and the fixed cases.

use super::*;
use crate::redo::codec_items::{
    CalItemRecord, ContactRecord, DocumentRecord, GrantRecord, LinkRecord,
};
use proptest::prelude::*;

fn arb_op() -> impl Strategy<Value = RedoOp> {
    let s = ".{0,40}";
    prop_oneof![
        any::<u32>().prop_map(|b| RedoOp::CreateMailbox {
            account: ZimbraId::new(),
            uid_validity_base: b,
        }),
        Just(RedoOp::DeleteMailbox),
        (any::<i64>(), any::<i32>(), any::<i32>(), s, s, any::<u32>()).prop_map(
            |(change, id, parent, name, view, uid_validity)| RedoOp::CreateFolder {
                change,
                id,
                parent,
                name,
                view,
                uid_validity,
            }
        ),
        (any::<i64>(), any::<i32>(), any::<i32>(), s).prop_map(|(change, id, parent, name)| {
            RedoOp::RenameFolder {
                change,
                id,
                parent,
                name,
            }
        }),
        (any::<i64>(), any::<i32>()).prop_map(|(change, id)| RedoOp::DeleteFolder { change, id }),
        (
            (
                any::<i64>(),
                any::<i32>(),
                any::<i32>(),
                any::<u32>(),
                any::<i64>()
            ),
            (any::<u64>(), s, s, s, s, proptest::option::of(s)),
            prop::collection::vec(any::<i32>(), 0..5),
            (any::<i32>(), prop::collection::vec(any::<i32>(), 0..3)),
        )
            .prop_map(
                |(
                    (change, id, folder, flags, date_ms),
                    (size, digest, subject, sender, recipients, message_id),
                    tags,
                    (conv, conv_promote),
                )| RedoOp::CreateMessage {
                    change,
                    id,
                    folder,
                    flags,
                    date_ms,
                    size,
                    digest,
                    subject,
                    sender,
                    recipients,
                    message_id,
                    tags,
                    conv,
                    conv_promote,
                }
            ),
        (
            any::<i64>(),
            prop::collection::vec(any::<(i32, u32)>(), 0..20)
        )
            .prop_map(|(change, items)| RedoOp::SetFlags { change, items }),
        (
            any::<i64>(),
            any::<i32>(),
            prop::collection::vec(any::<(i32, i32)>(), 0..20)
        )
            .prop_map(|(change, folder, items)| RedoOp::Copy {
                change,
                folder,
                items
            }),
        (
            any::<i64>(),
            any::<i32>(),
            prop::collection::vec(any::<(i32, i32)>(), 0..20)
        )
            .prop_map(|(change, folder, items)| RedoOp::Move {
                change,
                folder,
                items
            }),
        (any::<i64>(), prop::collection::vec(any::<i32>(), 0..20))
            .prop_map(|(change, ids)| RedoOp::Delete { change, ids }),
        any::<u64>().prop_map(|seq| RedoOp::Abort { seq }),
        (any::<i64>(), any::<i32>(), s, any::<i32>()).prop_map(|(change, id, name, color)| {
            RedoOp::CreateTag {
                change,
                id,
                name,
                color,
            }
        }),
        (any::<i64>(), any::<i32>(), s).prop_map(|(change, id, name)| RedoOp::RenameTag {
            change,
            id,
            name
        }),
        (any::<i64>(), any::<i32>()).prop_map(|(change, id)| RedoOp::DeleteTag { change, id }),
        (
            any::<i64>(),
            prop::collection::vec(
                (any::<i32>(), prop::collection::vec(any::<i32>(), 0..4)),
                0..6
            )
        )
            .prop_map(|(change, items)| RedoOp::SetTags { change, items }),
        arb_item_op(),
    ]
}

fn arb_item_op() -> impl Strategy<Value = RedoOp> {
    let s = ".{0,20}";
    let ids = prop::collection::vec(any::<i32>(), 0..6);
    prop_oneof![
        (any::<i64>(), ids.clone())
            .prop_map(|(change, ids)| RedoOp::DeleteToDumpster { change, ids }),
        (any::<i64>(), ids.clone()).prop_map(|(change, ids)| RedoOp::PurgeDumpster { change, ids }),
        (any::<i64>(), ids).prop_map(|(change, ids)| RedoOp::DeleteItems { change, ids }),
        (
            any::<i64>(),
            prop::collection::vec(any::<(i32, i32, i32)>(), 0..5)
        )
            .prop_map(|(change, items)| RedoOp::RecoverFromDumpster { change, items }),
        (
            (any::<i64>(), any::<i32>(), any::<i32>(), any::<u32>()),
            prop::collection::vec((s, s), 0..5),
            prop::collection::vec((any::<u8>(), s), 0..4),
        )
            .prop_map(|((change, id, folder, flags), fields, members)| {
                RedoOp::PutContact(ContactRecord {
                    change,
                    id,
                    folder,
                    flags,
                    fields,
                    members,
                })
            }),
        (
            any::<i64>(),
            any::<i32>(),
            any::<i32>(),
            any::<u8>(),
            any::<u32>(),
            ".{0,200}"
        )
            .prop_map(|(change, id, folder, kind, flags, ical)| {
                RedoOp::PutCalItem(CalItemRecord {
                    change,
                    id,
                    folder,
                    kind,
                    flags,
                    ical,
                })
            }),
        (
            (any::<i64>(), any::<i32>(), any::<i32>(), s, s),
            (any::<i32>(), any::<u64>(), s, s),
            prop::collection::vec(any::<i32>(), 0..4),
        )
            .prop_map(
                |(
                    (change, id, folder, name, content_type),
                    (version, size, digest, author),
                    drop_versions,
                )| {
                    RedoOp::SaveDocument(DocumentRecord {
                        change,
                        id,
                        folder,
                        name,
                        content_type,
                        version,
                        size,
                        digest,
                        author,
                        drop_versions,
                    })
                }
            ),
        (
            (any::<i64>(), any::<i32>(), any::<u8>(), any::<i32>(), s),
            (s, any::<i32>(), s, s, s, s),
        )
            .prop_map(
                |(
                    (change, id, kind, parent, name),
                    (owner, remote_id, view, query, types, sort),
                )| {
                    RedoOp::CreateLink(LinkRecord {
                        change,
                        id,
                        kind,
                        parent,
                        name,
                        owner,
                        remote_id,
                        view,
                        query,
                        types,
                        sort,
                    })
                }
            ),
        (any::<i64>(), any::<i32>(), any::<u8>(), s, s, s).prop_map(
            |(change, folder, grantee_type, grantee, rights, secret)| {
                RedoOp::SetGrant(GrantRecord {
                    change,
                    folder,
                    grantee_type,
                    grantee,
                    rights,
                    secret,
                })
            }
        ),
        (s, any::<i64>()).prop_map(|(label, source_mailbox)| {
            RedoOp::RestoreMailbox {
                account: ZimbraId::new(),
                label,
                source_mailbox,
            }
        }),
        (any::<i64>(), proptest::collection::vec(any::<i32>(), 0..5))
            .prop_map(|(change, ids)| RedoOp::DeleteItemsToDumpster { change, ids }),
        (
            any::<i64>(),
            proptest::collection::vec((any::<i32>(), any::<i32>()), 0..5)
        )
            .prop_map(|(change, items)| RedoOp::RecoverItemsFromDumpster { change, items }),
        (any::<i64>(), any::<i32>(), ".{0,40}").prop_map(|(change, folder, policy)| {
            RedoOp::SetRetentionPolicy {
                change,
                folder,
                policy,
            }
        }),
        (any::<i64>(), any::<i32>(), any::<i32>())
            .prop_map(|(change, id, color)| RedoOp::SetTagColor { change, id, color }),
        (any::<i64>(), any::<i32>(), any::<i32>(), any::<i32>()).prop_map(
            |(change, id, color, rgb)| RedoOp::SetFolderColor {
                change,
                id,
                color,
                rgb
            }
        ),
        arb_folder_op(),
    ]
}

fn arb_folder_op() -> impl Strategy<Value = RedoOp> {
    let s = ".{0,30}";
    prop_oneof![
        (any::<i64>(), any::<i32>(), any::<u32>(), s, any::<bool>()).prop_map(
            |(change, id, flags, url, reminder)| RedoOp::SetFolderAttrs {
                change,
                id,
                flags,
                url,
                reminder,
            }
        ),
        (any::<i64>(), any::<i32>(), s).prop_map(|(change, id, view)| RedoOp::SetFolderView {
            change,
            id,
            view
        }),
        (any::<i32>(), any::<bool>(), prop::collection::vec(s, 0..5)).prop_map(
            |(folder, reset, keys)| RedoOp::FeedSeen {
                folder,
                reset,
                keys
            }
        ),
    ]
}

fn arb_record() -> impl Strategy<Value = RedoRecord> {
    (any::<u64>(), any::<i64>(), any::<i64>(), arb_op()).prop_map(|(seq, ts, mb, op)| RedoRecord {
        seq,
        timestamp_ms: ts,
        mailbox: MailboxId(mb),
        op,
    })
}

fn encode_all(recs: &[RedoRecord]) -> Vec<u8> {
    let mut buf = encode_file_header().to_vec();
    for r in recs {
        encode_record(r, &mut buf);
    }
    buf
}

proptest! {
    #[test]
    fn records_round_trip(recs in prop::collection::vec(arb_record(), 0..8)) {
        let buf = encode_all(&recs);
        let d = decode_log(&buf);
        prop_assert_eq!(d.stop, None);
        prop_assert_eq!(d.valid_len, buf.len());
        prop_assert_eq!(d.records, recs);
    }

    #[test]
    fn a_cut_log_yields_the_whole_records_before_the_cut(
        recs in prop::collection::vec(arb_record(), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let buf = encode_all(&recs);
        let at = cut.index(buf.len());
        let d = decode_log(&buf[..at]);
        prop_assert!(d.valid_len <= at);
        prop_assert_eq!(&d.records[..], &recs[..d.records.len()]);
        if d.valid_len == at {
            prop_assert_eq!(d.stop, None);
        } else {
            prop_assert_eq!(d.stop, Some(DecodeError::Truncated));
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let d = decode_records(&bytes);
        prop_assert!(d.valid_len <= bytes.len());
        let d = decode_log(&bytes);
        prop_assert!(d.valid_len <= bytes.len());
    }

    #[test]
    fn a_flipped_byte_is_caught(
        recs in prop::collection::vec(arb_record(), 1..4),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut buf = encode_all(&recs);
        let at = FILE_HEADER_LEN + pos.index(buf.len() - FILE_HEADER_LEN);
        buf[at] ^= xor;
        let d = decode_log(&buf);
        // Whatever survives is a prefix of what was written; nothing is invented.
        prop_assert!(d.records.len() < recs.len() || d.stop.is_none());
        prop_assert_eq!(&d.records[..], &recs[..d.records.len()]);
    }
}

#[test]
fn empty_and_bad_headers() {
    assert_eq!(decode_log(&[]), Decoded::default());
    assert_eq!(decode_log(b"ZCS").stop, Some(DecodeError::Truncated));
    assert_eq!(
        decode_log(b"NOTALOGFILE!!!!!!!").stop,
        Some(DecodeError::BadHeader)
    );
    let mut h = encode_file_header();
    h[7] = 99;
    assert_eq!(decode_log(&h).stop, Some(DecodeError::BadHeader));
}

#[test]
fn a_create_message_without_tags_from_before_tags_decodes() {
    let rec = RedoRecord {
        seq: 1,
        timestamp_ms: 2,
        mailbox: MailboxId(3),
        op: RedoOp::CreateMessage {
            change: 4,
            id: 257,
            folder: 2,
            flags: 0,
            date_ms: 5,
            size: 6,
            digest: "d".into(),
            subject: "s".into(),
            sender: String::new(),
            recipients: String::new(),
            message_id: None,
            tags: Vec::new(),
            conv: 0,
            conv_promote: Vec::new(),
        },
    };
    let mut framed = Vec::new();
    encode_record(&rec, &mut framed);
    // Drop the tag count (the last 4 bytes) and re-frame, as the old encoder wrote.
    let body = &framed[FRAME_LEN..framed.len() - 4];
    let mut old = RECORD_MARKER.to_le_bytes().to_vec();
    old.extend_from_slice(&(body.len() as u32).to_le_bytes());
    old.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    old.extend_from_slice(body);
    let d = decode_records(&old);
    assert_eq!(d.stop, None);
    assert_eq!(d.records, vec![rec]);
}

#[test]
fn huge_length_is_rejected_without_allocating() {
    let mut buf = RECORD_MARKER.to_le_bytes().to_vec();
    buf.extend_from_slice(&u32::MAX.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    assert_eq!(
        decode_records(&buf).stop,
        Some(DecodeError::TooLong(u32::MAX))
    );
}

proptest! {
    #[test]
    fn a_damaged_record_in_the_middle_is_followed_by_a_valid_one(
        recs in prop::collection::vec(arb_record(), 3..6),
        xor in 1u8..=255,
    ) {
        let mut buf = encode_all(&recs);
        let mut first = Vec::new();
        encode_record(&recs[0], &mut first);
        // Damage the last byte of the first record's body.
        let at = FILE_HEADER_LEN + first.len() - 1;
        buf[at] ^= xor;
        let d = decode_log(&buf);
        prop_assert_eq!(d.stop, Some(DecodeError::Checksum));
        prop_assert_eq!(d.valid_len, FILE_HEADER_LEN);
        let body = &buf[FILE_HEADER_LEN..];
        prop_assert_eq!(next_valid_record(body, 0), Some(first.len()));
    }

    #[test]
    fn next_valid_record_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512),
                                      from in 0usize..600) {
        if let Some(p) = next_valid_record(&bytes, from) {
            prop_assert!(p > from && p < bytes.len());
        }
    }
}
