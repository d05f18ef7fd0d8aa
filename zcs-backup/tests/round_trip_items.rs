//! The round trip, item by item: a mailbox populated from the corpus
//! (`ZCS_CORPUS`, default `/work/shared/corpus`; generated messages when it is absent)
//! with folders, tags, flags, contacts and a contact group, appointments, tasks,
//! documents, folder colours and folder grants; a full backup; more changes; an
//! incremental; more changes; then a restore to each of the three points into a new
//! prefixed account, each compared with the state recorded at that point: every item's
//! id, folder, flags, tags, dates and content digest, and for the other kinds their own
//! fields (contact fields and members, calendar summary/times/iCalendar, document
//! name/type/version/author/content, folder view/colour/grants/flags/url/feed items,
//! tag colour, a mountpoint's reminder, contact dates).

mod common;

use common::*;

use zcs_backup::{RestoreOptions, restore};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{ContactMember, FolderColor, GranteeType, MemberKind, Rights, Store, blob_digest};

const USER: &str = "rt@example.com";

/// The corpus messages (sorted by name), or generated ones when the corpus is absent.
fn corpus(n: usize) -> Vec<Vec<u8>> {
    let root = std::env::var("ZCS_CORPUS").unwrap_or_else(|_| "/work/shared/corpus".into());
    let mut files: Vec<_> = std::fs::read_dir(std::path::Path::new(&root).join("python-email"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out: Vec<Vec<u8>> = files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| !b.is_empty())
        .take(n)
        .collect();
    if out.len() < n {
        eprintln!("corpus not found under {root}: using generated messages");
    }
    let mut i = out.len();
    while out.len() < n {
        out.push(
            format!("From: a@example.com\r\nSubject: generated {i}\r\n\r\nbody {i}\r\n")
                .into_bytes(),
        );
        i += 1;
    }
    out
}

fn event(uid: &str, summary: &str, day: u32) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nSUMMARY:{summary}\r\nDTSTART:202612{day:02}T100000Z\r\n\
         DTEND:202612{day:02}T110000Z\r\nORGANIZER:mailto:{USER}\r\n\
         ATTENDEE:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn task(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:VTODO\r\n\
         UID:{uid}\r\nSUMMARY:{summary}\r\nDUE:20261224T170000Z\r\nSTATUS:NEEDS-ACTION\r\n\
         END:VTODO\r\nEND:VCALENDAR\r\n"
    )
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The mailbox of `id`, one line per item, sorted: what must survive a restore.
async fn snapshot(store: &Store, id: ZimbraId) -> Vec<String> {
    let mb = store.mailbox(id).await.unwrap();
    let mut out = Vec::new();
    let colors = mb.folder_colors().await.unwrap();
    let attrs = mb.all_folder_attrs().await.unwrap();
    for m in mb.mountpoints().await.unwrap() {
        out.push(format!(
            "link {} {} attrs={:?}",
            m.id.0,
            m.name,
            attrs.get(&m.id)
        ));
    }
    for t in mb.tags().await.unwrap() {
        out.push(format!(
            "tag {} {} color={} msgs={}",
            t.id.0, t.name, t.color, t.messages
        ));
    }
    for f in mb.folders().await.unwrap() {
        let mut grants: Vec<String> = mb
            .grants(f.id)
            .await
            .unwrap()
            .iter()
            .map(|g| format!("{:?}:{}:{}", g.grantee_type, g.grantee, g.rights.0))
            .collect();
        grants.sort();
        out.push(format!(
            "folder {} {} view={} parent={} color={:?} grants={grants:?} n={} unread={} \
             attrs={:?} seen={:?}",
            f.id.0,
            f.path,
            f.view,
            f.parent.0,
            colors.get(&f.id),
            f.messages,
            f.unread,
            attrs.get(&f.id),
            mb.feed_seen(f.id).await.unwrap()
        ));
        for m in mb.messages(f.id).await.unwrap_or_default() {
            let raw = mb.read_message(m.id).await.unwrap();
            assert_eq!(
                blob_digest(&raw),
                m.blob_digest,
                "message {} content",
                m.id.0
            );
            let mut tags = m.tags.clone();
            tags.sort();
            out.push(format!(
                "msg {} in {} flags={} tags={tags:?} date={} size={} digest={} subj={:?}",
                m.id.0, m.folder.0, m.flags.0, m.internal_date_ms, m.size, m.blob_digest, m.subject
            ));
        }
        for c in mb.contacts(f.id).await.unwrap_or_default() {
            let mut fields = c.fields.clone();
            fields.sort();
            let members: Vec<String> = c
                .members
                .iter()
                .map(|m| format!("{:?}={}", m.kind, m.value))
                .collect();
            out.push(format!(
                "contact {} in {} flags={} group={} fields={fields:?} members={members:?} \
                 tags={:?} d={} md={}",
                c.id.0,
                c.folder.0,
                c.flags.0,
                c.is_group,
                mb.item_tags(c.id).await.unwrap_or_default(),
                c.date_ms,
                c.changed_ms
            ));
        }
        for c in mb.cal_items(f.id).await.unwrap_or_default() {
            out.push(format!(
                "cal {} {:?} in {} flags={} uid={} summary={} start={:?} end={:?} \
                 org={} att={:?} ical={}",
                c.id.0,
                c.kind,
                c.folder.0,
                c.flags.0,
                c.uid,
                c.summary,
                c.start_ms,
                c.end_ms,
                c.organizer,
                c.attendees,
                blob_digest(c.ical.as_bytes())
            ));
        }
        for d in mb.documents(f.id).await.unwrap_or_default() {
            let raw = mb.read_document(d.id, None).await.unwrap();
            assert_eq!(blob_digest(&raw), d.blob_digest, "document {}", d.name);
            out.push(format!(
                "doc {} in {} {} {} v{} size={} digest={} author={}",
                d.id.0,
                d.folder.0,
                d.name,
                d.content_type,
                d.version,
                d.size,
                d.blob_digest,
                d.author
            ));
        }
    }
    out.sort();
    out
}

/// `lines` without the contact dates (` d=... md=...`, at the end of contact lines).
fn undated(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| match l.find(" d=") {
            Some(at) if l.starts_with("contact ") => l[..at].to_string(),
            _ => l,
        })
        .collect()
}

fn diff(want: &[String], got: &[String]) -> String {
    let missing: Vec<_> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<_> = got.iter().filter(|l| !want.contains(l)).collect();
    format!("missing {missing:#?}\nextra {extra:#?}")
}

#[tokio::test]
async fn every_kind_of_item_survives_each_point_in_time() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("h")).await;
    let id = h.account(USER).await;
    let mb = h.store.mailbox(id).await.unwrap();
    let msgs = corpus(14);
    let inbox = ItemId(folder::INBOX);

    // Phase 1: the state the full backup holds.
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    let deep = mb.create_folder(work.id, "Deep").await.unwrap();
    mb.set_folder_color(
        work.id,
        FolderColor {
            color: 3,
            rgb: None,
        },
    )
    .await
    .unwrap();
    mb.grant(
        work.id,
        GranteeType::User,
        "bob@example.com",
        Rights(Rights::READ | Rights::WRITE),
        "",
    )
    .await
    .unwrap();
    mb.set_folder_flags(work.id, Flags(Flags::CHECKED | Flags::EXCLUDE_FREEBUSY))
        .await
        .unwrap();
    mb.set_folder_url(deep.id, "http://127.0.0.1/feed.xml")
        .await
        .unwrap();
    mb.mark_feed_seen(deep.id, vec!["guid-1".into(), "guid-2".into()], false)
        .await
        .unwrap();
    let mount = mb
        .create_mountpoint(
            ItemId(folder::USER_ROOT),
            "Shared cal",
            ZimbraId::new(),
            ItemId(10),
            "appointment",
        )
        .await
        .unwrap();
    mb.set_mountpoint_reminder(mount.id, true).await.unwrap();
    let urgent = mb.create_tag("urgent", 5).await.unwrap();
    let mut ids = Vec::new();
    for (n, raw) in msgs[..6].iter().enumerate() {
        let f = [inbox, work.id, deep.id][n % 3];
        ids.push(
            mb.append(f, raw, Flags(Flags::UNREAD), 1_700_000_000_000 + n as i64)
                .await
                .unwrap()
                .id,
        );
    }
    mb.set_flags(&[ids[0], ids[1]], Flags::FLAGGED, true)
        .await
        .unwrap();
    mb.set_flags(&[ids[2]], Flags::UNREAD, false).await.unwrap();
    mb.tag_items(&[ids[0], ids[3]], urgent.id, true)
        .await
        .unwrap();
    let contacts = ItemId(folder::CONTACTS);
    let alice = mb
        .create_contact(
            contacts,
            fields(&[
                ("firstName", "Alice"),
                ("lastName", "Liddell"),
                ("email", "alice@example.com"),
            ]),
            Vec::new(),
        )
        .await
        .unwrap();
    mb.create_contact(
        contacts,
        fields(&[("type", "group"), ("nickname", "friends")]),
        vec![
            ContactMember {
                kind: MemberKind::ContactRef,
                value: alice.id.0.to_string(),
            },
            ContactMember {
                kind: MemberKind::Inline,
                value: "carol@example.com".into(),
            },
        ],
    )
    .await
    .unwrap();
    mb.save_cal_item(ItemId(folder::CALENDAR), &event("ev-1", "Standup", 7))
        .await
        .unwrap();
    mb.save_cal_item(ItemId(folder::TASKS), &task("todo-1", "Write report"))
        .await
        .unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        "notes.txt",
        "text/plain",
        b"first notes\n",
        USER,
    )
    .await
    .unwrap();
    let at_full = snapshot(&h.store, id).await;
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert_eq!(full.accounts, 1);

    // Phase 2: changes of every kind, then an incremental.
    let personal = mb
        .create_folder(ItemId(folder::USER_ROOT), "Personal")
        .await
        .unwrap();
    mb.set_folder_color(
        personal.id,
        FolderColor {
            color: 0,
            rgb: Some(0x12_34_56),
        },
    )
    .await
    .unwrap();
    mb.grant(
        personal.id,
        GranteeType::Domain,
        "example.com",
        Rights(Rights::READ),
        "",
    )
    .await
    .unwrap();
    mb.set_folder_view(personal.id, "appointment")
        .await
        .unwrap();
    mb.set_folder_flags(personal.id, Flags(Flags::SYNC))
        .await
        .unwrap();
    mb.mark_feed_seen(deep.id, vec!["guid-3".into()], false)
        .await
        .unwrap();
    let later = mb.create_tag("later", 2).await.unwrap();
    for (n, raw) in msgs[6..10].iter().enumerate() {
        let f = [inbox, personal.id][n % 2];
        ids.push(
            mb.append(f, raw, Flags(0), 1_700_000_100_000 + n as i64)
                .await
                .unwrap()
                .id,
        );
    }
    mb.tag_items(&[ids[6], ids[1]], later.id, true)
        .await
        .unwrap();
    mb.set_flags(&[ids[0]], Flags::FLAGGED, false)
        .await
        .unwrap();
    mb.move_items(&[ids[4]], personal.id).await.unwrap();
    mb.delete_items(&[ids[5]]).await.unwrap();
    mb.modify_contact(
        alice.id,
        fields(&[
            ("firstName", "Alice"),
            ("lastName", "Liddell"),
            ("email", "alice@wonder.example"),
        ]),
        Vec::new(),
    )
    .await
    .unwrap();
    mb.save_cal_item(ItemId(folder::CALENDAR), &event("ev-1", "Standup moved", 8))
        .await
        .unwrap();
    mb.save_cal_item(ItemId(folder::CALENDAR), &event("ev-2", "Review", 9))
        .await
        .unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        "notes.txt",
        "text/plain",
        b"second notes\n",
        USER,
    )
    .await
    .unwrap();
    let at_incr = snapshot(&h.store, id).await;
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();

    // Phase 3: more changes, in the server's redo log only.
    for (n, raw) in msgs[10..14].iter().enumerate() {
        ids.push(
            mb.append(deep.id, raw, Flags(0), 1_700_000_200_000 + n as i64)
                .await
                .unwrap()
                .id,
        );
    }
    mb.set_folder_color(
        work.id,
        FolderColor {
            color: 7,
            rgb: None,
        },
    )
    .await
    .unwrap();
    mb.grant(work.id, GranteeType::User, "bob@example.com", Rights(0), "")
        .await
        .unwrap();
    mb.tag_items(&[ids[10]], urgent.id, true).await.unwrap();
    mb.set_folder_flags(work.id, Flags(Flags::CHECKED))
        .await
        .unwrap();
    mb.set_mountpoint_reminder(mount.id, false).await.unwrap();
    mb.set_folder_url(deep.id, "").await.unwrap();
    mb.rename_folder(personal.id, ItemId(folder::USER_ROOT), "Private")
        .await
        .unwrap();
    mb.create_contact(
        contacts,
        fields(&[("firstName", "Dave"), ("email", "dave@example.com")]),
        Vec::new(),
    )
    .await
    .unwrap();
    mb.save_cal_item(ItemId(folder::TASKS), &task("todo-2", "File taxes"))
        .await
        .unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        "plan.md",
        "text/markdown",
        b"# plan\n",
        USER,
    )
    .await
    .unwrap();
    let at_end = snapshot(&h.store, id).await;
    for kind in ["tag ", "msg ", "contact ", "cal ", "doc ", "folder "] {
        assert!(
            at_full.iter().any(|l| l.starts_with(kind)),
            "no {kind}in the test"
        );
    }
    assert!(at_full.iter().any(|l| l.contains("grants=[\"User:bob")));
    assert!(at_full.iter().any(|l| l.contains("color: 3")));
    assert!(at_full.iter().any(|l| l.contains("group=true")));
    assert!(
        at_full
            .iter()
            .any(|l| l.contains("url: \"http://127.0.0.1/feed.xml\""))
    );
    assert!(at_full.iter().any(|l| l.contains("reminder: true")));
    assert!(at_incr.iter().any(|l| l.contains("guid-3")));
    assert!(at_full.iter().any(|l| l.contains(" Task ")));
    assert_ne!(at_full, at_incr);
    assert_ne!(at_incr, at_end);

    let points: [(&str, RestoreOptions, &Vec<String>); 3] = [
        (
            "p1_",
            RestoreOptions {
                full_only: true,
                ..RestoreOptions::default()
            },
            &at_full,
        ),
        (
            "p2_",
            RestoreOptions {
                to_incr_label: Some(incr.label.clone()),
                ..RestoreOptions::default()
            },
            &at_incr,
        ),
        ("p3_", RestoreOptions::default(), &at_end),
    ];
    for (prefix, mut o, want) in points {
        o.accounts = vec![USER.into()];
        o.prefix = Some(prefix.into());
        o.quiet = true;
        let rep = restore(&h.paths, &h.store, &h.dir, &o).await.unwrap();
        assert_eq!(rep.restored.len(), 1, "{prefix}: {rep:?}");
        let new = h.id_of(&format!("{prefix}{USER}")).await;
        let mut got = snapshot(&h.store, new).await;
        let mut want = want.clone();
        if prefix != "p1_" {
            // Records replayed from incrementals are logged anew at restore time, so
            // the contact dates they set are the restore's (rows of the full keep theirs).
            (got, want) = (undated(got), undated(want));
        }
        assert!(got == want, "{prefix}: {}", diff(&want, &got));
    }
}
