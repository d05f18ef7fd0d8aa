"""REST (/home/...) for the public, end to end: a folder granted to the public
(gt="pub", how Zimbra publishes calendars and public folders) is readable without any
credentials, in every format and item by item; anything else answers an anonymous caller
401 exactly as a request without auth always did, whether it exists or not; a public
grant never lets an anonymous caller write. Mirrors Zimbra's Sharing_GranteePublic_01/02
harness cases."""

import base64
import json
import urllib.error
import urllib.request

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "restpub.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "restpub-pass-1"
# Zimbra's id for the public grantee, used by FolderAction !grant.
PUBLIC_ZID = "99999999-9999-9999-9999-999999999999"


def mime(subject):
    return (f"From: Ann <ann@remote.test>\nTo: {ALICE}\nSubject: {subject}\n"
            "Date: Wed, 28 Nov 2007 05:15:48 -0800\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\nbody of " + subject + "\n")


def soap_url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def call(z, token, name, body):
    status, js = json_request(soap_url(z), name, "urn:zimbraMail", body, token)
    assert status == 200, js
    return js["Body"][name.replace("Request", "Response")]


def token_of(z, user):
    status, js = json_request(soap_url(z), "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    return js["Body"]["AuthResponse"]["authToken"][0]["_content"]


def rest(z, path, headers=None, method="GET", data=None):
    """(status, headers with lower-case names, body bytes) of one request to the user
    port."""
    req = urllib.request.Request(f"http://127.0.0.1:{z.http_port}{path}", data=data,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, lower(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, lower(e.headers), e.read()


def lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def basic(user, password=PASSWORD):
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = Zcs(tmp_path_factory.mktemp("zcs-rest-public"))
    home.init()
    home.zmprov("cd", DOMAIN)
    home.zmprov("ca", ALICE, PASSWORD)
    home.zmprov("ca", BOB, PASSWORD)
    home.start()
    yield home
    home.stop()


@pytest.fixture(scope="module")
def shared(z):
    """Alice's public folder (a message in it), public calendar (an appointment in it)
    and a private message in her Inbox."""
    tok = token_of(z, ALICE)
    pub = call(z, tok, "CreateFolderRequest",
               {"folder": {"name": "Public", "l": "1"}})["folder"][0]["id"]
    cal = call(z, tok, "CreateFolderRequest",
               {"folder": {"name": "Published", "l": "1", "view": "appointment"}}
               )["folder"][0]["id"]
    pub_msg = call(z, tok, "AddMsgRequest", {"m": {"l": pub, "content": {
        "_content": mime("open letter")}}})["m"][0]["id"]
    private = call(z, tok, "AddMsgRequest", {"m": {"l": "2", "content": {
        "_content": mime("private note")}}})["m"][0]["id"]
    comp = {"name": "Town hall", "s": {"d": "20261210T100000Z"},
            "e": {"d": "20261210T103000Z"}}
    appt = call(z, tok, "CreateAppointmentRequest",
                {"m": {"l": cal, "inv": {"comp": [comp]}}})["calItemId"]
    # Manager rights to the public, as the harness grants them; the calendar read only.
    for folder, perm in ((pub, "rwidx"), (cal, "r")):
        call(z, tok, "FolderActionRequest",
             {"action": {"id": folder, "op": "grant", "grant": {"gt": "pub", "perm": perm}}})
    return {"token": tok, "pub": pub, "cal": cal, "pub_msg": pub_msg,
            "private": private, "appt": appt}


def test_public_folder_is_readable_anonymously(z, shared):
    status, head, body = rest(z, f"/home/{ALICE}/Public?fmt=json")
    assert status == 200, body
    msgs = json.loads(body)["m"]
    assert [m["su"] for m in msgs] == ["open letter"], msgs
    status, _, body = rest(z, f"/home/{ALICE}/Public.rss")
    assert status == 200 and b"open letter" in body, body
    assert b"private note" not in body
    status, _, body = rest(z, f"/service/home/{ALICE}/Public?fmt=zip")
    assert status == 200 and body.startswith(b"PK\x03\x04"), body[:40]


def test_public_item_by_id_in_every_form(z, shared):
    mid = shared["pub_msg"]
    # The harness's form: an empty auth cookie, the item by id on the mailbox root.
    status, head, body = rest(z, f"/home/{ALICE}/?id={mid}",
                              {"Cookie": "ZM_AUTH_TOKEN="})
    assert status == 200, body
    assert b"Subject: open letter" in body
    assert head["content-type"].startswith("message/rfc822"), head
    status, _, body = rest(z, f"/home/{ALICE}/Public?id={mid}&fmt=json")
    assert status == 200 and json.loads(body)["m"][0]["su"] == "open letter", body
    status, _, body = rest(z, f"/home/{ALICE}/?id={mid}&part=1")
    assert status == 200 and b"body of open letter" in body, body


def test_published_calendar_as_ics(z, shared):
    status, head, body = rest(z, f"/home/{ALICE}/Published.ics")
    assert status == 200, body
    text = body.decode()
    assert text.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in text, text
    assert "SUMMARY:Town hall" in text, text
    assert head["content-type"].startswith("text/calendar"), head
    status, _, body = rest(z, f"/home/{ALICE}/?id={shared['appt']}")
    assert status == 200 and b"Town hall" in body, body


def test_anything_not_public_is_401(z, shared):
    for path in [f"/home/{ALICE}/Inbox",
                 f"/home/{ALICE}/Inbox.rss",
                 f"/home/{ALICE}/?fmt=tgz",
                 f"/home/{ALICE}/?id={shared['private']}",
                 # The id decides, not the folder named in the URL.
                 f"/home/{ALICE}/Public?id={shared['private']}",
                 f"/home/{ALICE}/Published?id={shared['private']}&fmt=json",
                 f"/home/{ALICE}/?id=999999",
                 f"/home/{ALICE}/NoSuchFolder",
                 f"/home/nobody@{DOMAIN}/Public",
                 "/home/~/Public"]:
        status, head, body = rest(z, path)
        assert status == 401, (path, status, body)
        assert head.get("www-authenticate", "").startswith("Basic"), (path, head)
        assert b"private note" not in body


def test_bad_credentials_are_not_anonymous(z, shared):
    status, _, _ = rest(z, f"/home/{ALICE}/Public?fmt=json", basic(ALICE, "wrong-pass"))
    assert status == 401


def test_other_account_needs_own_or_public_grant(z, shared):
    hdr = basic(BOB)
    status, _, body = rest(z, f"/home/{ALICE}/Public?fmt=json", hdr)
    assert status == 200 and json.loads(body)["m"][0]["su"] == "open letter", body
    status, _, body = rest(z, f"/home/{ALICE}/?id={shared['pub_msg']}", hdr)
    assert status == 200 and b"open letter" in body
    for path in [f"/home/{ALICE}/Inbox", f"/home/{ALICE}/?id={shared['private']}",
                 f"/home/{ALICE}/Public?id={shared['private']}"]:
        status, _, body = rest(z, path, hdr)
        assert status == 404, (path, status, body)


def test_public_grant_never_writes(z, shared):
    raw = mime("sneaky insert").encode()
    for path in [f"/home/{ALICE}/Public", f"/home/{ALICE}/Public?fmt=eml",
                 f"/service/home/{ALICE}/Public?fmt=tgz"]:
        for method in ("POST", "PUT", "DELETE"):
            status, _, _ = rest(z, path, {"Content-Type": "message/rfc822"}, method, raw)
            assert status in (401, 403, 405), (path, method, status)
    status, _, body = rest(z, f"/home/{ALICE}/Public?fmt=json")
    assert [m["su"] for m in json.loads(body)["m"]] == ["open letter"], body


def test_revoking_the_public_grant_closes_the_folder(z, shared):
    tok = shared["token"]
    call(z, tok, "FolderActionRequest",
         {"action": {"id": shared["cal"], "op": "!grant", "zid": PUBLIC_ZID}})
    status, _, _ = rest(z, f"/home/{ALICE}/Published.ics")
    assert status == 401
    status, _, _ = rest(z, f"/home/{ALICE}/?id={shared['appt']}")
    assert status == 401
    # The other public folder is untouched.
    status, _, _ = rest(z, f"/home/{ALICE}/?id={shared['pub_msg']}")
    assert status == 200
