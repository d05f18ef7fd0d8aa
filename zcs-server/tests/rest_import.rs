//! REST import (`POST /home/<user>/<folder>?fmt=tgz&resolve=...`) over a real socket on
//! 127.0.0.1: the QA corpus's real Zimbra exports (`zimbra-qa/tgz01`) reproduce their
//! folders and messages; our own export posted into a fresh account gives the same
//! folders, messages, flags, tags and dates; each `resolve` mode; another account, an
//! anonymous caller (even on a public folder) and a too-large or malformed body are
//! refused without a write.

mod soap_support;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use soap_support::*;
use zcs_core::{AttrEdit, Attrs, Flags, ItemId};
use zcs_store::{GranteeType, Mailbox, Rights};

fn corpus() -> Option<PathBuf> {
    let base = std::env::var("ZCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    let dir = base.join("zimbra-qa/tgz01");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: no corpus at {} (set ZCS_CORPUS)", dir.display());
        None
    }
}

/// POSTs `body` to `path` as `token` (none: anonymous).
async fn import(f: &Fixture, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut head = format!("POST {path} HTTP/1.1");
    if let Some(t) = token {
        head.push_str(&format!("\r\nCookie: ZM_AUTH_TOKEN={t}"));
    }
    let (status, _, body) = raw(f.user, &head, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(f: &Fixture, path: &str, token: &str) -> (u16, Vec<u8>) {
    let head = format!("GET {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(f.user, &head, b"").await;
    (status, body)
}

/// Messages per folder path, and the folders' views.
async fn shape(mb: &Mailbox) -> (HashMap<String, usize>, HashMap<String, String>) {
    let mut counts = HashMap::new();
    let mut views = HashMap::new();
    for fo in mb.folders().await.expect("folders") {
        let n = mb.messages(fo.id).await.expect("messages").len();
        if n > 0 {
            counts.insert(fo.path.clone(), n);
        }
        views.insert(fo.path.clone(), fo.view.clone());
    }
    (counts, views)
}

async fn folder(mb: &Mailbox, path: &str) -> ItemId {
    mb.folder_by_path(path)
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("no folder {path}"))
        .id
}

/// The content of tar entry `name` in the (gunzipped) archive, found by its header.
fn tar_entry(tar: &[u8], name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    let at = tar
        .windows(key.len())
        .position(|w| w == key.as_slice())
        .expect("entry in archive");
    let size = std::str::from_utf8(&tar[at + 124..at + 135]).expect("ascii");
    let size = usize::from_str_radix(size.trim(), 8).expect("octal");
    tar[at + 512..at + 512 + size].to_vec()
}

#[tokio::test]
async fn a_real_zimbra_export_reproduces_its_folders_and_messages() {
    let Some(dir) = corpus() else { return };
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let bytes = std::fs::read(dir.join("5-0-10.tgz")).expect("corpus file");
    let (status, body) = import(&f, &format!("/home/{ALICE}/?fmt=tgz"), Some(&token), &bytes).await;
    assert_eq!(status, 200, "{body}");
    // Large messages in this export lost bytes; the answer says so.
    assert!(!body.contains("damaged=0"), "{body}");
    let mb = mailbox(&f, ALICE).await;
    let (counts, views) = shape(&mb).await;
    let want = [
        ("/Inbox", 29),
        ("/Sent", 3),
        ("/Drafts", 1),
        ("/Inbox/Subfolder12472596949800", 2),
        ("/Inbox/Subfolder12472596949802a", 1),
        (
            "/Inbox/Subfolder12472596949802a/Subfolder12472596949802b",
            1,
        ),
        ("/Sent/Subfolder12472596949804", 1),
        ("/Subfolder12472596949803", 1),
    ];
    for (path, n) in want {
        assert_eq!(counts.get(path), Some(&n), "{path}: {counts:?}");
    }
    assert_eq!(counts.values().sum::<usize>(), 39);
    // Folders with no messages come back too, with their views.
    for (path, view) in [
        ("/Inbox/Subfolder12472596949801", "message"),
        ("/Trash/Subfolder12472596949805", "message"),
        ("/SubCalendar12478634872451", "appointment"),
        ("/TaskList12477634872431", "task"),
    ] {
        assert_eq!(views.get(path).map(String::as_str), Some(view), "{path}");
    }
    assert!(
        !views.contains_key("/Tags"),
        "hidden system folders are not created"
    );
    // Byte-identical content, flags, unread state, tags and received dates.
    let mut tar = Vec::new();
    let _ = flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut tar);
    let inbox = mb
        .messages(folder(&mb, "/Inbox").await)
        .await
        .expect("inbox");
    let by_subject = |s: &str| {
        inbox
            .iter()
            .find(|m| m.subject == s)
            .unwrap_or_else(|| panic!("no message {s}"))
            .clone()
    };
    for (subject, entry) in [
        ("flagged", "Inbox/0000000285-flagged.eml"),
        ("tagged", "Inbox/0000000314-tagged.eml"),
        ("email04A", "Inbox/0000000300-email04A.eml"),
    ] {
        let m = by_subject(subject);
        let stored = mb.read_message(m.id).await.expect("read");
        assert_eq!(stored, tar_entry(&tar, entry), "{subject}");
    }
    let flagged = by_subject("flagged");
    assert!(flagged.flags.contains(Flags::FLAGGED));
    assert!(!flagged.flags.contains(Flags::UNREAD));
    assert_eq!(flagged.internal_date_ms, 1_249_412_301_000);
    assert!(by_subject("unread").flags.contains(Flags::UNREAD));
    assert!(!by_subject("read").flags.contains(Flags::UNREAD));
    assert!(by_subject("replied").flags.contains(Flags::ANSWERED));
    let mut tags = by_subject("tagged").tags;
    tags.sort();
    assert_eq!(tags, vec!["Tag12490654180171", "Tag12490654180172"]);
    let names: Vec<String> = mb
        .tags()
        .await
        .expect("tags")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.iter().any(|n| n == "BlueTag"), "{names:?}");
    // The corpus's contacts (fields in their .meta) come back too.
    let ec = mb
        .contacts(folder(&mb, "/Emailed Contacts").await)
        .await
        .expect("contacts");
    assert_eq!(ec.len(), 2);

    // Posting it again with the default resolve (skip) adds nothing.
    let (status, body) = import(&f, &format!("/home/{ALICE}/?fmt=tgz"), Some(&token), &bytes).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(shape(&mb).await.0, counts);
}

#[tokio::test]
async fn every_tgz01_export_imports() {
    let Some(dir) = corpus() else { return };
    let f = fixture().await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for (i, file) in files.iter().enumerate() {
        let name = format!("corpus{i}@example.test");
        f.prov
            .create_account(&name, Some(PASSWORD), Attrs::new())
            .await
            .expect("account");
        let token = login(&f, &name).await;
        let bytes = std::fs::read(file).expect("read");
        let (status, body) =
            import(&f, &format!("/home/{name}/?fmt=tgz"), Some(&token), &bytes).await;
        assert_eq!(status, 200, "{}: {body}", file.display());
        let mb = mailbox(&f, &name).await;
        let (counts, views) = shape(&mb).await;
        // 5-0-11's gzip stream decodes wrongly from about 56 KB on (its tar headers
        // there are garbled), so fewer of its messages can be read back: the ones
        // before and after the garbled stretch are.
        let total = counts.values().sum::<usize>();
        eprintln!("{}: {total} messages", file.display());
        let least = if file.ends_with("5-0-11.tgz") { 26 } else { 39 };
        assert!(total >= least, "{}: {counts:?}", file.display());
        assert!(views.contains_key("/Inbox/Subfolder12472596949802a/Subfolder12472596949802b"));
    }
}

/// Alice's mailbox for the round trip: a nested folder, flags, a tag, an unread message.
async fn seed(mb: &Mailbox) -> ItemId {
    let work = mb
        .create_folder(ItemId(1), "Work")
        .await
        .expect("folder")
        .id;
    let deep = mb.create_folder(work, "Deep").await.expect("folder").id;
    let put = |folder: ItemId, subject: &str, flags: Flags, tags: Vec<String>, date: i64| {
        let raw = format!(
            "From: carol@example.test\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}@example.test>\r\n\r\nHello {subject}.\r\n"
        );
        async move {
            mb.append_tagged(folder, raw.as_bytes(), flags, &tags, date)
                .await
                .expect("append")
        }
    };
    put(
        ItemId(2),
        "one",
        Flags(Flags::FLAGGED),
        vec![],
        1_600_000_000_000,
    )
    .await;
    put(
        ItemId(2),
        "two",
        Flags(Flags::UNREAD),
        vec!["Blue".into()],
        1_600_000_100_000,
    )
    .await;
    put(
        work,
        "three",
        Flags(Flags::ANSWERED),
        vec![],
        1_600_000_200_000,
    )
    .await;
    put(deep, "four", Flags::default(), vec![], 1_600_000_300_000).await;
    work
}

type Sig = Vec<(String, String, u32, Vec<String>, i64, Vec<u8>)>;

/// Every message as (folder path, subject, flags, tags, date, content).
async fn signature(mb: &Mailbox) -> Sig {
    let mut out = Vec::new();
    for fo in mb.folders().await.expect("folders") {
        for m in mb.messages(fo.id).await.expect("messages") {
            let mut tags = m.tags.clone();
            tags.sort();
            let raw = mb.read_message(m.id).await.expect("read");
            out.push((
                fo.path.clone(),
                m.subject,
                m.flags.0,
                tags,
                m.internal_date_ms,
                raw,
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn our_export_round_trips_into_a_fresh_account() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    seed(&alice).await;
    let ta = login(&f, ALICE).await;
    let tb = login(&f, BOB).await;
    for fmt in ["tgz", "tar", "zip"] {
        let name = format!("fresh-{fmt}@example.test");
        f.prov
            .create_account(&name, Some(PASSWORD), Attrs::new())
            .await
            .expect("account");
        let token = login(&f, &name).await;
        let (status, archive) = get(&f, &format!("/home/{ALICE}/?fmt={fmt}"), &ta).await;
        assert_eq!(status, 200);
        let (status, body) = import(
            &f,
            &format!("/home/{name}/?fmt={fmt}"),
            Some(&token),
            &archive,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let fresh = mailbox(&f, &name).await;
        assert_eq!(signature(&fresh).await, signature(&alice).await, "{fmt}");
    }
    // A folder export posted under another folder lands beneath it.
    let (_, archive) = get(&f, &format!("/home/{ALICE}/Work?fmt=tgz"), &ta).await;
    let bob = mailbox(&f, BOB).await;
    bob.create_folder(ItemId(1), "Old").await.expect("folder");
    let (status, body) = import(&f, &format!("/home/{BOB}/Old?fmt=tgz"), Some(&tb), &archive).await;
    assert_eq!(status, 200, "{body}");
    let (counts, _) = shape(&bob).await;
    assert_eq!(counts.get("/Old/Work"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("/Old/Work/Deep"), Some(&1), "{counts:?}");
}

#[tokio::test]
async fn resolve_modes() {
    let f = fixture().await;
    let mb = mailbox(&f, ALICE).await;
    let work = seed(&mb).await;
    let token = login(&f, ALICE).await;
    let (_, archive) = get(&f, &format!("/home/{ALICE}/?fmt=tgz"), &token).await;
    let before = signature(&mb).await;
    let post = |resolve: &'static str| {
        let archive = archive.clone();
        let token = token.clone();
        let f = &f;
        async move {
            let path = format!("/home/{ALICE}/?fmt=tgz&resolve={resolve}");
            let (status, body) = import(f, &path, Some(&token), &archive).await;
            assert_eq!(status, 200, "{resolve}: {body}");
        }
    };
    // skip: nothing doubles.
    post("skip").await;
    assert_eq!(signature(&mb).await, before);
    // modify: a flag changed here is set back from the archive, nothing doubles.
    let three = mb.messages(work).await.expect("messages")[0].id;
    mb.set_flags(&[three], Flags::ANSWERED, false)
        .await
        .expect("flags");
    mb.set_flags(&[three], Flags::FLAGGED, true)
        .await
        .expect("flags");
    assert_ne!(signature(&mb).await, before);
    post("modify").await;
    assert_eq!(signature(&mb).await, before);
    // replace: the items are imported afresh (new ids), same content.
    post("replace").await;
    assert_eq!(signature(&mb).await, before);
    assert_ne!(mb.messages(work).await.expect("messages")[0].id, three);
    // reset: a message not in the archive goes, the archive's stay.
    mb.append(work, b"Subject: stray\r\n\r\nx\r\n", Flags::default(), 1)
        .await
        .expect("append");
    assert_ne!(signature(&mb).await, before);
    post("reset").await;
    assert_eq!(signature(&mb).await, before);
    // types=contact imports no messages.
    let (status, _) = import(
        &f,
        &format!("/home/{BOB}/?fmt=tgz&types=contact"),
        Some(&login(&f, BOB).await),
        &archive,
    )
    .await;
    assert_eq!(status, 200);
    assert!(shape(&mailbox(&f, BOB).await).await.0.is_empty());
}

#[tokio::test]
async fn only_the_owner_or_an_inserting_grantee_may_post() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    let shared = alice
        .create_folder(ItemId(1), "Shared")
        .await
        .expect("folder")
        .id;
    let tb = login(&f, BOB).await;
    let eml = b"From: bob@example.test\r\nSubject: dropped\r\n\r\nhi\r\n";
    let path = format!("/home/{ALICE}/Shared?fmt=eml");
    // Another account's token: refused, nothing written.
    let (status, body) = import(&f, &path, Some(&tb), eml).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("PERM_DENIED"));
    let (status, _) = import(&f, &format!("/home/{ALICE}/?fmt=tgz"), Some(&tb), b"x").await;
    assert_eq!(status, 403);
    // A public grant with every right still gives an anonymous caller nothing.
    let public = alice
        .create_folder(ItemId(1), "Public")
        .await
        .expect("folder")
        .id;
    alice
        .grant(
            public,
            GranteeType::Public,
            "",
            Rights::parse("rwidx").expect("r"),
            "",
        )
        .await
        .expect("grant");
    for token in [None, Some("not-a-token")] {
        let (status, _) = import(&f, &format!("/home/{ALICE}/Public?fmt=eml"), token, eml).await;
        assert_eq!(status, 401);
    }
    assert!(alice.messages(public).await.expect("messages").is_empty());
    // Read-only for bob: refused; with insert: accepted.
    let bob = f.prov.get_account(BOB).await.expect("bob");
    let user = |r: &str| Rights::parse(r).expect("rights");
    alice
        .grant(
            shared,
            GranteeType::User,
            &bob.id.to_string(),
            user("r"),
            "",
        )
        .await
        .expect("grant");
    assert_eq!(import(&f, &path, Some(&tb), eml).await.0, 403);
    alice
        .grant(
            shared,
            GranteeType::User,
            &bob.id.to_string(),
            user("ri"),
            "",
        )
        .await
        .expect("grant");
    let (status, body) = import(&f, &path, Some(&tb), eml).await;
    assert_eq!(status, 200, "{body}");
    // ... but not reset, which needs delete too.
    let (status, _) = import(&f, &format!("{path}&resolve=reset"), Some(&tb), eml).await;
    assert_eq!(status, 403);
    let msgs = alice.messages(shared).await.expect("messages");
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        alice.read_message(msgs[0].id).await.expect("read"),
        eml.to_vec()
    );
    // Bob's own Inbox is still his alone.
    assert!(
        mailbox(&f, BOB)
            .await
            .messages(ItemId(2))
            .await
            .expect("m")
            .is_empty()
    );
}

#[tokio::test]
async fn bad_and_oversized_bodies_are_refused_without_a_write() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await;
    let path = format!("/home/{ALICE}/?fmt=tgz");
    let mut junk = vec![0x1f, 0x8b, 8, 0];
    junk.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    for body in [
        b"this is not an archive".to_vec(),
        junk,
        b"PK\x03\x04broken zip".to_vec(),
        vec![0u8; 100],
    ] {
        let (status, text) = import(&f, &path, Some(&token), &body).await;
        assert_eq!(status, 400, "{text}");
    }
    // A CSV document with an unnamed column.
    let (status, _) = import(
        &f,
        &format!("/home/{ALICE}/?fmt=csv"),
        Some(&token),
        b"a,,b",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = import(
        &f,
        &format!("/home/{ALICE}/Nowhere?fmt=tgz"),
        Some(&token),
        b"x",
    )
    .await;
    assert_eq!(status, 404);
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraFileUploadMaxSize".into(),
            vec!["1000".into()],
        )])
        .await
        .expect("config");
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(2000));
    let (status, _) = import(
        &f,
        &format!("/home/{ALICE}/Inbox?fmt=eml"),
        Some(&token),
        big.as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert!(mb.messages(ItemId(2)).await.expect("messages").is_empty());
    // The server still answers.
    let (status, _) = get(&f, &format!("/home/{ALICE}/Inbox?fmt=rss"), &token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn one_message_or_vcard_by_content_type() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await;
    let eml = b"From: x@example.test\r\nSubject: single\r\n\r\nbody\r\n";
    let head = format!(
        "POST /home/{ALICE}/Inbox HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}\r\n\
         Content-Type: message/rfc822"
    );
    let (status, _, _) = raw(f.user, &head, eml).await;
    assert_eq!(status, 200);
    let msgs = mb.messages(ItemId(2)).await.expect("messages");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].subject, "single");
    let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana Doe\r\nN:Doe;Dana;;;\r\n\
                 EMAIL:dana@example.test\r\nEND:VCARD\r\n";
    let (status, body) = import(
        &f,
        &format!("/home/{ALICE}/Contacts?fmt=vcf"),
        Some(&token),
        card,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mb.contacts(ItemId(7)).await.expect("contacts").len(), 1);
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev-1\r\n\
               DTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:Planning\r\n\
               END:VEVENT\r\nBEGIN:VEVENT\r\nUID:ev-2\r\nDTSTART:20300102T100000Z\r\n\
               DTEND:20300102T110000Z\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let path = format!("/home/{ALICE}/Calendar?fmt=ics");
    for _ in 0..2 {
        let (status, body) = import(&f, &path, Some(&token), ics.as_bytes()).await;
        assert_eq!(status, 200, "{body}");
    }
    let cal = mb.cal_items(ItemId(10)).await.expect("calendar");
    assert_eq!(cal.len(), 2, "posting twice (skip) keeps one item per UID");
    assert!(cal.iter().any(|c| c.ical.contains("SUMMARY:Review")));
}

/// Attack review: a grantee posting an iCalendar whose UID matches one of the owner's
/// appointments in a folder never granted must neither move/replace it nor learn it
/// exists; the entry is skipped.
#[tokio::test]
async fn a_grantee_cannot_take_over_the_owners_appointments_by_uid() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    let drop = alice
        .create_folder_with_view(ItemId(1), "Drop", Some("appointment"))
        .await
        .expect("folder")
        .id;
    let bob = f.prov.get_account(BOB).await.expect("bob");
    alice
        .grant(
            drop,
            GranteeType::User,
            &bob.id.to_string(),
            Rights::parse("rwidx").expect("r"),
            "",
        )
        .await
        .expect("grant");
    let own = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:secret-1\r\nSUMMARY:Mine\r\n\
               DTSTART:20300101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let mine = alice.save_cal_item(ItemId(10), own).await.expect("save");
    let tb = login(&f, BOB).await;
    let theirs = own.replace("SUMMARY:Mine", "SUMMARY:Stolen");
    for resolve in ["replace", "modify", "reset", "skip"] {
        let path = format!("/home/{ALICE}/Drop?fmt=ics&resolve={resolve}");
        let (status, body) = import(&f, &path, Some(&tb), theirs.as_bytes()).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("skipped=1") && body.contains("existing=0"),
            "{body}"
        );
        let now = alice.cal_item(mine.id).await.expect("still there");
        assert_eq!(now.folder, ItemId(10), "{resolve}");
        assert_eq!(now.summary, "Mine", "{resolve}");
    }
    // The owner's own import still replaces it.
    let ta = login(&f, ALICE).await;
    let path = format!("/home/{ALICE}/Calendar?fmt=ics&resolve=replace");
    let (status, body) = import(&f, &path, Some(&ta), theirs.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        alice.cal_item(mine.id).await.expect("item").summary,
        "Stolen"
    );
}
