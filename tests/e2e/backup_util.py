"""Helpers shared by the backup end-to-end suites (test_backup_faults.py,
test_backup_restore_drill.py): mail in over SMTP, message counts and searches over IMAP,
a populated home with a full and an incremental backup, account status, and a
restore held with an account in maintenance then killed with SIGKILL."""

import imaplib
import signal
import smtplib
import subprocess
import time

from zcs import BIN_DIR, Zcs

PASSWORD = "backup-drill-pass-1"


def send(z, user, n, tag):
    """Sends `n` messages to `user`; message i says `zebra<tag><i>`."""
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        for i in range(n):
            s.sendmail("x@remote.test", [user],
                       f"Subject: {tag} {i}\r\n\r\nword zebra{tag}{i}\r\n")


def imap(z, user):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    m.login(user, PASSWORD)
    return m


def count(z, user):
    m = imap(z, user)
    try:
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        return int(data[0])
    finally:
        m.logout()


def search(z, user, word):
    """Sequence numbers of INBOX messages whose body holds `word` (index search)."""
    m = imap(z, user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "BODY", word)
        assert typ == "OK", data
        return data[0].split()
    finally:
        m.logout()


def wait_count(z, user, want, limit=60):
    deadline = time.time() + limit
    got = None
    while time.time() < deadline:
        got = count(z, user)
        if got >= want:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{user}: {got} messages, expected {want}")


def status(z, user):
    return z.zmprov("ga", user, "zimbraAccountStatus").stdout


def wait_status(z, user, want, limit=60):
    deadline = time.time() + limit
    got = ""
    while time.time() < deadline:
        got = status(z, user)
        if want in got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{user}: status {got!r}, expected {want}")


def new_home(path, domain, users):
    """A started home with `domain` and `users` (password PASSWORD), IMAP cleartext on."""
    z = Zcs(path)
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", domain)
    for u in users:
        z.zmprov("ca", u, PASSWORD)
    return z


def populated(path, domain, users, *backup_args):
    """A stopped home where each of `users` holds 3 messages (tag a) in a full backup
    and 2 more (tag b) in an incremental after it."""
    z = new_home(path, domain, users)
    try:
        for u in users:
            send(z, u, 3, "a")
        for u in users:
            wait_count(z, u, 3)
        z.run("zmbackup", "-f", "-a", "all", *backup_args)
        for u in users:
            send(z, u, 2, "b")
        for u in users:
            wait_count(z, u, 5)
        z.run("zmbackup", "-i", "-a", "all")
    finally:
        z.stop()
    return z


def kill_restore_midway(z, tool, *args):
    """Runs `tool args` held by ZCS_RESTORE_DRILL_PAUSE_MS once an account is in
    maintenance (its journal file written), then kills it with SIGKILL."""
    journal = z.home / "backup" / "restore-journal"
    env = dict(z.env, ZCS_RESTORE_DRILL_PAUSE_MS="30000")
    proc = subprocess.Popen([str(BIN_DIR / tool), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (journal.is_dir()
                                              and any(journal.glob("*.json"))):
            time.sleep(0.05)
        assert any(journal.glob("*.json")), proc.stderr.read() if proc.poll() else ""
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return journal
