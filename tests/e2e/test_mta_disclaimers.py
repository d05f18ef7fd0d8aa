"""Domain disclaimers and administrator virus notices on the real server.

Spec 02 §6 idea 30: with zimbraDomainMandatoryMailSignatureEnabled TRUE and the domain's
zimbraAmavisDomainDisclaimerText/HTML set, mail our users send gets the text disclaimer in
text/plain and the HTML one in text/html (before </body>), signed by DKIM after the
rewrite; mail from outside gets none; with zimbraAmavisOutboundDisclaimersOnly TRUE
intra-domain mail gets none. Mail sent with SOAP SendMsg to another server gets it too.

With a real clamd (ZCS_TEST_CLAMD), zimbraVirusWarnAdmin: the notification address
(local config av_notify_user) gets a notice of each quarantined message."""

import os
import smtplib
import subprocess

import pytest

from mta_util import (CORPUS_VIRUS, PASSWORD, SmtpSink, fetch_folder, message,
                      start_mta_home, tls_context, user, wait_folder, wait_for)

CLAMD = os.environ.get("ZCS_TEST_CLAMD")
TEXT = "mta.test: this message is confidential."
HTML = "<p class=legal>mta.test: confidential.</p>"


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    def prepare(z):
        keydir = z.home / "conf" / "dkim" / "mta.test"
        keydir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "genrsa", "-out", str(keydir / "sel1.private"), "2048"],
                       check=True, capture_output=True)

    home = start_mta_home(tmp_path_factory, "mta-disclaimers", sink,
                          accounts=("alice", "bob"), before_start=prepare,
                          config=("zimbraDomainMandatoryMailSignatureEnabled", "TRUE"))
    home.zmprov("md", "mta.test", "zimbraAmavisDomainDisclaimerText", TEXT,
                "zimbraAmavisDomainDisclaimerHTML", HTML)
    yield home
    home.stop()


def alternative(subject, sender, to):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash(subject))}@mta.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n"
            "--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"
            "--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            "<html><body><p>Hi</p></body></html>\r\n--ALT--\r\n").encode()


def submit(z, rcpts, data):
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        s.login(user("alice"), PASSWORD)
        s.sendmail(user("alice"), rcpts, data)


def test_outbound_mail_gets_both_disclaimers_and_dkim_covers_them(z, sink, tmp_path):
    from test_mta_filters import verify_dkim
    before = len(sink.messages)
    submit(z, ["pen.pal@remote.test"],
           alternative("with disclaimer", user("alice"), "pen.pal@remote.test"))
    assert sink.wait_messages(before + 1)
    data = sink.messages[-1][2]
    assert b"Gr=C3=BC=C3=9Fe\r\n\r\n" + TEXT.encode() + b"\r\n--ALT" in data, data
    assert b"<p>Hi</p>\r\n" + HTML.encode() + b"\r\n</body>" in data, data
    pub = subprocess.run(["openssl", "rsa", "-in",
                          str(z.home / "conf/dkim/mta.test/sel1.private"), "-pubout"],
                         check=True, capture_output=True, text=True).stdout
    tags = verify_dkim(data, pub, tmp_path)
    assert tags["d"] == "mta.test"


def test_mail_from_outside_gets_none(z):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        s.sendmail("someone@remote.test", [user("bob")], message("from outside"))
    got = wait_folder(z, user("bob"), 1)
    raw = [r for _, r in got if b"Subject: from outside" in r]
    assert raw and TEXT.encode() not in raw[0], got


def test_intra_domain_mail_follows_outbound_only(z):
    submit(z, [user("bob")], message("internal one", sender=user("alice"), to=user("bob")))
    assert wait_for(lambda: any(b"internal one" in r for _, r in fetch_folder(z, user("bob"))))
    raw = [r for _, r in fetch_folder(z, user("bob")) if b"internal one" in r][0]
    assert b"Body of internal one.\r\n\r\n" + TEXT.encode() in raw, raw

    z.zmprov("mcf", "zimbraAmavisOutboundDisclaimersOnly", "TRUE")
    z.run("zmmtactl", "reload")
    try:
        submit(z, [user("bob")], message("internal two", sender=user("alice"), to=user("bob")))
        assert wait_for(
            lambda: any(b"internal two" in r for _, r in fetch_folder(z, user("bob"))))
        raw = [r for _, r in fetch_folder(z, user("bob")) if b"internal two" in r][0]
        assert TEXT.encode() not in raw, raw
    finally:
        z.zmprov("mcf", "zimbraAmavisOutboundDisclaimersOnly", "FALSE")
        z.run("zmmtactl", "reload")


def test_soap_sendmsg_to_another_server_gets_it(z, sink):
    from soap_util import json_request
    before = len(sink.messages)
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user("alice")},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    token = js["Body"]["AuthResponse"]["authToken"]
    token = (token[0] if isinstance(token, list) else token)
    token = token["_content"] if isinstance(token, dict) else token
    status, js = json_request(url, "SendMsgRequest", "urn:zimbraMail", {"m": {
        "e": [{"t": "t", "a": "far@remote.test"}],
        "su": "web client mail", "mp": {"ct": "text/plain", "content": "hello far away"}}},
        token)
    assert status == 200, js
    assert sink.wait_messages(before + 1)
    data = sink.messages[-1][2]
    assert b"web client mail" in data and TEXT.encode() in data, data


@pytest.mark.skipif(not CLAMD, reason="ZCS_TEST_CLAMD unset: clamd suite skipped")
def test_the_administrator_is_told_of_a_quarantined_virus(tmp_path_factory, sink):
    def prepare(z):
        z.run("zmlocalconfig", "-e", f"zcs_clamd_address={CLAMD}",
              f"av_notify_user={user('admin')}")

    z = start_mta_home(tmp_path_factory, "mta-admin-notice", sink,
                       accounts=("bob", "quarantine", "admin"), before_start=prepare,
                       config=("zimbraAmavisQuarantineAccount", user("quarantine")))
    try:
        eicar = (CORPUS_VIRUS / "eicar.txt").read_text().strip()
        data = message("virus for bob").replace(b"Body of virus for bob.", eicar.encode())
        with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
            s.ehlo("client.remote.test")
            s.sendmail("someone@remote.test", [user("bob")], data)
        assert wait_folder(z, user("quarantine"), 1)
        notices = [r for _, r in wait_folder(z, user("admin"), 1)]
        assert any(b"Subject: Notice: virus found" in r
                   and b"Recipient: " + user("bob").encode() in r
                   and b"Envelope sender: someone@remote.test" in r for r in notices), notices
        assert not any(b"EICAR-STANDARD" in r for r in notices), notices
    finally:
        z.stop()
