"""Restore fault drills on the real binaries. `kill -9` of `zmrestoreoffline` while it
holds an account (the ZCS_RESTORE_DRILL_PAUSE_MS seam stops it after the account's rows
are in, before the replay): the account is left in maintenance, never looking complete;
then either the rerun says the earlier restore was interrupted, restores it whole, puts
the account back to active and brings its search index back, or, with no rerun, the
server's next start finds the restore journal and finishes the restore by itself. An
online restore (`zmrestore` while the server runs) reindexes the account before it
leaves maintenance, so a search right after the command returns finds every message. A
damaged backup (a truncated blob zip, a flipped byte in an account's metadata): the
restore names what is wrong and, with -c, restores the other accounts."""

import shutil

from backup_util import (count, kill_restore_midway, populated, search, status,
                         wait_count, wait_status)
from zcs import Zcs

DOMAIN = "rdrill.test"
USERS = [f"drill{i}@{DOMAIN}" for i in range(3)]


def test_kill_9_mid_restore_leaves_maintenance_and_the_rerun_finishes(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS, "--zipStore")
    journal = kill_restore_midway(z, "zmrestoreoffline", "-a", USERS[0])
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


def test_kill_9_mid_restore_then_server_start_finishes_it(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    journal = kill_restore_midway(z, "zmrestoreoffline", "-a", USERS[1])
    assert "maintenance" in status(z, USERS[1])
    z.start()
    try:
        # No rerun: the start notices the journal and restores the account whole.
        wait_status(z, USERS[1], "active")
        assert not any(journal.glob("*.json"))
        assert wait_count(z, USERS[1], 5) == 5
        assert len(search(z, USERS[1], "zebraa0")) == 1
        assert len(search(z, USERS[1], "zebrab1")) == 1
        assert count(z, USERS[0]) == 5
    finally:
        z.stop()


def test_online_restore_is_searchable_when_the_command_returns(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    z.start()
    try:
        out = z.run("zmrestore", "-a", USERS[2]).stdout
        assert USERS[2] in out, out
        # Reindexed before it left maintenance: no wait for a background indexer.
        assert "maintenance" not in status(z, USERS[2])
        for word in ["zebraa0", "zebraa2", "zebrab0", "zebrab1"]:
            assert len(search(z, USERS[2], word)) == 1, word
        assert count(z, USERS[2]) == 5
    finally:
        z.stop()


def test_damaged_backup_is_named_and_c_restores_the_rest(tmp_path):
    old = populated(tmp_path / "old", DOMAIN, USERS, "--zipStore")
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
