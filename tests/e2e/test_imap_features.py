"""IMAP and POP3 against a real server with Zimbra's default cleartext policy (login only
after STARTTLS/STLS or on 993/995): imapclient drives the advertised capabilities,
IDLE wakes on an SMTP delivery, poplib drains a mailbox after STLS."""

import imaplib
import poplib
import smtplib
import time

import imapclient
import pytest

from imap_util import PASSWORD, USER, deliver_lmtp, message, raw_multiappend, start_home, tls_context

EXPECTED = ["IMAP4REV1", "ACL", "BINARY", "CATENATE", "CHILDREN", "CONDSTORE", "ENABLE",
            "ESEARCH", "ESORT", "I18NLEVEL=1", "ID", "IDLE", "LIST-EXTENDED", "LIST-STATUS",
            "LITERAL+", "MULTIAPPEND", "NAMESPACE", "QRESYNC", "QUOTA", "RIGHTS=EKTX",
            "SASL-IR", "SEARCHRES", "SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
            "UIDPLUS", "UNSELECT", "WITHIN", "XLIST", "MOVE", "SPECIAL-USE",
            "COMPRESS=DEFLATE", "UTF8=ACCEPT"]


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = start_home(tmp_path_factory, "imap-features")
    yield home
    home.stop()


def client(z):
    c = imapclient.IMAPClient("localhost", port=z.imap_port, ssl=False, timeout=30)
    c.starttls(tls_context(z))
    c.login(USER, PASSWORD)
    return c


def test_cleartext_login_is_refused_until_starttls(z):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    assert "STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        m.login(USER, PASSWORD)
    m.starttls(tls_context(z))
    assert "LOGINDISABLED" not in m.capabilities
    m.login(USER, PASSWORD)
    m.logout()
    p = poplib.POP3("127.0.0.1", z.pop3_port, timeout=30)
    assert "STLS" in p.capa()
    with pytest.raises(poplib.error_proto):
        p.user(USER)
    p.stls(tls_context(z))
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()


def test_every_zimbra_capability_is_advertised_and_works(z):
    c = client(z)
    caps = {cap.decode().upper() for cap in c.capabilities()}
    missing = [cap for cap in EXPECTED if cap not in caps]
    assert not missing, missing
    deliver_lmtp(z, [message(1, "Lunch"), message(2, "Re: Lunch"), message(3, "Budget")])
    c.select_folder("INBOX")
    c.use_uid = False
    assert c.sort(["SUBJECT"]) == [3, 1, 2]
    assert c.sort(["REVERSE", "ARRIVAL"]) == [3, 2, 1]
    threads = c.thread("ORDEREDSUBJECT")
    assert len(threads) == 2, threads
    assert c.thread("REFERENCES")
    root = c.get_quota_root("INBOX")
    assert root[0].mailbox == "INBOX"
    assert c.namespace().personal
    rights = c._command_and_check("myrights", c._normalise_folder("INBOX"), unpack=True)
    assert rights
    body = c.fetch([1], ["BINARY.PEEK[1]", "BINARY.SIZE[1]"])
    assert body[1][b"BINARY.SIZE[1]"] > 0, body
    c.unselect_folder()
    assert c.enable("UTF8=ACCEPT") == [b"UTF8=ACCEPT"]
    assert c.id_({"name": "e2e"})
    c.folder_status("INBOX", ["MESSAGES", "UIDNEXT", "HIGHESTMODSEQ"])
    c.logout()
    reply = raw_multiappend(z, "INBOX", [message(10), message(11), message(12)])
    assert reply.startswith("b OK [APPENDUID"), reply


def test_idle_wakes_on_smtp_delivery(z):
    c = client(z)
    c.select_folder("INBOX")
    c.idle()
    time.sleep(0.2)
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as smtp:
        smtp.sendmail("x@remote.test", [USER], message(99, "wake up"))
        sent = time.monotonic()
    responses = c.idle_check(timeout=5)
    waited = time.monotonic() - sent
    c.idle_done()
    assert any(r[1] == b"EXISTS" for r in responses), responses
    # The change bus wakes IDLE right after the store commit (the poll is 1 s).
    assert waited < 0.5, waited
    c.logout()


def test_poplib_drains_after_stls(z):
    deliver_lmtp(z, [message(200 + i) for i in range(5)])
    p = poplib.POP3("127.0.0.1", z.pop3_port, timeout=30)
    p.stls(tls_context(z))
    p.user(USER)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    assert count >= 5
    for i in range(1, count + 1):
        p.retr(i)
        p.dele(i)
    p.quit()
    p = poplib.POP3_SSL("localhost", z.pop3s_port, context=tls_context(z), timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 0
    p.quit()
