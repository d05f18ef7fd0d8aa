"""The backup side around each session, end to end against a running server: the
backup report mail (zimbraBackupReportEmailRecipients, ...Sender, ...SubjectPrefix)
arrives in the recipient's mailbox after a completed backup and after one refused by
zimbraBackupMinFreeSpace (no session is started then); a damaged session.json does not
stop zmbackupquery, which lists that session as invalid, nor the next backup."""

import time

from backup_util import imap, new_home, send, wait_count

DOMAIN = "reports.test"
OPS = f"ops@{DOMAIN}"
USER = f"u1@{DOMAIN}"


def subjects(z, user):
    m = imap(z, user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        if typ != "OK" or not data or data == [None]:
            return []
        return [part[1].decode(errors="replace").strip()
                for part in data if isinstance(part, tuple)]
    finally:
        m.logout()


def wait_subject(z, user, want, limit=60):
    deadline = time.time() + limit
    got = []
    while time.time() < deadline:
        got = subjects(z, user)
        if any(want in s for s in got):
            return got
        time.sleep(0.3)
    raise AssertionError(f"{user}: no {want!r} among {got}")


def body_of(z, user, want):
    m = imap(z, user)
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "SUBJECT", f'"{want}"')
        assert typ == "OK" and data[0], data
        n = data[0].split()[-1]
        typ, data = m.fetch(n, "(BODY.PEEK[TEXT])")
        return data[0][1].decode()
    finally:
        m.logout()


def test_report_mail_min_free_space_and_invalid_sessions(tmp_path):
    z = new_home(tmp_path / "r", DOMAIN, [OPS, USER])
    try:
        send(z, USER, 2, "r")
        wait_count(z, USER, 2)
        z.zmprov("mcf", "zimbraBackupReportEmailRecipients", OPS,
                 "zimbraBackupReportEmailSender", OPS,
                 "zimbraBackupReportEmailSubjectPrefix", "ZCS BackupReport")
        label = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        assert label.startswith("full-"), label
        wait_subject(z, OPS, "ZCS BackupReport:SUCCESS")
        body = body_of(z, OPS, "ZCS BackupReport:SUCCESS")
        assert f"Label:   {label}" in body, body
        assert "Type:    full" in body and "Status:  completed" in body, body
        assert "Number of accounts: " in body and "Redo log sequence range: " in body, body

        # Below the minimum free space: refused, no session, a FAILURE report.
        sessions = z.home / "backup" / "sessions"
        before = sorted(p.name for p in sessions.iterdir())
        z.zmprov("mcf", "zimbraBackupMinFreeSpace", "100%")
        p = z.run("zmbackup", "-f", "-a", "all", check=False)
        assert p.returncode != 0, p.stdout
        assert "backup not started" in p.stderr, p.stderr
        assert "zimbraBackupMinFreeSpace 100%" in p.stderr, p.stderr
        assert sorted(p.name for p in sessions.iterdir()) == before
        wait_subject(z, OPS, "ZCS BackupReport:FAILURE")
        assert "Status:  not started" in body_of(z, OPS, "ZCS BackupReport:FAILURE")
        z.zmprov("mcf", "zimbraBackupMinFreeSpace", "0")

        # A half-written catalog: listed as invalid, the rest still works.
        second = z.run("zmbackup", "-f", "-a", "all").stdout.strip()
        cat = sessions / second / "session.json"
        cat.write_bytes(cat.read_bytes()[:40])
        out = z.run("zmbackupquery").stdout
        assert f"Label:   {label}" in out and "Status:  completed" in out, out
        assert f"Label:   {second}\nType:    full\nStatus:  invalid (" in out, out
        incr = z.run("zmbackup", "-i", "-a", "all").stdout.strip()
        assert incr.startswith("incr-"), incr
    finally:
        z.stop()
