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


def test_filter_rules_round_trip_through_sieve(z):
    tok = token(z)
    rules = {"filterRule": [{
        "name": "work", "active": True,
        "filterTests": {"condition": "anyof", "headerTest": [
            {"header": "subject", "stringComparison": "contains", "value": "report"}]},
        "filterActions": {"actionFileInto": [{"folderPath": "Inbox"}],
                          "actionTag": [{"tagName": "w"}], "actionStop": [{}]}}]}
    status, _, code = call(z, tok, "ModifyFilterRulesRequest", {"filterRules": rules})
    assert status == 200, code
    _, got, _ = call(z, tok, "GetFilterRulesRequest", {})
    fr = got["filterRules"]
    fr = fr[0] if isinstance(fr, list) else fr
    rule = fr["filterRule"][0]
    assert rule["name"] == "work", rule
    test = rule["filterTests"][0]["headerTest"][0]
    assert test["header"] == "subject" and test["value"] == "report", test
    assert rule["filterActions"][0]["actionFileInto"][0]["folderPath"] == "Inbox"
    script = z.zmprov("ga", USER, "zimbraMailSieveScript").stdout
    assert 'header :contains ["subject"] "report"' in script, script
    # Outgoing rules are kept apart; an empty rule list clears them.
    status, _, _ = call(z, tok, "ModifyOutgoingFilterRulesRequest", {"filterRules": rules})
    assert status == 200
    call(z, tok, "ModifyOutgoingFilterRulesRequest", {"filterRules": {}})
    _, got, _ = call(z, tok, "GetOutgoingFilterRulesRequest", {})
    fr = got["filterRules"]
    fr = fr[0] if isinstance(fr, list) else fr
    assert not fr.get("filterRule"), got
    # A test this server cannot write is refused, not dropped.
    bad = {"filterRule": [{"name": "x", "filterTests": {"noSuchTest": [{}]},
                           "filterActions": {"actionKeep": [{}]}}]}
    _, _, code = call(z, tok, "ModifyFilterRulesRequest", {"filterRules": bad})
    assert code == "service.INVALID_REQUEST"


def test_account_permissions_grant_check_revoke(z):
    ann, bob = token(z), token(z, BOB)
    status, resp, code = call(z, ann, "GrantPermissionRequest",
                              {"ace": [{"gt": "usr", "d": BOB, "right": "sendAs"}]})
    assert status == 200, code
    assert resp["ace"][0]["right"] == "sendAs" and resp["ace"][0]["d"] == BOB, resp
    _, got, _ = call(z, ann, "GetPermissionRequest", {})
    assert [a["right"] for a in got["ace"]] == ["sendAs"], got
    body = {"target": {"type": "account", "by": "name", "_content": USER},
            "right": [{"_content": "sendAs"}, {"_content": "sendOnBehalfOf"}]}
    _, chk, _ = call(z, bob, "CheckPermissionRequest", body)
    allow = {r["_content"]: r["allow"] for r in chk["right"]}
    assert allow == {"sendAs": True, "sendOnBehalfOf": False}, chk
    # An admin right cannot be granted by a user.
    _, _, code = call(z, ann, "GrantPermissionRequest",
                      {"ace": [{"gt": "usr", "d": BOB, "right": "createAccount"}]})
    assert code == "service.INVALID_REQUEST"
    call(z, ann, "RevokePermissionRequest",
         {"ace": [{"gt": "usr", "d": BOB, "right": "sendAs"}]})
    _, chk, _ = call(z, bob, "CheckPermissionRequest", body)
    assert not any(r["allow"] for r in chk["right"]), chk


def test_search_folders_rename_move_and_modify(z):
    tok = token(z)
    _, sf, _ = call(z, tok, "CreateSearchFolderRequest",
                    {"search": {"name": "sf1", "query": "in:inbox", "l": "1"}})
    sid = sf["search"][0]["id"]
    _, f, _ = call(z, tok, "CreateFolderRequest", {"folder": {"name": "holder", "l": "1"}})
    fid = f["folder"][0]["id"]
    status, _, code = call(z, tok, "FolderActionRequest",
                           {"action": {"op": "rename", "id": sid, "name": "sf2"}})
    assert status == 200, code
    status, _, code = call(z, tok, "FolderActionRequest",
                           {"action": {"op": "move", "id": sid, "l": fid}})
    assert status == 200, code
    status, _, code = call(z, tok, "ModifySearchFolderRequest",
                           {"search": {"id": sid, "query": "in:sent"}})
    assert status == 200, code
    _, got, _ = call(z, tok, "GetSearchFolderRequest", {})
    s = [x for x in got["search"] if x["id"] == sid][0]
    assert (s["name"], s["l"], s["query"]) == ("sf2", fid, "in:sent"), s
    # Deleting a folder that is already gone succeeds, as in Zimbra.
    call(z, tok, "FolderActionRequest", {"action": {"op": "delete", "id": fid}})
    status, _, code = call(z, tok, "FolderActionRequest",
                           {"action": {"op": "delete", "id": fid}})
    assert status == 200, code


def test_bounce_keeps_the_message_and_adds_resent_headers(z):
    ann, bob = token(z), token(z, BOB)
    subject = f"bounce-{time.time()}"
    _, sent, code = call(z, ann, "SendMsgRequest", {"m": {
        "e": [{"t": "t", "a": USER}], "su": {"_content": subject},
        "mp": [{"ct": "text/plain", "content": {"_content": "hello"}}]}})
    assert sent, code
    mid = sent["m"][0]["id"]
    status, _, code = call(z, ann, "BounceMsgRequest",
                           {"m": {"id": mid, "e": [{"t": "t", "a": BOB}]}})
    assert status == 200, code
    for _ in range(50):
        _, found, _ = call(z, bob, "SearchRequest",
                           {"types": "message", "query": {"_content": f"subject:{subject}"}})
        if found.get("m"):
            break
        time.sleep(0.2)
    got_id = found["m"][0]["id"]
    _, msg, _ = call(z, bob, "GetMsgRequest", {"m": {"id": got_id}})
    kinds = {(e["t"], e["a"]) for e in msg["m"][0]["e"]}
    assert ("rf", USER) in kinds and ("t", USER) in kinds, kinds
