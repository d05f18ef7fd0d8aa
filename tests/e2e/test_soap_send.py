"""SendMsg with attachments against the real binary: a file posted to /service/upload is
attached by its upload id, a part of a received message is forwarded by mid/part, the
recipient gets one multipart/mixed message with both (names, types and bytes intact),
the sender's copy is in Sent, and another account's upload id is mail.NO_SUCH_UPLOAD."""

import email
import email.policy
import urllib.request

import pytest

from soap_util import json_request
from zcs import Zcs

A = "sender@send.test"
B = "rcpt@send.test"
PASSWORD = "send-pass-1"
PDF = b"%PDF-1.4\n% fake\n" + bytes(range(256))

RECEIVED = (
    "From: carol@send.test\r\nTo: sender@send.test\r\nSubject: figures\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    "--b1\r\nContent-Type: text/csv; name=\"q3.csv\"\r\n"
    "Content-Disposition: attachment; filename=\"q3.csv\"\r\n\r\na,b\r\n1,2\r\n--b1--\r\n")


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap-send"))
    z.init()
    z.zmprov("cd", "send.test")
    for u in (A, B):
        z.zmprov("ca", u, PASSWORD)
    z.start()
    yield z
    z.stop()


def login(url, user):
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount", {
        "account": {"by": "name", "_content": user}, "password": {"_content": PASSWORD}})
    assert status == 200, js
    return js["Body"]["AuthResponse"]["authToken"][0]["_content"]


def upload(zcs, token, name, ctype, data):
    boundary = "----zcs-e2e"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{zcs.http_port}/service/upload?fmt=raw", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Cookie": f"ZM_AUTH_TOKEN={token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    return text.strip().rsplit(",", 1)[1].strip("'")


def test_sendmsg_with_upload_and_forwarded_part(zcs):
    url = f"http://127.0.0.1:{zcs.http_port}/service/soap"
    ta, tb = login(url, A), login(url, B)
    status, js = json_request(url, "AddMsgRequest", "urn:zimbraMail",
                              {"m": {"l": "2", "content": {"_content": RECEIVED}}}, ta)
    assert status == 200, js
    mid = js["Body"]["AddMsgResponse"]["m"][0]["id"]
    aid = upload(zcs, ta, "report.pdf", "application/pdf", PDF)

    status, js = json_request(url, "SendMsgRequest", "urn:zimbraMail", {"m": {
        "e": [{"t": "t", "a": B}],
        "su": {"_content": "numbers attached"},
        "mp": {"ct": "text/plain", "content": {"_content": "two files"}},
        "attach": {"aid": aid, "mp": [{"mid": mid, "part": "2"}]}}}, ta)
    assert status == 200, js
    sent_id = js["Body"]["SendMsgResponse"]["m"][0]["id"]

    # The recipient finds it and reads the raw message.
    for _ in range(50):
        status, js = json_request(url, "SearchRequest", "urn:zimbraMail",
                                  {"query": "in:inbox", "types": "message"}, tb)
        hits = js["Body"]["SearchResponse"].get("m", [])
        if hits:
            break
        __import__("time").sleep(0.2)
    assert hits, js
    status, js = json_request(url, "GetMsgRequest", "urn:zimbraMail",
                              {"m": {"id": hits[0]["id"], "raw": "1"}}, tb)
    assert status == 200, js
    content = js["Body"]["GetMsgResponse"]["m"][0]["content"]
    raw = content[0]["_content"] if isinstance(content, list) else content
    msg = email.message_from_string(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Subject"] == "numbers attached"
    atts = {p.get_filename(): (p.get_content_type(), p.get_payload(decode=True))
            for p in msg.iter_attachments()}
    assert atts["report.pdf"] == ("application/pdf", PDF)
    assert atts["q3.csv"][0] == "text/csv"
    assert atts["q3.csv"][1].replace(b"\r\n", b"\n") == b"a,b\n1,2"
    assert msg.get_body(("plain",)).get_content().strip() == "two files"

    # The sender's copy is in Sent.
    status, js = json_request(url, "GetMsgRequest", "urn:zimbraMail",
                              {"m": {"id": sent_id}}, ta)
    assert status == 200 and js["Body"]["GetMsgResponse"]["m"][0]["l"] == "5", js

    # B cannot use A's upload ids (and the used one is gone for A too).
    aid2 = upload(zcs, ta, "x.bin", "application/octet-stream", b"xyz")
    for token, bad in ((tb, aid2), (ta, aid)):
        status, js = json_request(url, "SendMsgRequest", "urn:zimbraMail", {"m": {
            "e": [{"t": "t", "a": A}], "su": {"_content": "x"},
            "attach": {"aid": bad}}}, token)
        assert status == 500, js
        assert js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "mail.NO_SUCH_UPLOAD", js


def wait_hits(url, token, query, n=1):
    for _ in range(50):
        _, js = json_request(url, "SearchRequest", "urn:zimbraMail",
                             {"query": query, "types": "message"}, token)
        hits = js["Body"]["SearchResponse"].get("m", [])
        if len(hits) >= n:
            return hits
        __import__("time").sleep(0.2)
    raise AssertionError(f"no hits for {query}: {js}")


def raw_message(url, token, mid):
    _, js = json_request(url, "GetMsgRequest", "urn:zimbraMail",
                         {"m": {"id": mid, "raw": "1"}}, token)
    content = js["Body"]["GetMsgResponse"]["m"][0]["content"]
    raw = content[0]["_content"] if isinstance(content, list) else content
    return email.message_from_string(raw, policy=email.policy.default), raw


def test_generic_upload_type_cjk_body_and_unknown_local_recipient(zcs):
    """An upload posted as application/octet-stream takes its extension's type (as
    Zimbra's MimeDetect gives it); a mostly non-ASCII body goes base64 with an
    utf-8 encoded-word subject; an unknown address of a local domain does not fail
    the send: the sender gets a non-delivery report."""
    url = f"http://127.0.0.1:{zcs.http_port}/service/soap"
    ta, tb = login(url, A), login(url, B)
    aid = upload(zcs, ta, "Book1.XLS", "application/octet-stream", b"\xd0\xcf\x11\xe0xls")
    subject = "\u570b\u6642\u671f\u8010\u529b"
    status, js = json_request(url, "SendMsgRequest", "urn:zimbraMail", {"m": {
        "e": [{"t": "t", "a": B, "p": "\u5f35 \u4e09"}, {"t": "c", "a": "nobody@send.test"}],
        "su": {"_content": subject},
        "mp": {"ct": "text/plain", "content": {"_content": "\u4e2d\u6587\u5167\u5bb9" * 20}},
        "attach": {"aid": aid}}}, ta)
    assert status == 200, js
    hits = wait_hits(url, tb, "in:inbox has:attachment")
    msg, raw = raw_message(url, tb, hits[0]["id"])
    att = next(msg.iter_attachments())
    assert att.get_content_type() == "application/vnd.ms-excel", raw[:800]
    body = msg.get_body(("plain",))
    assert body["Content-Transfer-Encoding"] == "base64", raw[:800]
    assert "=?utf-8?B?" in raw.split("\r\n\r\n", 1)[0], raw[:800]
    _, js = json_request(url, "GetMsgRequest", "urn:zimbraMail", {"m": {"id": hits[0]["id"]}}, tb)
    to = [e for e in js["Body"]["GetMsgResponse"]["m"][0]["e"] if e["t"] == "t"][0]
    assert to["d"] == "\u5f35" and to["p"] == "\u5f35 \u4e09", to
    bounce = wait_hits(url, ta, 'in:inbox subject:"Undelivered Mail Returned to Sender"')
    _, raw = raw_message(url, ta, bounce[0]["id"])
    assert "nobody@send.test" in raw
