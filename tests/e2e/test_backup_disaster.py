"""The disaster drill: the data directories of a RUNNING server (db/, store/, index/
under the zcs home) are deleted; the redo log directory (redolog/, its own disk in
Zimbra's model) and the backups survive. Recovery follows the documented procedure
(docs/decisions/2026-12-05-disaster-recovery.md): stop, `zmrestoreoffline -sys -a all`
(restores the full backup and replays the archived and current redo logs, whose
records carry the blobs of messages delivered after the backup), start, then a fresh
full backup. Nothing acknowledged before the loss is missing: every message, body
byte for byte, and a flag set after the backup."""

import shutil
import time

from backup_util import count, imap, new_home, send, wait_count

DOMAIN = "drill.test"
USER = f"dr1@{DOMAIN}"
USER2 = f"dr2@{DOMAIN}"


def bodies(z, user):
    m = imap(z, user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[TEXT] FLAGS)")
        assert typ == "OK", data
        return sorted(part[1].decode(errors="replace") for part in data
                      if isinstance(part, tuple))
    finally:
        m.logout()


def flagged(z, user):
    m = imap(z, user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "FLAGGED")
        assert typ == "OK", data
        return len(data[0].split())
    finally:
        m.logout()


def test_deleted_data_directory_of_a_running_server_is_recovered(tmp_path):
    z = new_home(tmp_path / "home", DOMAIN, [USER, USER2])
    try:
        send(z, USER, 3, "before")
        wait_count(z, USER, 3)
        z.run("zmbackup", "-f", "-a", "all")
        # After the last backup: mail to both accounts and a flag change.
        send(z, USER, 2, "after")
        send(z, USER2, 2, "other")
        wait_count(z, USER, 5)
        wait_count(z, USER2, 2)
        m = imap(z, USER)
        try:
            m.select("INBOX")
            typ, data = m.store("1", "+FLAGS", "(\\Flagged)")
            assert typ == "OK", data
        finally:
            m.logout()
        want = bodies(z, USER)
        want2 = bodies(z, USER2)
        assert any("zebraafter1" in b for b in want), want

        # The disaster, while the server runs.
        # The server keeps writing (an index commit can add a segment file while the
        # directory is being removed), so delete until nothing is left.
        for d in ("db", "store", "index"):
            for _ in range(50):
                shutil.rmtree(z.home / d, ignore_errors=True)
                if not (z.home / d).exists():
                    break
                time.sleep(0.1)
            assert not (z.home / d).exists(), d
    finally:
        z.stop()
    assert not (z.home / "store").exists()

    # The documented recovery.
    out = z.run("zmrestoreoffline", "-sys", "-a", "all", "-c").stdout
    assert f"restored {USER}" in out and f"restored {USER2}" in out, out
    z.start()
    try:
        assert wait_count(z, USER, 5) == 5
        assert count(z, USER2) == 2
        assert bodies(z, USER) == want
        assert bodies(z, USER2) == want2
        assert flagged(z, USER) == 1
        # Still a working server: new mail is delivered, then a fresh full backup.
        send(z, USER, 1, "new")
        wait_count(z, USER, 6)
        label = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        assert label.startswith("full-"), label
    finally:
        z.stop()
