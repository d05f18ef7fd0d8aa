"""Restore fault drills on the real binaries. `kill -9` of `zmrestoreoffline` while it
holds an account (the ZCS_RESTORE_DRILL_PAUSE_MS seam stops it after the account's rows
are in, before the replay): the account is left in maintenance, never looking complete;
the rerun says the earlier restore was interrupted, restores it whole, puts the account
back to active, and brings its search index back; the server then serves every message.
A damaged backup (a truncated blob zip, a flipped byte in an account's metadata): the
restore names what is wrong and, with -c, restores the other accounts."""

import imaplib
import shutil
import signal
import smtplib
import subprocess
import time

from zcs import BIN_DIR, Zcs

USERS = [f"drill{i}@rdrill.test" for i in range(3)]
PASSWORD = "rdrill-pass-1"


def send(z, user, n, tag):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        for i in range(n):
            s.sendmail("x@remote.test", [user],
                       f"Subject: {tag} {i}\r\n\r\nword zebra{tag}{i}\r\n")


def count(z, user):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    try:
        m.login(user, PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        return int(data[0])
    finally:
        m.logout()


def wait_count(z, user, want):
    deadline = time.time() + 60
    got = None
    while time.time() < deadline:
        got = count(z, user)
        if got >= want:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{user}: {got} messages, expected {want}")


def populated(tmp_path, *backup_args):
    """A stopped home with USERS holding 3 + 2 messages, a full backup between."""
    z = Zcs(tmp_path / "home")
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.start()
    try:
        z.zmprov("cd", "rdrill.test")
        for u in USERS:
            z.zmprov("ca", u, PASSWORD)
        for u in USERS:
            send(z, u, 3, "a")
        for u in USERS:
            wait_count(z, u, 3)
        z.run("zmbackup", "-f", "-a", "all", *backup_args)
        for u in USERS:
            send(z, u, 2, "b")
        for u in USERS:
            wait_count(z, u, 5)
        z.run("zmbackup", "-i", "-a", "all")
    finally:
        z.stop()
    return z


def status(z, user):
    return z.zmprov("ga", user, "zimbraAccountStatus").stdout


def test_kill_9_mid_restore_leaves_maintenance_and_the_rerun_finishes(tmp_path):
    z = populated(tmp_path, "--zipStore")
    journal = z.home / "backup" / "restore-journal"
    env = dict(z.env, ZCS_RESTORE_DRILL_PAUSE_MS="30000")
    proc = subprocess.Popen([str(BIN_DIR / "zmrestoreoffline"), "-a", USERS[0]], env=env,
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
    assert "maintenance" in status(z, USERS[0])
    assert "maintenance" not in status(z, USERS[1])

    out = z.run("zmrestoreoffline", "-a", USERS[0]).stdout
    assert "interrupted" in out and f"restored {USERS[0]}" in out, out
    assert f"search index restored for: {USERS[0]}" in out, out
    assert "maintenance" not in status(z, USERS[0])
    assert not any(journal.glob("*.json"))
    z.start()
    try:
        assert wait_count(z, USERS[0], 5) == 5
        assert count(z, USERS[1]) == 5
    finally:
        z.stop()


def test_damaged_backup_is_named_and_c_restores_the_rest(tmp_path):
    old = populated(tmp_path / "old", "--zipStore")
    ids = {u: old.zmprov("ga", u, "zimbraId").stdout.split()[-1] for u in USERS}
    z = Zcs(tmp_path / "new")
    z.init()
    shutil.copytree(old.home / "backup", z.home / "backup", dirs_exist_ok=True)
    full = next((z.home / "backup" / "sessions").glob("full-*"))
    # A truncated blob zip for the first account.
    zip0 = next(full.glob(f"accounts/*/{ids[USERS[0]]}/blobs/*.zip"))
    data = zip0.read_bytes()
    zip0.write_bytes(data[: len(data) // 2])
    # A flipped byte in the second account's metadata (still valid JSON).
    meta = next(full.glob(f"accounts/*/{ids[USERS[1]]}/account.json"))
    meta.write_bytes(meta.read_bytes().replace(b"drill1", b"drilX1", 1))

    proc = z.run("zmrestoreoffline", "-a", "all", check=False)
    assert proc.returncode != 0
    proc = z.run("zmrestoreoffline", "-a", "all", "-c", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert f"FAILED {USERS[0]}" in err and "blobs-1.zip" in err, err
    assert f"FAILED {USERS[1]}" in err and "account.json is damaged" in err, err
    assert f"restored {USERS[2]}" in err, err
    z.start()
    try:
        assert wait_count(z, USERS[2], 5) == 5
    finally:
        z.stop()
