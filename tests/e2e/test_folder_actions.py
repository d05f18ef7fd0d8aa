"""FolderAction's flag, url, sync and import operations, EmptyDumpster and
EnableSharedReminder against a running server, driven through zmmailbox as Zimbra's
admin guide uses it (mfch, mfefb, mff, mfu, sf, iuif, emptyDumpster, mmesr). Feeds
and calendars come from a small HTTP server this test starts on 127.0.0.1."""

import functools
import http.server
import json
import re
import threading

import pytest

from soap_util import envelope, fault_code, post, soap_body
from zcs import Zcs

DOMAIN = "fact.test"
PASSWORD = "fact-secret-1"
USERS = ["flags", "feeds", "dump", "sharer", "mounter"]

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Walrus news</title>
<item><title>Walrus one</title><link>http://example.test/1</link><guid>w1</guid>
<pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate><description>first</description></item>
<item><title>Walrus two</title><link>http://example.test/2</link><guid>w2</guid></item>
</channel></rss>"""

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//e2e//e2e//EN\r\nBEGIN:VEVENT\r\n"
       "UID:remote-1@fact.test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260110T100000Z\r\n"
       "DTEND:20260110T110000Z\r\nSUMMARY:Remote standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def addr(user):
    return f"{user}@{DOMAIN}"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("folder_actions"))
    z.init()
    # The test's web server is on loopback, which a user's URL may not reach by default.
    z.run("zmlocalconfig", "-e", "zimbra_feed_manager_whitelist=127.0.0.1")
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in USERS:
        z.zmprov("ca", addr(u), PASSWORD)
    z.zmprov("ma", addr("dump"), "zimbraDumpsterEnabled", "TRUE")
    yield z
    if z.status().returncode == 0:
        z.stop()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """http://127.0.0.1:PORT serving feed.xml and cal.ics."""
    root = tmp_path_factory.mktemp("web")
    (root / "feed.xml").write_text(RSS)
    (root / "cal.ics").write_text(ICS)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def mb(z, user, *args, check=True):
    return z.run("zmmailbox", "-z", "-m", addr(user), *args, check=check)


def folder(z, user, path):
    return json.loads(mb(z, user, "gf", path).stdout)


def login(z, user):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    body = (f'<AuthRequest xmlns="urn:zimbraAccount"><account by="name">{addr(user)}'
            f"</account><password>{PASSWORD}</password></AuthRequest>")
    status, _, text = post(url, envelope(body))
    assert status == 200, text
    return re.search(r"<authToken>([^<]+)</authToken>", text).group(1)


def test_checked_free_busy_and_flags(z):
    u = "flags"
    mb(z, u, "mfch", "/Calendar", "1")
    mb(z, u, "mfefb", "/Calendar", "1")
    assert folder(z, u, "/Calendar").get("f") == "#b"
    mb(z, u, "mfch", "/Calendar", "0")
    assert folder(z, u, "/Calendar").get("f") == "b"
    mb(z, u, "mfefb", "/Calendar", "0")
    assert "f" not in folder(z, u, "/Calendar")
    mb(z, u, "mff", "/Inbox", "#")
    assert folder(z, u, "/Inbox").get("f") == "#"
    # The flags outlive a restart (they are saved under the home).
    z.stop()
    z.start()
    assert folder(z, u, "/Inbox").get("f") == "#"


def test_feed_url_sync_and_calendar_import(z, web):
    u = "feeds"
    mb(z, u, "cf", "/News")
    mb(z, u, "mfu", "/News", f"{web}/feed.xml")
    assert folder(z, u, "/News").get("url") == f"{web}/feed.xml"
    found = mb(z, u, "s", "-t", "message", "in:/News").stdout
    assert "Walrus one" in found and "Walrus two" in found, found
    # A sync adds nothing it imported before.
    mb(z, u, "sf", "/News")
    assert folder(z, u, "/News")["n"] == 2
    mb(z, u, "cf", "-V", "appointment", "/Remote")
    mb(z, u, "iuif", "/Remote", f"{web}/cal.ics")
    assert folder(z, u, "/Remote")["n"] >= 0
    appts = mb(z, u, "s", "-t", "appointment", "in:/Remote").stdout
    assert "Remote standup" in appts, appts
    # Only http(s): a file: URL is refused; a missing page is unreachable.
    r = mb(z, u, "mfu", "/News", "file:///etc/passwd", check=False)
    assert r.returncode != 0 and "service.INVALID_REQUEST" in r.stderr, r.stderr
    r = mb(z, u, "iuif", "/News", f"{web}/missing.xml", check=False)
    assert r.returncode != 0 and "service.RESOURCE_UNREACHABLE" in r.stderr, r.stderr


def test_empty_dumpster_is_for_admins(z, tmp_path):
    u = "dump"
    msg = tmp_path / "m.eml"
    msg.write_text("From: a@remote.test\r\nSubject: dumped walrus\r\n\r\nhi\r\n")
    mid = mb(z, u, "am", "/Inbox", str(msg)).stdout.split()[0]
    mb(z, u, "dm", mid)
    # A user's own token is refused, with Zimbra's words.
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    tok = login(z, u)
    status, _, text = post(url, envelope('<EmptyDumpsterRequest xmlns="urn:zimbraMail"/>',
                                         token=tok))
    assert status == 500 and fault_code(text) == "service.PERM_DENIED", text
    assert "only admins can delete from dumpster" in text
    # zmmailbox -z acts with the admin's token.
    mb(z, u, "emptyDumpster")


def test_shared_calendar_reminder(z):
    mb(z, "sharer", "cf", "-V", "appointment", "/Duty")
    mb(z, "sharer", "mfg", "/Duty", "account", addr("mounter"), "r")
    mb(z, "mounter", "cm", "-V", "appointment", "/SharerDuty", addr("sharer"), "/Duty")
    mb(z, "mounter", "mmesr", "/SharerDuty", "1")
    assert link_attr(z, "mounter", "SharerDuty", "reminder") == "1"
    mb(z, "mounter", "mmesr", "/SharerDuty", "0")
    assert link_attr(z, "mounter", "SharerDuty", "reminder") is None


def link_attr(z, user, name, attr):
    """Attribute `attr` of the mountpoint `name` in the user's GetFolder tree."""
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, _, text = post(url, envelope('<GetFolderRequest xmlns="urn:zimbraMail"/>',
                                         token=login(z, user)))
    assert status == 200, text
    _, body = soap_body(text)
    for el in body.iter("{urn:zimbraMail}link"):
        if el.get("name") == name:
            return el.get(attr)
    raise AssertionError(f"no mountpoint {name}: {text}")
