//! REST export and import formats over a real socket on 127.0.0.1: contacts as CSV
//! (`fmt=csv` out in Zimbra's and Outlook's layouts, in with Outlook, Thunderbird, Yahoo
//! and Google headers, each resolve mode), a whole-mailbox archive carrying mail,
//! contacts, appointments, tasks and Briefcase documents into a fresh account, Atom,
//! iCalendar ranges, free/busy and documents by path; and for each new path the owner /
//! grantee / anonymous rules of the older ones.

mod soap_support;

use std::collections::BTreeMap;

use soap_support::*;
use zcs_core::{Flags, ItemId};
use zcs_store::{GranteeType, Mailbox, Rights};

async fn post(f: &Fixture, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut head = format!("POST {path} HTTP/1.1");
    if let Some(t) = token {
        head.push_str(&format!("\r\nCookie: ZM_AUTH_TOKEN={t}"));
    }
    let (status, _, body) = raw(f.user, &head, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(f: &Fixture, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut head = format!("GET {path} HTTP/1.1");
    if let Some(t) = token {
        head.push_str(&format!("\r\nCookie: ZM_AUTH_TOKEN={t}"));
    }
    raw(f.user, &head, b"").await
}

fn fields(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every contact of folder `id` as its sorted fields, sorted.
async fn cards(mb: &Mailbox, id: ItemId) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = mb
        .contacts(id)
        .await
        .expect("contacts")
        .into_iter()
        .map(|c| {
            let mut f = c.fields;
            f.sort();
            f
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn contacts_export_as_csv_and_import_back() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    let contacts = ItemId(7);
    let ann = alice
        .create_contact(
            contacts,
            fields(&[
                ("firstName", "Ann"),
                ("lastName", "O\"Neil"),
                ("email", "ann@x.test"),
                ("notes", "line one\nline, two"),
            ]),
            Vec::new(),
        )
        .await
        .expect("contact");
    alice
        .create_contact(
            contacts,
            fields(&[("firstName", "Bo"), ("company", "Acme; Inc")]),
            Vec::new(),
        )
        .await
        .expect("contact");
    alice
        .tag_items_by_name(&[ann.id], &["Friends".to_string()], true, true)
        .await
        .expect("tag");
    let ta = login(&f, ALICE).await;
    let (status, head, body) = get(&f, &format!("/home/{ALICE}/Contacts?fmt=csv"), Some(&ta)).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/csv"),
        "{head}"
    );
    assert!(head.contains("Contacts.csv"), "{head}");
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.starts_with("\"company\",\"email\",\"firstName\",\"lastName\",\"notes\"\r\n"),
        "{text}"
    );
    assert!(text.contains("\"O\"\"Neil\""), "{text}");
    // The suffix form and Yahoo's layout (its tag column) with another separator.
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/Contacts.csv?csvfmt=yahoo-csv&csvsep=;"),
        Some(&ta),
    )
    .await;
    assert_eq!(status, 200);
    let yahoo = String::from_utf8(body).expect("utf-8");
    assert!(
        yahoo.starts_with("\"First\";\"Middle\";\"Last\";"),
        "{yahoo}"
    );
    assert!(yahoo.contains("\"Friends\""), "the tag column: {yahoo}");
    // One contact by id.
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/?id={}&fmt=csv", ann.id.0),
        Some(&ta),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8_lossy(&body).matches("\r\n").count(), 2);

    // Zimbra's layout into Bob's Contacts gives the same contacts; posting again
    // (skip) doubles nothing; replace gives new ids, same contacts.
    let tb = login(&f, BOB).await;
    let bob = mailbox(&f, BOB).await;
    let path = format!("/home/{BOB}/Contacts?fmt=csv");
    let (status, body) = post(&f, &path, Some(&tb), text.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("contacts=2"), "{body}");
    assert_eq!(cards(&bob, contacts).await, cards(&alice, contacts).await);
    let (status, body) = post(&f, &path, Some(&tb), text.as_bytes()).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("contacts=0") && body.contains("existing=2"),
        "{body}"
    );
    let before: Vec<ItemId> = bob
        .contacts(contacts)
        .await
        .expect("c")
        .iter()
        .map(|c| c.id)
        .collect();
    let (status, _) = post(
        &f,
        &format!("{path}&resolve=replace"),
        Some(&tb),
        text.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let after: Vec<ItemId> = bob
        .contacts(contacts)
        .await
        .expect("c")
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|id| !before.contains(id)));
    // Yahoo's layout read back, its tag column set as tags; reset empties first.
    bob.create_contact(contacts, fields(&[("firstName", "Stray")]), Vec::new())
        .await
        .expect("contact");
    let (status, body) = post(
        &f,
        &format!("{path}&resolve=reset&csvfmt=yahoo-csv"),
        Some(&tb),
        yahoo.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got = cards(&bob, contacts).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .any(|c| c.contains(&("email".into(), "ann@x.test".into())))
    );
    assert!(
        !got.iter()
            .any(|c| c.contains(&("firstName".into(), "Stray".into())))
    );
    let ann_b = bob
        .contacts(contacts)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.fields.iter().any(|(_, v)| v == "ann@x.test"))
        .expect("ann");
    assert_eq!(
        bob.item_tags(ann_b.id).await.expect("tags"),
        vec!["Friends".to_string()]
    );
}

#[tokio::test]
async fn other_clients_csv_headers_map_to_contact_fields() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await;
    let outlook = "First Name,Last Name,E-mail Address,Business Phone,Business Street,\
                   Business Street 2,Birthday,Categories\r\n\
                   Ann,Lee,ann@x.test,555-1,1 Main St,Suite 2,12/25/1980,Friends\r\n";
    let thunderbird = "First Name,Last Name,Display Name,Primary Email,Mobile Number,\
                       Birth Month,Birth Day,Birth Year\n\
                       Bo,Ek,Bo Ek,bo@x.test,555-2,3,4,1990\n";
    let yahoo = "First,Middle,Last,Email,Category,Home\nCy,Q,Do,cy@x.test,Family,555-3\n";
    let google = "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,\
                  Phone 1 - Type,Phone 1 - Value\nDee Fox,Dee,Fox,* Home,dee@x.test,Work,555-4\n";
    let book = mb
        .create_folder_with_view(ItemId(1), "Imported", Some("contact"))
        .await
        .expect("folder")
        .id;
    for body in [outlook, thunderbird, yahoo, google] {
        // Posted as text/csv with no fmt: the content type decides.
        let head = format!(
            "POST /home/{ALICE}/Imported HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}\r\n\
             Content-Type: text/csv"
        );
        let (status, _, text) = raw(f.user, &head, body.as_bytes()).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    }
    let got = cards(&mb, book).await;
    let has = |k: &str, v: &str| {
        got.iter()
            .any(|c| c.contains(&(k.to_string(), v.to_string())))
    };
    assert!(
        has("workPhone", "555-1") && has("workStreet", "1 Main St\nSuite 2"),
        "{got:?}"
    );
    assert!(has("birthday", "1980-12-25"), "{got:?}");
    assert!(
        has("fullName", "Bo Ek") && has("birthday", "1990-03-04") && has("mobilePhone", "555-2")
    );
    assert!(has("middleName", "Q") && has("homePhone", "555-3") && has("email", "cy@x.test"));
    assert!(has("lastName", "Fox") && has("workPhone", "555-4") && has("email", "dee@x.test"));
    // Yahoo's Category became a tag.
    let cy = mb
        .contacts(book)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.fields.iter().any(|(_, v)| v == "cy@x.test"))
        .expect("cy");
    assert_eq!(
        mb.item_tags(cy.id).await.expect("tags"),
        vec!["Family".to_string()]
    );
    // Posted to the mailbox itself: Contacts.
    let (status, _) = post(
        &f,
        &format!("/home/{ALICE}/?fmt=csv"),
        Some(&token),
        yahoo.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mb.contacts(ItemId(7)).await.expect("c").len(), 1);
}

#[tokio::test]
async fn hostile_csv_is_refused_without_a_write() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await;
    let path = format!("/home/{ALICE}/Contacts?fmt=csv");
    let wide = vec!["c"; 600].join(",");
    let long_name = "n".repeat(200);
    let binary = vec![0u8; 64];
    for body in [
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        b"email,,name\na,b,c\n".to_vec(),
        b"email,\"open\na@x.test".to_vec(),
        wide.into_bytes(),
        long_name.into_bytes(),
        binary,
    ] {
        let (status, text) = post(&f, &path, Some(&token), &body).await;
        assert_eq!(status, 400, "{text}");
    }
    assert!(mb.contacts(ItemId(7)).await.expect("c").is_empty());
    // A header with only junk rows: accepted, nothing made; the server still answers.
    let (status, text) = post(&f, &path, Some(&token), b"email\n\n \n\"\"\n").await;
    assert_eq!(status, 200, "{text}");
    assert!(mb.contacts(ItemId(7)).await.expect("c").is_empty());
    // Into a mail folder: the store refuses, nothing is written.
    let (status, _) = post(
        &f,
        &format!("/home/{ALICE}/Inbox?fmt=csv"),
        Some(&token),
        b"email\na@x.test\n",
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn csv_and_new_paths_follow_the_owner_and_grant_rules() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    alice
        .create_contact(ItemId(7), fields(&[("email", "secret@x.test")]), Vec::new())
        .await
        .expect("contact");
    alice
        .save_document(ItemId(16), "plan.txt", "text/plain", b"the plan", ALICE)
        .await
        .expect("doc");
    let tb = login(&f, BOB).await;
    let csv = b"email\nbob-was-here@x.test\n";
    let reads = [
        format!("/home/{ALICE}/Contacts?fmt=csv"),
        format!("/home/{ALICE}/Contacts.csv"),
        format!("/home/{ALICE}/Briefcase/plan.txt"),
        format!("/home/{ALICE}/Calendar?fmt=atom"),
        format!("/home/{ALICE}/Calendar?fmt=ifb"),
        format!("/home/{ALICE}/Calendar?fmt=ics&start=0&end=99999999999999"),
    ];
    // Another account: as if nothing were there; anonymous: 401.
    for p in &reads {
        assert_eq!(get(&f, p, Some(&tb)).await.0, 404, "{p}");
        assert_eq!(get(&f, p, None).await.0, 401, "{p}");
    }
    let write = format!("/home/{ALICE}/Contacts?fmt=csv");
    assert_eq!(post(&f, &write, Some(&tb), csv).await.0, 403);
    assert_eq!(post(&f, &write, None, csv).await.0, 401);
    // Read grants open the reads, not the write; insert opens the write.
    let bob = f.prov.get_account(BOB).await.expect("bob");
    for folder in [7, 10, 16] {
        alice
            .grant(
                ItemId(folder),
                GranteeType::User,
                &bob.id.to_string(),
                Rights::parse("r").expect("r"),
                "",
            )
            .await
            .expect("grant");
    }
    for p in &reads {
        assert_eq!(get(&f, p, Some(&tb)).await.0, 200, "{p}");
    }
    assert_eq!(post(&f, &write, Some(&tb), csv).await.0, 403);
    alice
        .grant(
            ItemId(7),
            GranteeType::User,
            &bob.id.to_string(),
            Rights::parse("ri").expect("r"),
            "",
        )
        .await
        .expect("grant");
    let (status, body) = post(&f, &write, Some(&tb), csv).await;
    assert_eq!(status, 200, "{body}");
    // Replace needs delete too.
    assert_eq!(
        post(&f, &format!("{write}&resolve=replace"), Some(&tb), csv)
            .await
            .0,
        403
    );
    // A public grant with every right still writes nothing for an anonymous caller.
    alice
        .grant(
            ItemId(7),
            GranteeType::Public,
            "",
            Rights::parse("rwidx").expect("r"),
            "",
        )
        .await
        .expect("grant");
    assert_eq!(post(&f, &write, None, csv).await.0, 401);
    assert_eq!(alice.contacts(ItemId(7)).await.expect("c").len(), 2);
    // A document path in a folder Bob may not read stays hidden.
    let private = alice
        .create_folder_with_view(ItemId(1), "Private", Some("document"))
        .await
        .expect("folder")
        .id;
    alice
        .save_document(private, "x.txt", "text/plain", b"x", ALICE)
        .await
        .expect("doc");
    assert_eq!(
        get(&f, &format!("/home/{ALICE}/Private/x.txt"), Some(&tb))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&f, &format!("/home/{ALICE}/Private/nope.txt"), Some(&tb))
            .await
            .0,
        404
    );
}

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:ev-1\r\n\
    DTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:Planning\r\n\
    ORGANIZER:mailto:alice@example.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
const LATER: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:ev-2\r\n\
    DTSTART:20310601T100000Z\r\nDTEND:20310601T120000Z\r\nSUMMARY:Review\r\n\
    END:VEVENT\r\nEND:VCALENDAR\r\n";
const TODO: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VTODO\r\nUID:todo-1\r\n\
    SUMMARY:Write report\r\nDUE:20300105T170000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";

/// Everything a mailbox holds, by folder path: view, messages (subject, flags, bytes),
/// contacts, calendar items (UID, summary) and documents (name, type, bytes).
type Shape = BTreeMap<String, (String, Vec<String>)>;

async fn shape(mb: &Mailbox) -> Shape {
    let mut out = Shape::new();
    for fo in mb.folders().await.expect("folders") {
        let mut items = Vec::new();
        for m in mb.messages(fo.id).await.expect("m") {
            let raw = mb.read_message(m.id).await.expect("read");
            items.push(format!("m {} {} {}", m.subject, m.flags.0, raw.len()));
        }
        for c in cards(mb, fo.id).await {
            items.push(format!("c {c:?}"));
        }
        for c in mb.cal_items(fo.id).await.expect("cal") {
            items.push(format!("e {} {} {:?}", c.uid, c.summary, c.kind));
        }
        for d in mb.documents(fo.id).await.expect("docs") {
            let bytes = mb.read_document(d.id, None).await.expect("doc");
            items.push(format!("d {} {} {:?}", d.name, d.content_type, bytes));
        }
        items.sort();
        out.insert(fo.path.clone(), (fo.view.clone(), items));
    }
    out
}

async fn seed_everything(mb: &Mailbox) {
    let work = mb
        .create_folder(ItemId(1), "Work")
        .await
        .expect("folder")
        .id;
    mb.append(
        work,
        b"From: c@x.test\r\nSubject: hello\r\n\r\nbody\r\n",
        Flags(Flags::FLAGGED),
        1_600_000_000_000,
    )
    .await
    .expect("append");
    let book = mb
        .create_folder_with_view(ItemId(1), "Clients", Some("contact"))
        .await
        .expect("folder")
        .id;
    mb.create_contact(
        book,
        fields(&[("firstName", "Zed"), ("email", "z@x.test")]),
        Vec::new(),
    )
    .await
    .expect("contact");
    mb.save_cal_item(ItemId(10), EVENT).await.expect("event");
    let team = mb
        .create_folder_with_view(ItemId(1), "Team Cal", Some("appointment"))
        .await
        .expect("folder")
        .id;
    mb.save_cal_item(team, LATER).await.expect("event");
    mb.save_cal_item(ItemId(15), TODO).await.expect("task");
    mb.save_document(ItemId(16), "notes.txt", "text/plain", b"some notes", ALICE)
        .await
        .expect("doc");
    let sub = mb
        .create_folder_with_view(ItemId(16), "Specs", Some("document"))
        .await
        .expect("folder")
        .id;
    mb.save_document(
        sub,
        "weird name.eml",
        "application/x-odd",
        b"\x00\x01binary",
        ALICE,
    )
    .await
    .expect("doc");
}

#[tokio::test]
async fn a_whole_mailbox_archive_round_trips_every_kind() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    seed_everything(&alice).await;
    let ta = login(&f, ALICE).await;
    let want = shape(&alice).await;
    for fmt in ["tgz", "tar", "zip"] {
        let name = format!("fresh-{fmt}@example.test");
        f.prov
            .create_account(&name, Some(PASSWORD), zcs_core::Attrs::new())
            .await
            .expect("account");
        let token = login(&f, &name).await;
        let (status, _, archive) = get(&f, &format!("/home/{ALICE}/?fmt={fmt}"), Some(&ta)).await;
        assert_eq!(status, 200);
        let (status, body) = post(
            &f,
            &format!("/home/{name}/?fmt={fmt}"),
            Some(&token),
            &archive,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("documents=2") && body.contains("appointments=3"),
            "{body}"
        );
        let fresh = mailbox(&f, &name).await;
        assert_eq!(shape(&fresh).await, want, "{fmt}");
        // Posting it again (skip) changes nothing.
        let (status, body) = post(
            &f,
            &format!("/home/{name}/?fmt={fmt}"),
            Some(&token),
            &archive,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(shape(&fresh).await, want, "{fmt} twice");
    }
    // types= narrows an export.
    let (_, _, only_docs) = get(
        &f,
        &format!("/home/{ALICE}/?fmt=tgz&types=document"),
        Some(&ta),
    )
    .await;
    let bob = mailbox(&f, BOB).await;
    let tb = login(&f, BOB).await;
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tgz"), Some(&tb), &only_docs).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("messages=0") && body.contains("documents=2"),
        "{body}"
    );
    assert!(bob.cal_items(ItemId(10)).await.expect("cal").is_empty());
}

#[tokio::test]
async fn a_plain_archive_without_metadata_is_read_by_extension() {
    let f = fixture().await;
    let token = login(&f, ALICE).await;
    let mb = mailbox(&f, ALICE).await;
    let entry = |name: &str, data: &[u8]| zcs_server_test_tar_entry(name, data);
    let mut tar = Vec::new();
    for (name, data) in [
        ("readme.txt", b"top level file".as_slice()),
        ("Projects/spec.pdf", b"%PDF-1.4"),
        ("Projects/meeting.ics", EVENT.as_bytes()),
        ("todo.ics", TODO.as_bytes()),
        (
            "people.csv",
            b"First Name,Last Name,E-mail Address\nAl,Bo,al@x.test\n",
        ),
    ] {
        tar.extend(entry(name, data));
    }
    tar.extend([0u8; 1024]);
    let (status, body) = post(&f, &format!("/home/{ALICE}/?fmt=tar"), Some(&token), &tar).await;
    assert_eq!(status, 200, "{body}");
    let doc = mb
        .document_by_name(ItemId(16), "readme.txt")
        .await
        .expect("q");
    assert_eq!(doc.map(|d| d.content_type), Some("text/plain".to_string()));
    let todo = mb
        .cal_item_by_uid("todo-1")
        .await
        .expect("q")
        .expect("task");
    assert_eq!(todo.folder, ItemId(15));
    assert_eq!(mb.contacts(ItemId(7)).await.expect("c").len(), 1);
    // "Projects" holds a file and a calendar: the first made it a Briefcase folder, so
    // the calendar could not go in; it is counted, not fatal.
    let projects = mb
        .folder_by_path("/Projects")
        .await
        .expect("q")
        .expect("folder");
    assert_eq!(projects.view, "document");
    assert!(body.contains("skipped=1"), "{body}");
}

/// One ustar entry (header and padded data) for a hand-made archive.
fn zcs_server_test_tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
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

#[tokio::test]
async fn atom_ics_ranges_free_busy_and_documents_by_path() {
    let f = fixture().await;
    let mb = mailbox(&f, ALICE).await;
    seed_everything(&mb).await;
    let token = login(&f, ALICE).await;
    let t = Some(token.as_str());
    mb.append(
        ItemId(2),
        b"From: c@x.test\r\nSubject: <b>news</b> & more\r\n\r\nbody\r\n",
        Flags::default(),
        1_700_000_000_000,
    )
    .await
    .expect("append");
    let (status, head, body) = get(&f, &format!("/home/{ALICE}/Inbox.atom"), t).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("application/atom+xml"),
        "{head}"
    );
    let atom = String::from_utf8(body).expect("utf-8");
    assert!(
        atom.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"),
        "{atom}"
    );
    assert!(
        atom.contains("&lt;b&gt;news&lt;/b&gt; &amp; more"),
        "{atom}"
    );
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/Calendar?fmt=atom&start=2029-12-31&end=2030-01-02"),
        t,
    )
    .await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<title>Planning</title>"));
    // ics narrowed by a range, and the whole calendar without one.
    let ics = |q: &'static str| {
        let f = &f;
        async move {
            let (s, _, b) = get(f, &format!("/home/{ALICE}/Team%20Cal?fmt=ics{q}"), t).await;
            assert_eq!(s, 200, "{q}");
            String::from_utf8(b).expect("utf-8")
        }
    };
    assert!(ics("").await.contains("UID:ev-2"));
    assert!(
        ics("&start=2031-06-01&end=2031-06-02")
            .await
            .contains("UID:ev-2")
    );
    assert!(
        !ics("&start=2030-01-01&end=2030-02-01")
            .await
            .contains("UID:ev-2")
    );
    let (status, _, _) = get(&f, &format!("/home/{ALICE}/Calendar?fmt=ics&start=soon"), t).await;
    assert_eq!(status, 400);
    // Free/busy: one busy span, no details.
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/Calendar?fmt=ifb&start=2030-01-01&end=2030-01-02"),
        t,
    )
    .await;
    assert_eq!(status, 200);
    let fb = String::from_utf8(body).expect("utf-8");
    assert!(
        fb.contains("FREEBUSY;FBTYPE=BUSY:20300101T100000Z/20300101T110000Z"),
        "{fb}"
    );
    assert!(!fb.contains("Planning"));
    // Documents by path, a name with a space and one ending like a format.
    let (status, head, body) = get(&f, &format!("/home/{ALICE}/Briefcase/notes.txt"), t).await;
    assert_eq!((status, body.as_slice()), (200, b"some notes".as_slice()));
    assert!(head.to_ascii_lowercase().contains("text/plain"));
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/Briefcase/Specs/weird%20name.eml"),
        t,
    )
    .await;
    assert_eq!(
        (status, body.as_slice()),
        (200, b"\x00\x01binary".as_slice())
    );
    mb.save_document(ItemId(16), "list.csv", "text/csv", b"a,b", ALICE)
        .await
        .expect("doc");
    let (status, _, body) = get(&f, &format!("/home/{ALICE}/Briefcase/list.csv"), t).await;
    assert_eq!((status, body.as_slice()), (200, b"a,b".as_slice()));
    assert_eq!(
        get(&f, &format!("/home/{ALICE}/Briefcase/none.txt"), t)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_query_narrows_an_export_never_widens_it() {
    let f = fixture().await;
    let mb = mailbox(&f, ALICE).await;
    for (subject, flags) in [
        ("keepme", Flags(Flags::FLAGGED)),
        ("dropme", Flags::default()),
    ] {
        let raw = format!("From: c@x.test\r\nSubject: {subject}\r\n\r\nbody\r\n");
        mb.append(ItemId(2), raw.as_bytes(), flags, 1_700_000_000_000)
            .await
            .expect("append");
    }
    for name in ["Annabel", "Boris"] {
        mb.create_contact(ItemId(7), fields(&[("firstName", name)]), Vec::new())
            .await
            .expect("contact");
    }
    let ta = login(&f, ALICE).await;
    let t = Some(ta.as_str());
    let (status, _, body) = get(&f, &format!("/home/{ALICE}/Inbox.rss?query=is:flagged"), t).await;
    assert_eq!(status, 200);
    let rss = String::from_utf8_lossy(&body).into_owned();
    assert!(rss.contains("keepme") && !rss.contains("dropme"), "{rss}");
    let (status, _, body) = get(&f, &format!("/home/{ALICE}/Contacts.csv?query=annabel"), t).await;
    assert_eq!(status, 200);
    let csv = String::from_utf8_lossy(&body).into_owned();
    assert!(csv.contains("Annabel") && !csv.contains("Boris"), "{csv}");
    let (status, _, _) = get(&f, &format!("/home/{ALICE}/Inbox.rss?query=(("), t).await;
    assert_eq!(status, 400);
    // A whole-mailbox archive with a query holds only the matches.
    let (status, _, archive) =
        get(&f, &format!("/home/{ALICE}/?fmt=tgz&query=is:flagged"), t).await;
    assert_eq!(status, 200);
    let tb = login(&f, BOB).await;
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tgz"), Some(&tb), &archive).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("messages=1") && body.contains("contacts=0"),
        "{body}"
    );
    // Bob, reading only Alice's Contacts, gets no mail whatever the query says.
    let bob = f.prov.get_account(BOB).await.expect("bob");
    mb.grant(
        ItemId(7),
        GranteeType::User,
        &bob.id.to_string(),
        Rights::parse("r").expect("r"),
        "",
    )
    .await
    .expect("grant");
    let (status, _, body) = get(
        &f,
        &format!("/home/{ALICE}/Contacts?fmt=zip&query=in:inbox%20OR%20annabel"),
        Some(&tb),
    )
    .await;
    assert_eq!(status, 200);
    let zip = String::from_utf8_lossy(&body).into_owned();
    assert!(!zip.contains("keepme") && zip.contains("Annabel") && !zip.contains("Boris"));
    let (status, _, _) = get(
        &f,
        &format!("/home/{ALICE}/Inbox.rss?query=is:flagged"),
        Some(&tb),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn plain_archives_and_calendar_ranges() {
    let f = fixture().await;
    let alice = mailbox(&f, ALICE).await;
    alice.save_cal_item(ItemId(10), EVENT).await.expect("event");
    alice.save_cal_item(ItemId(10), LATER).await.expect("event");
    let team = alice
        .create_folder_with_view(ItemId(1), "Team", Some("appointment"))
        .await
        .expect("folder")
        .id;
    alice
        .save_cal_item(
            team,
            TODO.replace("VTODO", "VEVENT")
                .replace("DUE", "DTSTART")
                .as_str(),
        )
        .await
        .expect("event");
    alice
        .save_document(ItemId(16), "a.txt", "text/plain", b"aaa", ALICE)
        .await
        .expect("doc");
    let ta = login(&f, ALICE).await;
    // meta=0: no .meta at all; read back by extension into the same places.
    let (status, _, tar) = get(&f, &format!("/home/{ALICE}/?fmt=tar&meta=0"), Some(&ta)).await;
    assert_eq!(status, 200);
    assert!(!tar.windows(5).any(|w| w == b".meta"));
    let tb = login(&f, BOB).await;
    let (status, body) = post(&f, &format!("/home/{BOB}/?fmt=tar"), Some(&tb), &tar).await;
    assert_eq!(status, 200, "{body}");
    let bob = mailbox(&f, BOB).await;
    assert_eq!(bob.cal_items(ItemId(10)).await.expect("cal").len(), 2);
    let bteam = bob.folder_by_path("/Team").await.expect("q").expect("made");
    assert_eq!(bteam.view, "appointment");
    assert_eq!(bob.cal_items(bteam.id).await.expect("cal").len(), 1);
    assert!(
        bob.document_by_name(ItemId(16), "a.txt")
            .await
            .expect("q")
            .is_some()
    );
    // start=/end=: only the calendar items with an instance in the range.
    let (status, _, tgz) = get(
        &f,
        &format!("/home/{ALICE}/Calendar?fmt=tgz&start=2031-01-01&end=2032-01-01"),
        Some(&ta),
    )
    .await;
    assert_eq!(status, 200);
    let carol = "carol@example.test";
    f.prov
        .create_account(carol, Some(PASSWORD), zcs_core::Attrs::new())
        .await
        .expect("account");
    let tc = login(&f, carol).await;
    let (status, body) = post(&f, &format!("/home/{carol}/?fmt=tgz"), Some(&tc), &tgz).await;
    assert_eq!(status, 200, "{body}");
    let uids: Vec<String> = mailbox(&f, carol)
        .await
        .cal_items(ItemId(10))
        .await
        .expect("cal")
        .into_iter()
        .map(|c| c.uid)
        .collect();
    assert_eq!(uids, vec!["ev-2".to_string()]);
}
