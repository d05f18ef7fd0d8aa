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
