"""Mail requests against the real binary that need a sending server: SendMsg adds new
recipients to Emailed Contacts (folder 13) when zimbraPrefAutoAddAddressEnabled is TRUE
(first, middle, last and full name from the display name; nothing when the pref is
FALSE),
and RemoveAttachmentsRequest saves a message again without the parts it names."""

import pytest

from soap_util import json_request
from zcs import Zcs

A = "writer@autoadd.test"
B = "reader@autoadd.test"
C = "other@autoadd.test"
PASSWORD = "autoadd-pass-1"

WITH_FILES = (
    "From: carol@autoadd.test\r\nTo: writer@autoadd.test\r\nSubject: files\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    "--b1\r\nContent-Type: text/csv; name=\"q3.csv\"\r\n"
    "Content-Disposition: attachment; filename=\"q3.csv\"\r\n\r\na,b\r\n"
    "--b1\r\nContent-Type: text/csv; name=\"q4.csv\"\r\n"
    "Content-Disposition: attachment; filename=\"q4.csv\"\r\n\r\nc,d\r\n--b1--\r\n")


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap-autoadd"))
    z.init()
    z.zmprov("cd", "autoadd.test")
    for u in (A, B, C):
        z.zmprov("ca", u, PASSWORD)
    z.start()
    yield z
    z.stop()


def url(zcs):
    return f"http://127.0.0.1:{zcs.http_port}/service/soap"


def login(zcs, user):
    status, js = json_request(url(zcs), "AuthRequest", "urn:zimbraAccount", {
        "account": {"by": "name", "_content": user}, "password": {"_content": PASSWORD}})
    assert status == 200, js
    return js["Body"]["AuthResponse"]["authToken"][0]["_content"]


def call(zcs, token, name, body, ns="urn:zimbraMail"):
    status, js = json_request(url(zcs), name, ns, body, token)
    assert status == 200, js
    return js["Body"][name.replace("Request", "Response")]


def emailed_contacts(zcs, token):
    resp = call(zcs, token, "GetContactsRequest", {})
    out = {}
    for cn in resp.get("cn", []):
        if cn.get("l") != "13":
            continue
        fields = cn.get("_attrs", {})
        out.setdefault(fields.get("email", "").lower(), []).append(fields)
    return out


def set_auto_add(zcs, token, value):
    call(zcs, token, "ModifyPrefsRequest",
         {"pref": [{"name": "zimbraPrefAutoAddAddressEnabled", "_content": value}]},
         ns="urn:zimbraAccount")


def send(zcs, token, to, name):
    call(zcs, token, "SendMsgRequest", {"m": {
        "e": [{"t": "t", "a": to, "p": name}],
        "su": {"_content": "hello"},
        "mp": {"ct": "text/plain", "content": {"_content": "hi"}}}})


def test_recipients_are_added_only_when_the_pref_is_on(zcs):
    ta = login(zcs, A)
    set_auto_add(zcs, ta, "FALSE")
    send(zcs, ta, C, "Not Added")
    assert C not in emailed_contacts(zcs, ta)

    set_auto_add(zcs, ta, "TRUE")
    send(zcs, ta, B, "Rita M. Reader")
    got = emailed_contacts(zcs, ta)
    assert len(got[B]) == 1, got
    rita = got[B][0]
    assert rita["firstName"] == "Rita"
    assert rita["middleName"] == "M."
    assert rita["lastName"] == "Reader"
    assert rita["fullName"] == "Rita M. Reader"
    # A known address is not added twice.
    send(zcs, ta, B, "Rita M. Reader")
    assert len(emailed_contacts(zcs, ta)[B]) == 1


def test_remove_attachments_keeps_the_rest(zcs):
    ta = login(zcs, A)
    added = call(zcs, ta, "AddMsgRequest",
                 {"m": {"l": "2", "f": "f", "content": {"_content": WITH_FILES}}})
    mid = added["m"][0]["id"]
    resp = call(zcs, ta, "RemoveAttachmentsRequest", {"m": {"id": mid, "part": "2"}})
    m = resp["m"][0]
    assert m["l"] == "2"
    assert "f" in m.get("f", "")

    def parts(el):
        for p in el.get("mp", []):
            yield p
            yield from parts(p)
    names = [p.get("filename") for p in parts(m) if p.get("filename")]
    assert names == ["q4.csv"]
    status, js = json_request(url(zcs), "GetMsgRequest", "urn:zimbraMail",
                              {"m": {"id": mid}}, ta)
    assert js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "mail.NO_SUCH_MSG"
    status, js = json_request(url(zcs), "RemoveAttachmentsRequest", "urn:zimbraMail",
                              {"m": {"id": m["id"], "part": "7"}}, ta)
    assert js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "mail.NO_SUCH_PART"
