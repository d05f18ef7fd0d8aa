"""Mail-service behaviour checked against a running server: contacts imported and exported
as CSV (Outlook headers, the contact limit, unreadable CSV), JSON hits whose su/fr/mid are
plain strings as Zimbra writes them, and zmmailbox's contact and folder-grant commands."""

import time

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "mailx.test"
USER = f"ann@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "mailx-secret-1"
MAIL = "urn:zimbraMail"

OUTLOOK = ('"First Name","Last Name","E-mail Address","E-mail Type","Business Phone"\r\n'
           '"Ann","Lee","ann.lee@x.test","SMTP","555-1"\r\n'
           '"","","","",""\r\n'
           '"Bo","Ng","bo@x.test","","555-2"\r\n')


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("soap-mail-extras"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    z.zmprov("ca", BOB, PASSWORD)
    z.start()
    yield z
    z.stop()


def url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def token(z, user=USER):
    status, js = json_request(url(z), "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user},
                               "password": PASSWORD})
    assert status == 200, js
    v = js["Body"]["AuthResponse"]["authToken"]
    v = v[0] if isinstance(v, list) else v
    return v["_content"] if isinstance(v, dict) else v


def call(z, tok, name, body):
    status, js = json_request(url(z), name, MAIL, body, tok)
    resp = js["Body"].get(name.replace("Request", "Response"))
    fault = js["Body"].get("Fault")
    code = fault["Detail"]["Error"]["Code"] if fault else None
    return status, resp, code


def test_import_and_export_contacts_as_csv(z):
    tok = token(z)
    status, resp, code = call(z, tok, "ImportContactsRequest",
                              {"ct": "csv", "content": {"_content": OUTLOOK}})
    assert status == 200, code
    cn = resp["cn"][0]
    assert cn["n"] == 2 and len(cn["ids"].split(",")) == 2, cn
    _, got, _ = call(z, tok, "GetContactsRequest", {"cn": {"id": cn["ids"]}})
    attrs = [c["_attrs"] for c in got["cn"]]
    assert {"firstName": "Ann", "lastName": "Lee", "email": "ann.lee@x.test",
            "workPhone": "555-1"} in attrs, attrs

    _, out, _ = call(z, tok, "ExportContactsRequest", {"ct": "csv"})
    text = out["content"]["_content"]
    header = text.splitlines()[0]
    assert '"email"' in header and '"firstName"' in header, text
    assert '"bo@x.test"' in text, text

    # Not CSV at all, and an unknown type.
    _, _, code = call(z, tok, "ImportContactsRequest",
                      {"ct": "csv", "content": {"_content": '"First Name","Last'}})
    assert code == "mail.UNABLE_TO_IMPORT_CONTACTS"
    _, _, code = call(z, tok, "ImportContactsRequest",
                      {"ct": "ldif", "content": {"_content": OUTLOOK}})
    assert code == "service.INVALID_REQUEST"


def test_contact_limit_refuses_the_whole_import(z):
    z.zmprov("ma", BOB, "zimbraContactMaxNumEntries", "1")
    tok = token(z, BOB)
    _, _, code = call(z, tok, "ImportContactsRequest",
                      {"ct": "csv", "content": {"_content": OUTLOOK}})
    assert code == "mail.TOO_MANY_CONTACTS"
    _, got, _ = call(z, tok, "GetContactsRequest", {})
    assert not got.get("cn"), got
    _, _, code = call(z, tok, "CreateContactRequest",
                      {"cn": {"a": [{"n": "email", "_content": "one@x.test"}]}})
    assert code is None
    _, _, code = call(z, tok, "CreateContactRequest",
                      {"cn": {"a": [{"n": "email", "_content": "two@x.test"}]}})
    assert code == "mail.TOO_MANY_CONTACTS"


def test_json_subject_fragment_and_message_id_are_strings(z):
    tok = token(z)
    raw = ("From: Carol <carol@x.test>\r\nTo: ann@mailx.test\r\nSubject: walrus news\r\n"
           "Message-ID: <walrus-1@x.test>\r\n\r\ntusks and flippers\r\n")
    status, resp, code = call(z, tok, "AddMsgRequest",
                              {"m": {"l": "2", "content": {"_content": raw}}})
    assert status == 200, code
    mid = resp["m"][0]["id"]
    hit = None
    for _ in range(50):
        _, found, _ = call(z, tok, "SearchRequest", {"query": "walrus", "types": "message"})
        if found.get("m"):
            hit = found["m"][0]
            break
        time.sleep(0.1)
    assert hit is not None
    assert hit["su"] == "walrus news" and hit["fr"] == "tusks and flippers", hit
    _, got, _ = call(z, tok, "GetMsgRequest", {"m": {"id": mid}})
    m = got["m"][0]
    assert m["su"] == "walrus news" and m["mid"] == "<walrus-1@x.test>", m


def mbox(z, *args, check=True):
    return z.run("zmmailbox", "-z", "-m", USER, *args, check=check)


def test_zmmailbox_contact_and_grant_commands(z):
    cid = mbox(z, "cct", "firstName", "Zed", "email", "zed@x.test").stdout.strip()
    assert cid.isdigit(), cid
    out = mbox(z, "gct", cid).stdout
    assert f"Id: {cid}" in out and "  firstName: Zed" in out, out
    mbox(z, "mcta", cid, "lastName", "Quill")
    out = mbox(z, "gact", "-f", "/Contacts", "lastName").stdout
    assert "  lastName: Quill" in out and "firstName" not in out, out
    mbox(z, "mct", cid, "/Emailed Contacts")
    assert f"Id: {cid}" in mbox(z, "gact", "-f", "/Emailed Contacts").stdout
    mbox(z, "dct", cid)
    assert mbox(z, "gct", cid, check=False).returncode != 0
    assert mbox(z, "cct", "firstName", check=False).returncode != 0

    mbox(z, "cf", "/Shared")
    mbox(z, "mfg", "/Shared", "account", BOB, "r")
    table = mbox(z, "gfg", "/Shared").stdout.splitlines()
    assert table[0].split() == ["Permissions", "Type", "Display"], table
    assert table[2].split() == ["r", "account", BOB], table
    mbox(z, "mfg", "/Shared", "account", BOB, "none")
    assert len(mbox(z, "gfg", "/Shared").stdout.strip().splitlines()) == 2
