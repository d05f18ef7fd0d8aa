//! Appointments and tasks in archives, in Zimbra's form, over a real socket on
//! 127.0.0.1: an export writes each as `<id>-<subject>.appt` / `.task` after its
//! `.meta`, an import into another account gives the same items (UID, summary, kind,
//! folder, iCalendar), `meta=0` writes `.ics` and `.task` iCalendar files, and a
//! hand-made archive in Zimbra's own layout (the invite digest with an `invId` part,
//! and a `.meta` without its blob) is read.

mod soap_support;

use soap_support::*;
use zcs_core::ItemId;
use zcs_store::Mailbox;

async fn post(f: &Fixture, path: &str, token: &str, body: &[u8]) -> (u16, String) {
    let head = format!("POST {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(f.user, &head, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(f: &Fixture, path: &str, token: &str) -> (u16, Vec<u8>) {
    let head = format!("GET {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(f.user, &head, b"").await;
    (status, body)
}

/// The names of a tar archive's entries.
fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let mut name = String::from_utf8_lossy(&h[..end]).into_owned();
        let prefix_end = h[345..500].iter().position(|b| *b == 0).unwrap_or(155);
        if prefix_end > 0 {
            name = format!(
                "{}/{name}",
                String::from_utf8_lossy(&h[345..345 + prefix_end])
            );
        }
        let size_text = String::from_utf8_lossy(&h[124..135])
            .trim_matches(['\0', ' '])
            .to_string();
        let size = usize::from_str_radix(&size_text, 8).unwrap_or(0);
        out.push(name);
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// One ustar entry (header and padded data) for a hand-made archive.
fn tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], v: u64| {
        let s = format!("{v:0w$o}", w = field.len() - 1);
        field[..s.len()].copy_from_slice(s.as_bytes());
    };
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], data.len() as u64);
    octal(&mut h[136..148], 1_700_000_000);
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len() + (512 - data.len() % 512) % 512, 0);
    out
}

const MEETING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n\
    UID:weekly-1\r\nDTSTART:20300107T090000Z\r\nDTEND:20300107T093000Z\r\n\
    RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly sync\r\nLOCATION:Room 1\r\n\
    ORGANIZER:mailto:alice@example.test\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.test\r\n\
    END:VEVENT\r\nEND:VCALENDAR\r\n";
const TASK: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VTODO\r\nUID:task-9\r\n\
    SUMMARY:File taxes\r\nDUE:20300415T170000Z\r\nPRIORITY:1\r\nSTATUS:NEEDS-ACTION\r\n\
    END:VTODO\r\nEND:VCALENDAR\r\n";
const PLAIN: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:p-1\r\n\
    DTSTART:20300201T100000Z\r\nDTEND:20300201T110000Z\r\nSUMMARY:Dentist\r\n\
    END:VEVENT\r\nEND:VCALENDAR\r\n";

/// (folder path, UID, summary, kind, iCalendar but its PRODID) of every calendar item,
/// sorted.
async fn cal_shape(mb: &Mailbox) -> Vec<(String, String, String, String, String)> {
    let mut out = Vec::new();
    for fo in mb.folders().await.expect("folders") {
        for c in mb.cal_items(fo.id).await.expect("cal") {
            out.push((
                fo.path.clone(),
                c.uid,
                c.summary,
                format!("{:?}", c.kind),
                // The import writes its own PRODID; everything else is kept.
                c.ical
                    .split("\r\n")
                    .filter(|l| !l.starts_with("PRODID:"))
                    .collect::<Vec<_>>()
                    .join("\r\n"),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn appointments_and_tasks_round_trip_in_zimbra_form() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    let team = alice
        .create_folder_with_view(ItemId(1), "Team", Some("appointment"))
        .await
        .expect("folder")
        .id;
    let meeting = alice.save_cal_item(team, MEETING).await.expect("meeting");
    alice.save_cal_item(ItemId(10), PLAIN).await.expect("plain");
    let task = alice.save_cal_item(ItemId(15), TASK).await.expect("task");
    let ta = login(&f, ALICE).await;

    let (status, tar) = get(&f, &format!("/home/{ALICE}/?fmt=tar"), &ta).await;
    assert_eq!(status, 200);
    let names = tar_names(&tar);
    let appt = format!("Team/{:010}-Weekly sync.appt", meeting.id.0);
    let todo = format!("Tasks/{:010}-File taxes.task", task.id.0);
    for want in [
        appt.clone(),
        format!("{appt}.meta"),
        todo.clone(),
        format!("{todo}.meta"),
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.ends_with(".ics")), "{names:?}");

    // Into bob's empty mailbox: the same items in the same folders, iCalendar whole.
    let tb = login(&f, BOB).await;
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tar"), &tb, &tar).await;
    assert_eq!(status, 200, "{body}");
    let bob = mailbox(&f, BOB).await;
    let want = cal_shape(&alice).await;
    assert_eq!(want.len(), 3);
    assert_eq!(cal_shape(&bob).await, want);
    let bteam = bob.folder_by_path("/Team").await.expect("q").expect("made");
    assert_eq!(bteam.view, "appointment");
    // Posting it again with the default resolve (skip) adds nothing.
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tar"), &tb, &tar).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cal_shape(&bob).await, want);

    // meta=0: an appointment as `.ics`, a task as `.task`, both iCalendar, read back.
    let (status, plain) = get(&f, &format!("/home/{ALICE}/?fmt=tar&meta=0"), &ta).await;
    assert_eq!(status, 200);
    let names = tar_names(&plain);
    assert!(
        names.contains(&format!("Team/{:010}-Weekly sync.ics", meeting.id.0)),
        "{names:?}"
    );
    assert!(names.contains(&todo), "{names:?}");
    let carol = "carol@example.test";
    f.prov
        .create_account(carol, Some(PASSWORD), zcs_core::Attrs::new())
        .await
        .expect("account");
    let tc = login(&f, carol).await;
    let (status, body) = post(&f, &format!("/home/{carol}/?fmt=tar"), &tc, &plain).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cal_shape(&mailbox(&f, carol).await).await, want);
}

#[tokio::test]
async fn a_zimbra_layout_archive_is_read() {
    let f = fixture().await;
    // Zimbra's blob: a multipart/digest whose message/rfc822 part (invId header) holds
    // the invite message with its text/calendar part, quoted-printable here.
    let blob = "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"b1\"\r\n\r\n\
        --b1\r\nContent-Type: message/rfc822\r\ninvId: 257\r\n\r\n\
        From: alice@example.test\r\nSubject: Board meeting\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n\
        --b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe board meets.\r\n\
        --b2\r\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\n\
        BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:board-=\r\n\
        7\r\nSUMMARY:Board meeting\r\nDTSTART:20300301T140000Z\r\nDTEND:20300301T15000=\r\n\
        0Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--b2--\r\n--b1--\r\n";
    let appt_meta = serde_json::json!({
        "id": 257, "type": 11, "parent_id": -1, "folder_id": 10, "imap_id": 257,
        "date": 1_700_000_000, "size": blob.len(), "unread": 0, "flags": 0,
        "subject": "Board meeting", "mod_metadata": 1, "change_date": 1, "mod_content": 1,
        "metadata": "d1:u7:board-73:apsi1898604000000e3:apei1898607600000e2:nci1ee",
        "Path": "/Calendar", "Ver": 10,
    })
    .to_string();
    // A task whose `.meta` came without its blob: rebuilt from the invite metadata.
    let inv = "d1:n9:Call bank2:st16:20300302T090000Z1:u6:task-2e";
    let task_meta = serde_json::json!({
        "id": 258, "type": 15, "folder_id": 15, "date": 1_700_000_000, "flags": 0,
        "subject": "Call bank", "Path": "/Tasks", "Ver": 10,
        "metadata": format!("d1:u6:task-22:nci1e4:inv0{inv}e"),
    })
    .to_string();
    let mut tar = Vec::new();
    tar.extend(tar_entry(
        "Calendar/0000000257-Board meeting.appt.meta",
        appt_meta.as_bytes(),
    ));
    tar.extend(tar_entry(
        "Calendar/0000000257-Board meeting.appt",
        blob.as_bytes(),
    ));
    tar.extend(tar_entry(
        "Tasks/0000000258-Call bank.task.meta",
        task_meta.as_bytes(),
    ));
    tar.extend([0u8; 1024]);
    let tb = login(&f, BOB).await;
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tar"), &tb, &tar).await;
    assert_eq!(status, 200, "{body}");
    let bob = mailbox(&f, BOB).await;
    let cal = bob.cal_items(ItemId(10)).await.expect("cal");
    assert_eq!(cal.len(), 1, "{cal:?}");
    assert_eq!(
        (cal[0].uid.as_str(), cal[0].summary.as_str()),
        ("board-7", "Board meeting")
    );
    assert_eq!(cal[0].start_ms, Some(1_898_604_000_000));
    let tasks = bob.cal_items(ItemId(15)).await.expect("tasks");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        (tasks[0].uid.as_str(), tasks[0].summary.as_str()),
        ("task-2", "Call bank")
    );
    assert_eq!(tasks[0].kind, zcs_core::ItemKind::Task);
}
