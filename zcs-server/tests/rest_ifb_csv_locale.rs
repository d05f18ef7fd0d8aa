//! REST free/busy across calendars and localized contact CSV, over a real socket on
//! 127.0.0.1: `fmt=ifb` counts every calendar of the account except those excluded
//! from free/busy (folder flag `b`), or only the one `fb_cal=` names; `csvlocale=de`
//! and `fr` write and read Outlook's German and French headers.

mod soap_support;

use soap_support::*;
use zcs_core::{Flags, ItemId};

async fn get(f: &Fixture, path: &str, token: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(f.user, &head, b"").await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn post(f: &Fixture, path: &str, token: &str, body: &[u8]) -> (u16, String) {
    let head = format!("POST {path} HTTP/1.1\r\nCookie: ZM_AUTH_TOKEN={token}");
    let (status, _, body) = raw(f.user, &head, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn event(uid: &str, day: u32) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTART:203001{day:02}T100000Z\r\nDTEND:203001{day:02}T110000Z\r\n\
         SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

#[tokio::test]
async fn free_busy_reads_every_calendar_not_excluded() {
    let f = fixture().await;
    let mb = mailbox(&f, ALICE).await;
    mb.save_cal_item(ItemId(10), &event("main", 1))
        .await
        .expect("main");
    let team = mb
        .create_folder_with_view(ItemId(1), "Team", Some("appointment"))
        .await
        .expect("team")
        .id;
    mb.save_cal_item(team, &event("team", 2))
        .await
        .expect("team event");
    let private = mb
        .create_folder_with_view(ItemId(1), "Private", Some("appointment"))
        .await
        .expect("private")
        .id;
    mb.save_cal_item(private, &event("private", 3))
        .await
        .expect("private event");
    mb.set_folder_flags(private, Flags(Flags::EXCLUDE_FREEBUSY))
        .await
        .expect("flag b");
    let t = login(&f, ALICE).await;
    let range = "start=2030-01-01&end=2030-01-05";
    let (status, fb) = get(&f, &format!("/home/{ALICE}/Calendar?fmt=ifb&{range}"), &t).await;
    assert_eq!(status, 200, "{fb}");
    assert!(
        fb.contains("FBTYPE=BUSY:20300101T100000Z/20300101T110000Z"),
        "{fb}"
    );
    assert!(
        fb.contains("FBTYPE=BUSY:20300102T100000Z/20300102T110000Z"),
        "{fb}"
    );
    assert!(!fb.contains("20300103T"), "excluded calendar counted: {fb}");
    assert!(!fb.contains("team") && !fb.contains("private"), "{fb}");
    // fb_cal= names one calendar.
    let url = format!("/home/{ALICE}/Calendar?fmt=ifb&{range}&fb_cal={}", team.0);
    let (status, fb) = get(&f, &url, &t).await;
    assert_eq!(status, 200, "{fb}");
    assert!(fb.contains("20300102T100000Z"), "{fb}");
    assert!(!fb.contains("20300101T100000Z"), "{fb}");
    // Taking the flag off counts the calendar again.
    mb.set_folder_flags(private, Flags(0))
        .await
        .expect("unflag");
    let (_, fb) = get(&f, &format!("/home/{ALICE}/Calendar?fmt=ifb&{range}"), &t).await;
    assert!(
        fb.contains("FBTYPE=BUSY:20300103T100000Z/20300103T110000Z"),
        "{fb}"
    );
}

#[tokio::test]
async fn german_and_french_outlook_csv() {
    let f = fixture().await;
    let mb = mailbox(&f, ALICE).await;
    let fields: Vec<(String, String)> = [
        ("firstName", "Jörg"),
        ("lastName", "Müller"),
        ("email", "joerg@example.test"),
        ("homeCity", "Köln"),
        ("birthday", "1980-02-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    mb.create_contact(ItemId(7), fields.clone(), Vec::new())
        .await
        .expect("contact");
    let t = login(&f, ALICE).await;
    let path = format!("/home/{ALICE}/Contacts?fmt=csv&csvfmt=outlook-2003-csv&csvlocale=de");
    let (status, csv) = get(&f, &path, &t).await;
    assert_eq!(status, 200, "{csv}");
    let header = csv.lines().next().unwrap_or("");
    assert!(header.contains("\"Vorname\""), "{header}");
    assert!(header.contains("\"E-Mail-Adresse\""), "{header}");
    assert!(csv.contains("Köln"), "{csv}");
    let (status, fr) = get(&f, &path.replace("=de", "=fr_FR"), &t).await;
    assert_eq!(status, 200, "{fr}");
    assert!(
        fr.lines().next().unwrap_or("").contains("\"Prénom\";"),
        "{fr}"
    );

    // A German export read back (header recognised without csvfmt=), and a German
    // date (day.month.year) read in its own order.
    let tb = login(&f, BOB).await;
    let (status, body) = post(
        &f,
        &format!("/home/{BOB}/Contacts?fmt=csv"),
        &tb,
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let typed =
        "Vorname,Nachname,E-Mail-Adresse,Geburtstag\r\nAnna,Schmidt,anna@x.test,01.02.1990\r\n";
    let path = format!("/home/{BOB}/Contacts?fmt=csv&csvfmt=outlook-2003-csv&csvlocale=de");
    let (status, body) = post(&f, &path, &tb, typed.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let bob = mailbox(&f, BOB).await;
    let mut got: Vec<Vec<(String, String)>> = bob
        .contacts(ItemId(7))
        .await
        .expect("contacts")
        .into_iter()
        .map(|c| {
            let mut v = c.fields;
            v.sort();
            v
        })
        .collect();
    got.sort();
    let mut want = fields;
    want.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&want), "{got:?}");
    let anna = got
        .iter()
        .find(|c| c.iter().any(|(k, v)| k == "firstName" && v == "Anna"))
        .expect("anna");
    assert!(
        anna.contains(&("birthday".into(), "1990-02-01".into())),
        "{anna:?}"
    );
}
