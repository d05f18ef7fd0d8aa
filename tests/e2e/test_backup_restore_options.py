"""Restore options through the real binaries. Spec 04 test idea 30: `zmrestoreoffline`
refuses to run while the server runs, and refuses `-s` naming another server; with the
server stopped it restores. `-t` (another backup target) and `-skipDeletedAccounts`
reach the restore both offline (`zmrestoreoffline`, `zmrestore` with the server
stopped) and online (`zmrestore` while the server runs: the options travel in the
admin RestoreRequest). `-sys` writes the backed-up local config beside the live one
(spec 04 test idea 28)."""

import shutil

from backup_util import count, populated, status

DOMAIN = "ropts.test"
USERS = [f"opt{i}@{DOMAIN}" for i in range(2)]


def test_offline_restore_refuses_a_running_server_and_another_host(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    z.start()
    try:
        p = z.run("zmrestoreoffline", "-a", USERS[0], check=False)
        assert p.returncode != 0, p.stdout
        assert "stop the server" in p.stderr, p.stderr
    finally:
        z.stop()
    p = z.run("zmrestoreoffline", "-a", USERS[0], "-s", "elsewhere.example", check=False)
    assert p.returncode != 0, p.stdout
    assert "elsewhere.example" in p.stderr and "only restores this server" in p.stderr, \
        p.stderr
    out = z.run("zmrestoreoffline", "-a", USERS[0], "-s", "localhost").stdout
    assert f"restored {USERS[0]}" in out, out


def test_target_and_skip_deleted_accounts_offline_and_online(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    # The backups move to another target: only -t finds them.
    other = tmp_path / "elsewhere"
    shutil.move(str(z.home / "backup"), str(other))
    p = z.run("zmrestoreoffline", "-a", USERS[0], check=False)
    assert p.returncode != 0, p.stdout
    out = z.run("zmrestoreoffline", "-a", USERS[0], "-t", other).stdout
    assert f"restored {USERS[0]}" in out, out

    # An account deleted since the backup: -skipDeletedAccounts leaves it deleted.
    z.start()
    try:
        z.zmprov("da", USERS[1])
        out = z.run("zmrestore", "-a", USERS[1], "-t", other,
                    "-skipDeletedAccounts").stdout
        assert f"skipped {USERS[1]}" in out, out
        p = z.zmprov("ga", USERS[1], check=False)
        assert p.returncode != 0, p.stdout
        # Online, with -t: the restore runs inside the server from the other target.
        out = z.run("zmrestore", "-a", USERS[0], "-t", other).stdout
        assert "restored online" in out and f"restored {USERS[0]}" in out, out
        assert "maintenance" not in status(z, USERS[0])
        assert count(z, USERS[0]) == 5
    finally:
        z.stop()
    # Offline, the same option in its double-dash spelling.
    out = z.run("zmrestoreoffline", "-a", USERS[1], "-t", other,
                "--skipDeletedAccounts").stdout
    assert f"skipped {USERS[1]}" in out, out
    # Without it, the deleted account comes back (zmrestore -a <acct> recreates it).
    out = z.run("zmrestoreoffline", "-a", USERS[1], "-t", other).stdout
    assert f"restored {USERS[1]}" in out, out


def test_system_restore_writes_localconfig_restore(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    live = z.home / "conf" / "localconfig.toml"
    before = live.read_text()
    z.run("zmlocalconfig", "-e", "backup_archived_redolog_keep_time=7200")
    changed = live.read_text()
    assert changed != before
    out = z.run("zmrestoreoffline", "-sys", "-a", USERS[0]).stdout
    assert "localconfig.toml.restore" in out, out
    assert (z.home / "conf" / "localconfig.toml.restore").read_text() == before
    assert live.read_text() == changed
    # Online: the server's restore says where it wrote the copy too.
    (z.home / "conf" / "localconfig.toml.restore").unlink()
    z.start()
    try:
        out = z.run("zmrestore", "-sys", "-a", USERS[1]).stdout
        assert "restored online" in out and "localconfig.toml.restore" in out, out
    finally:
        z.stop()
    assert (z.home / "conf" / "localconfig.toml.restore").read_text() == before


def test_restore_without_accounts_xml_needs_a_label(tmp_path):
    z = populated(tmp_path / "home", DOMAIN, USERS)
    catalog = z.home / "backup" / "accounts.xml"
    assert USERS[0] in catalog.read_text()
    catalog.unlink()
    p = z.run("zmrestoreoffline", "-a", USERS[0], check=False)
    assert p.returncode != 0 and "accounts.xml" in p.stderr and "-lb" in p.stderr, p.stderr
    label = next((z.home / "backup" / "sessions").glob("full-*")).name
    out = z.run("zmrestoreoffline", "-a", USERS[0], "-lb", label).stdout
    assert f"restored {USERS[0]}" in out, out
