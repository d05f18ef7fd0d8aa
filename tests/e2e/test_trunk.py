"""Trunk end to end: provision with zmprov, send the whole corpus through the SMTP
listener with smtplib, read it back with imapclient (same count, byte-identical
BODY[], SEARCH TEXT finds a word of each sampled message), restart, check again."""

import email
import email.policy
import re
import smtplib
import time

import imapclient
import pytest

from zcs import CORPUS, Zcs

DOMAIN = "e2e.test"
USER = f"user1@{DOMAIN}"
PASSWORD = "e2e-Secret 1"
ALIAS = f"alias1@{DOMAIN}"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEADER_RE = re.compile(rb"^(From |[!-9;-~]+:)")
WORD_RE = re.compile(r"\b[A-Za-z]{6,14}\b")


def corpus_files():
    """Every message file the issue names; non-messages (a PDF) are left out."""
    files = sorted(p for d in sorted(CORPUS.glob("zimbra-qa/email*")) for p in d.rglob("*")
                   if p.is_file())
    files += sorted(p for p in (CORPUS / "python-email").iterdir() if p.is_file())
    return [p for p in files if HEADER_RE.match(p.read_bytes()[:200])]


def wire_form(raw):
    """The message as an SMTP client must put it on the wire (RFC 5321 §2.3.8: CRLF
    line endings), which is what the server must keep and give back."""
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def strip_trace(stored):
    """Removes the one Received: header our MTA prepends (RFC 5321 §4.4)."""
    assert stored.startswith(b"Received: "), stored[:200]
    pos = 0
    while True:
        end = stored.index(b"\r\n", pos) + 2
        if stored[end:end + 1] not in (b" ", b"\t"):
            return stored[end:]
        pos = end


def a_body_word(raw):
    """A word from a text/plain part of the message, or None."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() != "text/plain":
            continue
        try:
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "ascii")
        except Exception:
            continue
        words = WORD_RE.findall(text)
        if words:
            return max(words, key=len)
    return None


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-home"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    # The corpus holds distinct messages that share a Message-ID; this suite checks that
    # every accepted message comes back byte-identical, so Zimbra's duplicate suppression
    # (tested in test_mta_policy.py) is off here.
    z.zmprov("mcf", "zimbraMessageIdDedupeCacheSize", "0")
    z.start()
    yield z
    z.stop()


@pytest.fixture(scope="module")
def provisioned(zcs):
    out = zcs.zmprov("cd", DOMAIN).stdout.strip()
    assert UUID_RE.match(out), out
    out = zcs.zmprov("ca", USER, PASSWORD, "displayName", "E2E User").stdout.strip()
    assert UUID_RE.match(out), out
    zcs.zmprov("aaa", USER, ALIAS)
    return zcs


@pytest.fixture(scope="module")
def delivered(provisioned):
    """Sends every corpus message to the account over SMTP, in order."""
    sent = []
    with smtplib.SMTP("127.0.0.1", provisioned.smtp_port, timeout=60) as smtp:
        for path in corpus_files():
            data = wire_form(path.read_bytes())
            smtp.sendmail("sender@remote.test", [USER], data)
            sent.append((path, data))
    return sent


def imap(zcs):
    client = imapclient.IMAPClient("127.0.0.1", port=zcs.imap_port, ssl=False, timeout=60)
    client.login(USER, PASSWORD)
    return client


def check_mailbox(zcs, sent):
    client = imap(zcs)
    try:
        info = client.select_folder("INBOX", readonly=True)
        assert info[b"EXISTS"] == len(sent)
        uids = client.search(["ALL"])
        assert len(uids) == len(sent)
        mismatched = []
        for start in range(0, len(uids), 50):
            chunk = uids[start:start + 50]
            bodies = client.fetch(chunk, ["BODY.PEEK[]"])
            for uid, (path, data) in zip(chunk, sent[start:start + 50]):
                if strip_trace(bodies[uid][b"BODY[]"]) != data:
                    mismatched.append(str(path))
        assert not mismatched, f"{len(mismatched)} bodies differ, e.g. {mismatched[:5]}"

        misses = []
        sampled = 0
        for uid, (path, data) in zip(uids, sent):
            word = a_body_word(data)
            if word is None:
                continue
            sampled += 1
            deadline = time.time() + 15
            while True:
                hits = client.search(["TEXT", word])
                if uid in hits or time.time() > deadline:
                    break
                time.sleep(0.5)
            if uid not in hits:
                misses.append((str(path), word))
        assert sampled > 100, sampled
        assert not misses, f"{len(misses)} of {sampled} searches missed, e.g. {misses[:5]}"
    finally:
        client.logout()


def test_zmprov_output(provisioned):
    out = provisioned.zmprov("ga", USER).stdout
    assert out.splitlines()[0] == f"# name {USER}"
    assert "displayName: E2E User" in out.splitlines()
    assert f"zimbraMailAlias: {ALIAS}" in out.splitlines()
    assert "zimbraAccountStatus: active" in out.splitlines()
    assert USER in provisioned.zmprov("gaa").stdout.split()
    bad = provisioned.zmprov("ga", f"nobody@{DOMAIN}", check=False)
    assert bad.returncode != 0
    assert "NO_SUCH_ACCOUNT" in bad.stderr


def test_status_reports_running(provisioned):
    proc = provisioned.status()
    assert proc.returncode == 0, proc.stdout
    assert "Running" in proc.stdout


def test_unknown_recipient_refused_at_rcpt(provisioned):
    with smtplib.SMTP("127.0.0.1", provisioned.smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("sender@remote.test")
        code, msg = smtp.rcpt(f"nobody@{DOMAIN}")
        assert code == 550 and b"5.1.1" in msg, (code, msg)


def test_corpus_round_trip_and_search(provisioned, delivered):
    assert len(delivered) > 300
    check_mailbox(provisioned, delivered)


def test_survives_restart(provisioned, delivered):
    provisioned.stop()
    assert provisioned.status().returncode != 0
    provisioned.start()
    check_mailbox(provisioned, delivered)


def test_alias_and_lmtp_delivery(provisioned, delivered):
    msg = b"Subject: via alias\r\n\r\nzanzibarquux\r\n"
    with smtplib.SMTP("127.0.0.1", provisioned.smtp_port, timeout=30) as smtp:
        smtp.sendmail("sender@remote.test", [ALIAS], msg)
    lmtp = smtplib.LMTP("127.0.0.1", provisioned.lmtp_port, timeout=30)
    lmtp.sendmail("sender@remote.test", [USER], b"Subject: via lmtp\r\n\r\nqwertzlmtp\r\n")
    lmtp.quit()
    client = imap(provisioned)
    try:
        client.select_folder("INBOX")
        deadline = time.time() + 15
        while time.time() < deadline:
            a, b = client.search(["TEXT", "zanzibarquux"]), client.search(["TEXT", "qwertzlmtp"])
            if a and b:
                break
            time.sleep(0.5)
        assert len(a) == 1 and len(b) == 1, (a, b)
        assert client.search(["SUBJECT", "via alias"]) == a
    finally:
        client.logout()
