"""The purge on the real server, spec 02 §6 ideas 38, 39 and 42: with the dumpster on, a
message past zimbraMailTrashLifetime leaves Trash for the dumpster (a dumpster search
finds it, a recover brings it back); with zimbraMailPurgeSleepInterval 0 nothing is
purged whatever the lifetimes."""

import imaplib
import smtplib
import time

from soap_util import envelope, post, soap_body
from zcs import Zcs

DOMAIN = "purge.test"
USER = f"purge@{DOMAIN}"
PASSWORD = "purge-pass-1"
ACCT = "urn:zimbraAccount"
MAIL = "urn:zimbraMail"


def home(tmp_path, interval):
    z = Zcs(tmp_path)
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
             "zimbraMailPurgeSleepInterval", interval)
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD, "zimbraMailTrashLifetime", "2s",
             "zimbraDumpsterEnabled", "TRUE")
    z.start()
    return z


def lmtp_to_trash(z, subject):
    """Delivers one message and moves it to Trash over IMAP."""
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=60) as lmtp:
        lmtp.sendmail("a@remote.test", [USER],
                      f"Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbye\r\n")
    with imaplib.IMAP4("127.0.0.1", z.imap_port) as imap:
        imap.login(USER, PASSWORD)
        deadline = time.time() + 30
        while True:
            typ, data = imap.select("INBOX")
            if int(data[0]) == 1:
                break
            assert time.time() < deadline, "not delivered"
            time.sleep(0.2)
        typ, _ = imap.uid("MOVE", "1:*", "Trash")
        assert typ == "OK"


def trash_count(z):
    with imaplib.IMAP4("127.0.0.1", z.imap_port) as imap:
        imap.login(USER, PASSWORD)
        typ, data = imap.select("Trash", readonly=True)
        return int(data[0])


def soap(z, xml, tok=None):
    status, _, text = post(f"http://127.0.0.1:{z.http_port}/service/soap",
                           envelope(xml, tok))
    assert status == 200, text
    return soap_body(text)[1]


def token(z):
    resp = soap(z, f'<AuthRequest xmlns="{ACCT}"><account by="name">{USER}</account>'
                   f"<password>{PASSWORD}</password></AuthRequest>")
    return resp.find(f"{{{ACCT}}}authToken").text


def test_trash_lifetime_moves_mail_to_the_dumpster(tmp_path):
    z = home(tmp_path / "on", "1s")
    try:
        lmtp_to_trash(z, "dumped")
        deadline = time.time() + 30
        while trash_count(z) != 0:
            assert time.time() < deadline, "Trash was not purged"
            time.sleep(0.5)
        tok = token(z)
        resp = soap(z, f'<SearchRequest xmlns="{MAIL}" inDumpster="1" types="message">'
                       f"<query>dumped</query></SearchRequest>", tok)
        hits = resp.findall(f"{{{MAIL}}}m")
        assert len(hits) == 1, [h.attrib for h in hits]
        soap(z, f'<ItemActionRequest xmlns="{MAIL}"><action op="recover" l="2" '
                f'id="{hits[0].get("id")}"/></ItemActionRequest>', tok)
        with imaplib.IMAP4("127.0.0.1", z.imap_port) as imap:
            imap.login(USER, PASSWORD)
            typ, data = imap.select("INBOX", readonly=True)
            assert int(data[0]) == 1, "recovered into the Inbox"
    finally:
        z.stop()


def test_purge_interval_zero_purges_nothing(tmp_path):
    z = home(tmp_path / "off", "0")
    try:
        lmtp_to_trash(z, "kept")
        time.sleep(5)
        assert trash_count(z) == 1, "purged although zimbraMailPurgeSleepInterval is 0"
        assert "mailbox purge off" in z.server_log()
    finally:
        z.stop()
