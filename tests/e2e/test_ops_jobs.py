"""Scheduled jobs of the operations issue: an HSM session on the zcs_hsm_schedule time
moves old blobs to the secondary volume without anyone running zmhsm, and spam training
(zmtrainsa) teaches the spam and ham training mailboxes to a real spamd, then empties
them with --cleanup; a nightly training missed while the server was down (its last run
moved eight days back) runs at the next start and teaches what waits."""

import imaplib
import os
import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "opsjobs.test"
USER = f"user@{DOMAIN}"
SPAM = f"spam.train@{DOMAIN}"
HAM = f"ham.train@{DOMAIN}"
PASSWORD = "opsjobs-pass-4"
SPAMD = os.environ.get("ZCS_TEST_SPAMD")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("opsjobs"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
               "zimbraHsmPolicy", "message:before:+1day",
               "zimbraSpamIsSpamAccount", SPAM, "zimbraSpamIsNotSpamAccount", HAM)
    zcs.zmprov("cd", DOMAIN)
    for a in (USER, SPAM, HAM):
        zcs.zmprov("ca", a, PASSWORD)
    settings = ["zcs_hsm_schedule=* * * * *"]
    if SPAMD:
        settings.append(f"zcs_spamd_address={SPAMD}")
    zcs.run("zmlocalconfig", "-e", *settings)
    zcs.start()
    yield zcs
    zcs.stop()


def send(server, to, subject, body):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as s:
        s.sendmail("sender@remote.test", [to],
                   f"From: sender@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{subject.replace(' ', '.')}@remote.test>\r\n\r\n{body}\r\n")


def count(server, account):
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(account, PASSWORD)
        typ, data = imap.select("INBOX")
        return int(data[0])


def test_hsm_runs_on_its_schedule(server, tmp_path):
    hsm_dir = tmp_path / "hsm"
    server.run("zmvolume", "-a", "-n", "hsm1", "-t", "secondaryMessage", "-p", hsm_dir)
    send(server, USER, "to be moved", "old mail " * 50)
    deadline = time.time() + 150
    while not list(hsm_dir.rglob("*.msg*")):
        assert time.time() < deadline, "no scheduled HSM session moved the blob"
        time.sleep(1)
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        _, data = imap.fetch(b"1", "(BODY[TEXT])")
        assert b"old mail" in data[0][1], "the moved blob still reads"
    log = (server.home / "log" / "mailbox.log").read_text(errors="replace")
    assert "HSM session done" in log


def test_zmtrainsa_teaches_spamd_and_cleanup_empties(server):
    if not SPAMD:
        print("SKIP: ZCS_TEST_SPAMD is not set (.ci/setup.d/40-scanners.sh starts spamd)")
        pytest.skip("ZCS_TEST_SPAMD is not set")
    send(server, SPAM, "cheap pills now", "buy cheap pills viagra casino lottery winner")
    send(server, HAM, "minutes of the meeting", "the quarterly review is on tuesday")
    deadline = time.time() + 30
    while count(server, SPAM) < 1 or count(server, HAM) < 1:
        assert time.time() < deadline, "training messages not delivered"
        time.sleep(0.5)
    out = server.run("zmtrainsa").stdout
    assert "learned 1 spam, 1 ham; 0 failed" in out, out
    out = server.run("zmtrainsa", "--cleanup").stdout
    assert "removed 2 trained messages" in out, out
    assert count(server, SPAM) == 0 and count(server, HAM) == 0
    log = (server.home / "log" / "spamtrain.log").read_text()
    assert "zmtrainsa: learned" in log and "--cleanup" in log


def test_a_missed_nightly_spam_training_runs_at_the_next_start(server):
    if not SPAMD:
        print("SKIP: ZCS_TEST_SPAMD is not set (.ci/setup.d/40-scanners.sh starts spamd)")
        pytest.skip("ZCS_TEST_SPAMD is not set")
    send(server, SPAM, "lottery winner claim", "claim your lottery prize casino bonus now")
    send(server, HAM, "lunch on friday", "shall we meet for lunch on friday at noon")
    deadline = time.time() + 30
    while count(server, SPAM) < 1 or count(server, HAM) < 1:
        assert time.time() < deadline, "training messages not delivered"
        time.sleep(0.5)
    train_log = server.home / "log" / "spamtrain.log"
    before = train_log.read_text().count("zmtrainsa: learned") if train_log.exists() else 0
    server.stop()
    # The clock moves: the last nightly training was eight days ago; the cleanup ran
    # just now, so only the training is owed.
    state = server.home / "data" / "jobs.state"
    now = int(time.time())
    lines = [l for l in state.read_text().splitlines()
             if not l.startswith(("zmtrainsa\t", "zmtrainsa --cleanup\t"))]
    lines += [f"zmtrainsa\t{now - 8 * 86400}", f"zmtrainsa --cleanup\t{now}"]
    state.write_text("\n".join(lines) + "\n")
    server.start()
    deadline = time.time() + 60
    while True:
        text = train_log.read_text() if train_log.exists() else ""
        if text.count("zmtrainsa: learned") > before:
            break
        assert time.time() < deadline, "the missed spam training did not run"
        time.sleep(0.5)
    last = [l for l in text.splitlines() if "zmtrainsa: learned" in l][-1]
    assert "learned 1 spam, 1 ham; 0 failed" in last, last
    log = (server.home / "log" / "mailbox.log").read_text(errors="replace")
    assert "missed while the server was down" in log
    assert "scheduled job ran job=zmtrainsa ms=" in log
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(SPAM, PASSWORD)
        imap.select("INBOX")
        _, data = imap.search(None, "UNSEEN")
        assert data[0].split() == [], "trained messages are marked read"
