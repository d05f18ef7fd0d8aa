"""Backup fault drill on a running server: `kill -9` of the server and of the backup in
the middle of a full backup (held mid-session by the ZCS_BACKUP_DRILL_PAUSE_MS seam).
Afterwards the server restarts, the next full backup succeeds and removes the dead
session, no half-written session is ever listed as a backup, and an online restore from
the last complete backup brings the account's mail back (checked over IMAP)."""

import os
import signal
import subprocess
import time

from backup_util import count, new_home, send, wait_count
from zcs import BIN_DIR

USERS = [f"kill{i}@drill.test" for i in range(3)]


def test_kill_9_mid_backup_then_backup_and_restore_work(tmp_path):
    z = new_home(tmp_path / "home", "drill.test", USERS)
    try:
        for u in USERS:
            send(z, u, 3, "m")
        for u in USERS:
            wait_count(z, u, 3)
        good = z.run("zmbackup", "-f", "-a", "all").stdout.strip()

        # A backup held mid-session, then the machine "loses power".
        env = dict(z.env, ZCS_BACKUP_DRILL_PAUSE_MS="3000")
        proc = subprocess.Popen([str(BIN_DIR / "zmbackup"), "-f", "-a", "all"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sessions = z.home / "backup" / "sessions"
        tmp = z.home / "backup" / "sessions_tmp"
        deadline = time.time() + 30
        while time.time() < deadline and not (tmp.is_dir() and any(tmp.iterdir())):
            time.sleep(0.05)
        # Spec 04 test idea 12: the interrupted session is under sessions_tmp/.
        assert any(tmp.iterdir())
        assert not any(p.name.startswith("full-") and p.name != good
                       for p in sessions.iterdir())
        os.kill(z.pid(), signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(0.5)
        # The dead session is not a backup.
        out = z.run("zmbackupquery").stdout
        assert good in out, out
        assert out.count("Label:") == 1, out

        z.start()
        for u in USERS:
            assert wait_count(z, u, 3) == 3
        label = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        assert label.startswith("full-") and label != good
        assert not any(tmp.iterdir())
        z.run("zmbackup", "-i", "-a", "all")
        out = z.run("zmrestore", "-a", USERS[0], "-ca", "-pre", "k_", "-lb", label).stdout
        assert f"as k_{USERS[0]}" in out, out
        assert count(z, f"k_{USERS[0]}") == 3
    finally:
        z.stop()
