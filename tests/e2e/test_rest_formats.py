"""REST export and import formats against a real server: contacts as CSV (Zimbra's
layout out, Outlook's in), a plain tar of a Briefcase file, a calendar and a CSV address
book read by extension, a whole-mailbox tgz round trip into a fresh account (mail,
contacts, calendar, tasks, documents, folders), Atom, free/busy and documents by path;
another account and an anonymous caller get nothing and write nothing."""

import base64
import io
import tarfile
import urllib.error
import urllib.parse
import urllib.request

import pytest

from zcs import Zcs

DOMAIN = "restfmt.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
PASSWORD = "restfmt-pass-1"

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:e2e\r\nBEGIN:VEVENT\r\nUID:e2e-ev-1\r\n"
         "DTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\nSUMMARY:Kickoff\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")
TODO = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:e2e\r\nBEGIN:VTODO\r\nUID:e2e-todo-1\r\n"
        "SUMMARY:File taxes\r\nDUE:20300401T170000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
OUTLOOK = ("First Name,Last Name,E-mail Address,Business Phone,Business Street,"
           "Business Street 2\r\nAnn,Lee,ann@remote.test,555-0101,1 Main St,Suite 2\r\n"
           "Bo,Ek,bo@remote.test,555-0102,,\r\n")
MAIL = ("From: Dee <dee@remote.test>\r\nTo: alice@restfmt.test\r\nSubject: quarterly\r\n"
        "Date: Wed, 28 Nov 2007 05:15:48 -0800\r\n\r\nnumbers attached\r\n")


def basic(user):
    raw = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def rest(z, path, user=None, method="GET", data=None, ctype=None):
    """(status, lower-case headers, body) of one request to the user port."""
    headers = basic(user) if user else {}
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(f"http://127.0.0.1:{z.http_port}{path}", data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def plain_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = Zcs(tmp_path_factory.mktemp("zcs-rest-formats"))
    home.init()
    home.zmprov("cd", DOMAIN)
    for user in (ALICE, BOB, CAROL):
        home.zmprov("ca", user, PASSWORD)
    home.start()
    yield home
    home.stop()


@pytest.fixture(scope="module")
def seeded(z):
    """Alice's mailbox filled through REST imports only."""
    steps = [
        (f"/home/{ALICE}/Contacts?fmt=csv", OUTLOOK.encode(), None),
        (f"/home/{ALICE}/Calendar?fmt=ics", EVENT.encode(), None),
        (f"/home/{ALICE}/Tasks", TODO.encode(), "text/calendar"),
        (f"/home/{ALICE}/Inbox", MAIL.encode(), "message/rfc822"),
        (f"/home/{ALICE}/?fmt=tar",
         plain_tar([("readme.txt", b"read me first"),
                    ("Specs/design.md", b"# design\n")]), None),
    ]
    for path, body, ctype in steps:
        status, _, text = rest(z, path, ALICE, "POST", body, ctype)
        assert status == 200, (path, text)
    return z


def test_csv_out_in_zimbra_layout_and_back_into_another_account(seeded):
    z = seeded
    status, headers, body = rest(z, f"/home/{ALICE}/Contacts.csv", ALICE)
    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    text = body.decode()
    header = text.split("\r\n")[0]
    names = [h.strip('"') for h in header.split(",")]
    assert names == sorted(names), header
    assert {"email", "firstName", "lastName", "workPhone", "workStreet"} <= set(names)
    assert '"1 Main St\nSuite 2"' in text
    status, _, out = rest(z, f"/home/{BOB}/Contacts?fmt=csv", BOB, "POST", body)
    assert status == 200 and b"contacts=2" in out, out
    status, _, again = rest(z, f"/home/{BOB}/Contacts.csv", BOB)
    assert status == 200 and again == body


def test_another_account_and_anonymous_get_nothing(seeded):
    z = seeded
    for path in (f"/home/{ALICE}/Contacts.csv", f"/home/{ALICE}/Briefcase/readme.txt",
                 f"/home/{ALICE}/Calendar?fmt=atom", f"/home/{ALICE}/Calendar?fmt=ifb"):
        assert rest(z, path, BOB)[0] == 404, path
        assert rest(z, path)[0] == 401, path
    assert rest(z, f"/home/{ALICE}/Contacts?fmt=csv", BOB, "POST", OUTLOOK.encode())[0] == 403
    assert rest(z, f"/home/{ALICE}/Contacts?fmt=csv", None, "POST", OUTLOOK.encode())[0] == 401
    status, _, body = rest(z, f"/home/{ALICE}/Contacts.csv", ALICE)
    assert body.count(b"\r\n") == 3, body  # header and Alice's two contacts only


def test_documents_calendar_atom_and_free_busy(seeded):
    z = seeded
    status, headers, body = rest(z, f"/home/{ALICE}/Briefcase/readme.txt", ALICE)
    assert (status, body) == (200, b"read me first")
    assert headers["content-type"].startswith("text/plain")
    status, _, body = rest(z, f"/home/{ALICE}/Specs/design.md", ALICE)
    assert (status, body) == (200, b"# design\n")
    status, _, body = rest(z, f"/home/{ALICE}/Calendar?fmt=ics&start=2029-12-31&end=2030-01-02",
                           ALICE)
    assert status == 200 and b"UID:e2e-ev-1" in body
    status, _, body = rest(z, f"/home/{ALICE}/Calendar?fmt=ics&start=2031-01-01&end=2031-02-01",
                           ALICE)
    assert status == 200 and b"e2e-ev-1" not in body
    status, headers, body = rest(
        z, f"/home/{ALICE}/Calendar.atom?start=2029-12-31&end=2030-01-02", ALICE)
    assert status == 200 and "atom" in headers["content-type"]
    assert b"<title>Kickoff</title>" in body
    status, _, body = rest(z, f"/home/{ALICE}/Calendar?fmt=ifb&start=2030-01-01&end=2030-01-02",
                           ALICE)
    assert status == 200
    assert b"FREEBUSY;FBTYPE=BUSY:20300101T100000Z/20300101T110000Z" in body
    assert b"Kickoff" not in body


def test_whole_mailbox_tgz_round_trips_into_a_fresh_account(seeded):
    z = seeded
    status, headers, archive = rest(z, f"/home/{ALICE}/?fmt=tgz", ALICE)
    assert status == 200 and archive[:2] == b"\x1f\x8b"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as t:
        names = t.getnames()
    # Zimbra's archive layout: an appointment is `<id>-<subject>.appt` after its `.meta`,
    # a task `.task`.
    assert any(n.startswith("Calendar/") and n.endswith(".appt") for n in names), names
    assert any(n.startswith("Tasks/") and n.endswith(".task") for n in names), names
    assert "Specs/design.md" in names and "Briefcase/readme.txt.meta" in names
    status, _, out = rest(z, f"/home/{CAROL}/?fmt=tgz", CAROL, "POST", archive)
    assert status == 200, out
    for word in (b"messages=1", b"contacts=2", b"appointments=2", b"documents=2"):
        assert word in out, out
    # Every export of Carol's mailbox now reads like Alice's.
    for path in ("Contacts.csv", "Briefcase/readme.txt", "Specs/design.md",
                 "Calendar.ics", "Tasks.ics"):
        a = rest(z, f"/home/{ALICE}/{path}", ALICE)
        c = rest(z, f"/home/{CAROL}/{path}", CAROL)
        assert (a[0], c[0]) == (200, 200), path
        assert a[2] == c[2], path
    inbox = rest(z, f"/home/{CAROL}/Inbox.rss", CAROL)[2]
    assert b"quarterly" in inbox
    # Posting it again (the default resolve=skip) changes nothing.
    status, _, out = rest(z, f"/home/{CAROL}/?fmt=tgz", CAROL, "POST", archive)
    assert status == 200 and b"messages=0" in out and b"documents=0" in out, out
    assert rest(z, f"/home/{CAROL}/Contacts.csv", CAROL)[2].count(b"\r\n") == 3


def test_a_query_narrows_the_export(seeded):
    z = seeded
    q = urllib.parse.quote("ann")
    status, _, body = rest(z, f"/home/{ALICE}/Contacts.csv?query={q}", ALICE)
    assert status == 200 and b"ann@remote.test" in body and b"bo@remote.test" not in body
