"""Restores replay the server's own redo logs after the backup (Zimbra's default): mail
delivered after the last backup survives `zmrestore -a user` and `zmrestoreoffline -a
user`; `-br` keeps to what the backup holds."""

from backup_util import count, new_home, send, wait_count

DOMAIN = "rredo.test"
USER = f"redo0@{DOMAIN}"


def test_mail_after_the_last_backup_survives_a_restore(tmp_path):
    z = new_home(tmp_path / "home", DOMAIN, [USER])
    try:
        send(z, USER, 3, "a")
        wait_count(z, USER, 3)
        z.run("zmbackup", "-f", "-a", "all")
        send(z, USER, 2, "late")
        wait_count(z, USER, 5)
        # Online: the restore runs in the server and replays its redo log.
        out = z.run("zmrestore", "-a", USER).stdout
        assert f"restored {USER}" in out, out
        assert count(z, USER) == 5, out
    finally:
        z.stop()
    # Offline, the same.
    out = z.run("zmrestoreoffline", "-a", USER).stdout
    assert f"restored {USER}" in out, out
    z.start()
    try:
        assert wait_count(z, USER, 5) == 5
    finally:
        z.stop()
    # -br: the backup's state only (the restore is itself history from now on).
    out = z.run("zmrestoreoffline", "-a", USER, "-br").stdout
    assert "records from the server's redo logs: 0" in out, out
    z.start()
    try:
        assert wait_count(z, USER, 3) == 3
        assert count(z, USER) == 3
    finally:
        z.stop()
