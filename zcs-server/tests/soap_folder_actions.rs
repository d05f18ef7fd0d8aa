//! FolderAction's flag, url, sync and import operations, EmptyDumpster and
//! EnableSharedReminder over SOAP on 127.0.0.1; feeds and calendars come from a tiny
//! HTTP server the test starts on 127.0.0.1.

mod soap_support;

use soap_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zcs_core::ItemId;
use zcs_server::egress;
use zcs_store::MailboxSettings;

async fn call(f: &Fixture, token: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(token), body), "").await
}

/// The value of attribute `name` on the first `<tag ...>` of `body` that has `id="id"`
/// (any `<tag` when `id` is empty).
fn attr_of(body: &str, tag: &str, id: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = body[from..].find(&format!("<{tag} ")) {
        let start = from + i;
        let end = body[start..].find('>')? + start;
        let open = &body[start..end];
        from = end;
        if !id.is_empty() && !open.contains(&format!(" id=\"{id}\"")) {
            continue;
        }
        let key = format!(" {name}=\"");
        let v = open.find(&key)? + key.len();
        let len = open[v..].find('"')?;
        return Some(open[v..v + len].to_string());
    }
    None
}

fn ok(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn create_folder(f: &Fixture, tok: &str, name: &str, view: &str) -> String {
    let r = call(
        f,
        tok,
        &format!(
            "<CreateFolderRequest xmlns=\"urn:zimbraMail\"><folder name=\"{name}\" l=\"1\" \
             view=\"{view}\"/></CreateFolderRequest>"
        ),
    )
    .await;
    ok(&r);
    attr_of(&r.body, "folder", "", "id").expect("id")
}

async fn action(f: &Fixture, tok: &str, attrs: &str) -> Reply {
    call(
        f,
        tok,
        &format!(
            "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action {attrs}/>\
             </FolderActionRequest>"
        ),
    )
    .await
}

async fn get_folder(f: &Fixture, tok: &str) -> String {
    let r = call(f, tok, "<GetFolderRequest xmlns=\"urn:zimbraMail\"/>").await;
    ok(&r);
    r.body
}

/// Serves `files` (path, content type, body) over HTTP/1.1 on 127.0.0.1; 404 otherwise.
async fn http_server(files: Vec<(&'static str, &'static str, String)>) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let reply = match files.iter().find(|(p, _, _)| *p == path) {
                    Some((_, ct, body)) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(),
                };
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

const RSS: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed</title>\
    <item><title>Item one</title><link>http://example.test/1</link><guid>g1</guid>\
    <pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate><description>first</description></item>\
    <item><title>Item two</title><link>http://example.test/2</link><guid>g2</guid></item>\
    </channel></rss>";

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n\
    UID:ev-1@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260110T100000Z\r\n\
    DTEND:20260110T110000Z\r\nSUMMARY:Remote meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[tokio::test]
async fn check_fb_and_update_flags_show_in_get_folder() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let cal = create_folder(&f, &alice, "Team", "appointment").await;
    ok(&action(&f, &alice, &format!("op=\"check\" id=\"{cal}\"")).await);
    ok(&action(
        &f,
        &alice,
        &format!("op=\"fb\" id=\"{cal}\" excludeFreeBusy=\"1\""),
    )
    .await);
    let body = get_folder(&f, &alice).await;
    assert_eq!(
        attr_of(&body, "folder", &cal, "f").as_deref(),
        Some("#b"),
        "{body}"
    );
    ok(&action(&f, &alice, &format!("op=\"!check\" id=\"{cal}\"")).await);
    ok(&action(
        &f,
        &alice,
        &format!("op=\"fb\" id=\"{cal}\" excludeFreeBusy=\"0\""),
    )
    .await);
    let body = get_folder(&f, &alice).await;
    assert_eq!(attr_of(&body, "folder", &cal, "f"), None, "{body}");

    // update: f= replaces the flags (unknown letters ignored), url= is stored, the
    // same view is accepted; another view changes a user folder's view (Zimbra's
    // SetFolderDefaultView), not a system folder's.
    let r = action(
        &f,
        &alice,
        &format!(
            "op=\"update\" id=\"{cal}\" f=\"b#zu\" view=\"appointment\" \
             url=\"http://127.0.0.1:9/cal.ics\" color=\"3\" name=\"Team2\""
        ),
    )
    .await;
    ok(&r);
    let body = get_folder(&f, &alice).await;
    assert_eq!(
        attr_of(&body, "folder", &cal, "f").as_deref(),
        Some("#b"),
        "{body}"
    );
    assert_eq!(
        attr_of(&body, "folder", &cal, "url").as_deref(),
        Some("http://127.0.0.1:9/cal.ics")
    );
    assert_eq!(
        attr_of(&body, "folder", &cal, "name").as_deref(),
        Some("Team2")
    );
    assert_eq!(
        attr_of(&body, "folder", &cal, "color").as_deref(),
        Some("3")
    );
    let r = action(
        &f,
        &alice,
        &format!("op=\"update\" id=\"{cal}\" view=\"contact\""),
    )
    .await;
    ok(&r);
    let body = get_folder(&f, &alice).await;
    assert_eq!(
        attr_of(&body, "folder", &cal, "view").as_deref(),
        Some("contact"),
        "{body}"
    );
    let r = action(&f, &alice, "op=\"update\" id=\"2\" view=\"contact\"").await;
    assert!(r.fault_code().is_some(), "a system folder's view changed");
    let r = action(
        &f,
        &alice,
        &format!("op=\"update\" id=\"{cal}\" view=\"bogus\""),
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("service.INVALID_REQUEST"));
    // Bob's folder tree does not see alice's flags.
    let bob = login(&f, BOB).await;
    assert!(!get_folder(&f, &bob).await.contains(" f=\"#b\""));
}

#[tokio::test]
async fn url_sync_and_import_fetch_over_http_only() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let addr = http_server(vec![
        ("/feed.xml", "application/rss+xml", RSS.to_string()),
        ("/cal.ics", "text/calendar", ICS.to_string()),
    ])
    .await;
    let feed = create_folder(&f, &alice, "News", "message").await;
    // By default a user's URL may not reach loopback (the server's own ports listen
    // there): refused before any connection. Only this test fetches, so it alone
    // changes the process-wide policy.
    let r = action(
        &f,
        &alice,
        &format!("op=\"import\" id=\"{feed}\" url=\"http://{addr}/feed.xml\""),
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.RESOURCE_UNREACHABLE"),
        "{}",
        r.body
    );
    assert!(r.body.contains("blocked"), "{}", r.body);
    egress::set_policy(egress::EgressPolicy::from_lists(
        egress::DEFAULT_BLACKLIST,
        "127.0.0.1",
    ));
    let r = action(
        &f,
        &alice,
        &format!("op=\"url\" id=\"{feed}\" url=\"http://{addr}/feed.xml\""),
    )
    .await;
    ok(&r);
    let id = f.prov.get_account(ALICE).await.expect("alice").id;
    let mb = f.store.mailbox(id).await.expect("mailbox");
    let fid = ItemId(feed.parse().expect("id"));
    assert_eq!(mb.messages(fid).await.expect("messages").len(), 2);
    let body = get_folder(&f, &alice).await;
    let want = format!("http://{addr}/feed.xml");
    assert_eq!(attr_of(&body, "folder", &feed, "url"), Some(want));
    // A sync skips items it imported before; an import takes them again.
    ok(&action(&f, &alice, &format!("op=\"sync\" id=\"{feed}\"")).await);
    assert_eq!(mb.messages(fid).await.expect("messages").len(), 2);
    let imp = format!("op=\"import\" id=\"{feed}\" url=\"http://{addr}/feed.xml\"");
    ok(&action(&f, &alice, &imp).await);
    assert_eq!(mb.messages(fid).await.expect("messages").len(), 4);

    // A calendar URL brings appointments.
    let cal = create_folder(&f, &alice, "Remote", "appointment").await;
    let r = action(
        &f,
        &alice,
        &format!("op=\"url\" id=\"{cal}\" url=\"http://{addr}/cal.ics\" excludeFreeBusy=\"1\""),
    )
    .await;
    ok(&r);
    let cid = ItemId(cal.parse().expect("id"));
    let items = mb.cal_items(cid).await.expect("cal items");
    assert_eq!(items.len(), 1);
    ok(&action(&f, &alice, &format!("op=\"sync\" id=\"{cal}\"")).await);
    assert_eq!(mb.cal_items(cid).await.expect("cal items").len(), 1);
    let body = get_folder(&f, &alice).await;
    assert_eq!(attr_of(&body, "folder", &cal, "f").as_deref(), Some("b"));

    // Other schemes are refused; an address that answers 404 is unreachable.
    for bad in ["file:///etc/passwd", "ftp://127.0.0.1/x"] {
        let r = action(
            &f,
            &alice,
            &format!("op=\"url\" id=\"{feed}\" url=\"{bad}\""),
        )
        .await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.INVALID_REQUEST"),
            "{bad}"
        );
        let r = action(
            &f,
            &alice,
            &format!("op=\"import\" id=\"{feed}\" url=\"{bad}\""),
        )
        .await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("service.INVALID_REQUEST"),
            "{bad}"
        );
    }
    let r = action(
        &f,
        &alice,
        &format!("op=\"import\" id=\"{feed}\" url=\"http://{addr}/missing\""),
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.RESOURCE_UNREACHABLE"),
        "{}",
        r.body
    );
    // url="" removes the URL.
    ok(&action(&f, &alice, &format!("op=\"url\" id=\"{feed}\" url=\"\"")).await);
    let body = get_folder(&f, &alice).await;
    assert_eq!(attr_of(&body, "folder", &feed, "url"), None);
}

#[tokio::test]
async fn empty_dumpster_needs_an_admin_token() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let id = f.prov.get_account(ALICE).await.expect("alice").id;
    let mb = f
        .store
        .mailbox(id)
        .await
        .expect("mailbox")
        .with_settings(MailboxSettings {
            dumpster_enabled: true,
            ..MailboxSettings::default()
        });
    let raw = b"From: bob@example.test\r\nSubject: gone\r\n\r\nhi\r\n";
    let m = mb
        .append(
            ItemId(2),
            raw,
            zcs_core::Flags::default(),
            1_700_000_000_000,
        )
        .await
        .expect("append");
    mb.delete_items(&[m.id]).await.expect("delete");
    assert_eq!(mb.dumpster_items().await.expect("dumpster").len(), 1);

    let req = "<EmptyDumpsterRequest xmlns=\"urn:zimbraMail\"/>";
    let r = call(&f, &alice, req).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.PERM_DENIED"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("only admins can delete from dumpster"),
        "{}",
        r.body
    );
    assert_eq!(mb.dumpster_items().await.expect("dumpster").len(), 1);

    let admin = admin_login(&f).await;
    let env = format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{admin}</authToken>\
         <account by=\"name\">{ALICE}</account></context></soap:Header>\
         <soap:Body>{req}</soap:Body></soap:Envelope>"
    );
    let r = post(f.user, "/service/soap", &env, "").await;
    ok(&r);
    assert!(r.body.contains("EmptyDumpsterResponse"), "{}", r.body);
    assert!(mb.dumpster_items().await.expect("dumpster").is_empty());
}

#[tokio::test]
async fn shared_reminder_is_recorded_on_calendar_mountpoints() {
    let f = fixture().await;
    let alice = login(&f, ALICE).await;
    let bob = login(&f, BOB).await;
    let cal = create_folder(&f, &bob, "BobCal", "appointment").await;
    let r = call(
        &f,
        &bob,
        &format!(
            "<FolderActionRequest xmlns=\"urn:zimbraMail\"><action op=\"grant\" id=\"{cal}\">\
             <grant gt=\"usr\" d=\"{ALICE}\" perm=\"r\"/></action></FolderActionRequest>"
        ),
    )
    .await;
    ok(&r);
    let r = call(
        &f,
        &alice,
        &format!(
            "<CreateMountpointRequest xmlns=\"urn:zimbraMail\"><link l=\"1\" name=\"Bob's\" \
             owner=\"{BOB}\" path=\"/BobCal\" view=\"appointment\"/></CreateMountpointRequest>"
        ),
    )
    .await;
    ok(&r);
    let link = attr_of(&r.body, "link", "", "id").expect("link id");
    let set = |on: &str| {
        format!(
            "<EnableSharedReminderRequest xmlns=\"urn:zimbraMail\">\
             <link id=\"{link}\" reminder=\"{on}\"/></EnableSharedReminderRequest>"
        )
    };
    let r = call(&f, &alice, &set("1")).await;
    ok(&r);
    assert!(
        r.body.contains("EnableSharedReminderResponse"),
        "{}",
        r.body
    );
    let body = get_folder(&f, &alice).await;
    assert_eq!(
        attr_of(&body, "link", &link, "reminder").as_deref(),
        Some("1"),
        "{body}"
    );
    // A mountpoint takes check too.
    ok(&action(&f, &alice, &format!("op=\"check\" id=\"{link}\"")).await);
    let body = get_folder(&f, &alice).await;
    assert_eq!(
        attr_of(&body, "link", &link, "f").as_deref(),
        Some("#"),
        "{body}"
    );
    ok(&call(&f, &alice, &set("0")).await);
    let body = get_folder(&f, &alice).await;
    assert_eq!(attr_of(&body, "link", &link, "reminder"), None, "{body}");
    // Not a mountpoint: mail.NO_SUCH_MOUNTPOINT.
    let r = call(
        &f,
        &alice,
        "<EnableSharedReminderRequest xmlns=\"urn:zimbraMail\"><link id=\"2\" reminder=\"1\"/>\
         </EnableSharedReminderRequest>",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_MOUNTPOINT"),
        "{}",
        r.body
    );
}
