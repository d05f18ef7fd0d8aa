"""Backup through the admin SOAP API and the schedule, with Zimbra's names:
BackupRequest method full (zipStore, searchIndex=exclude) and incremental, abort and
delete; BackupQueryRequest with a <query> filtering by type and listing accounts, newest
first, with totalSpace/freeSpace; zmschedulebackup entries keeping zmbackup's options
(-q, -s); the report mail of a BackupRequest run inside the server (its mailer goes
through the server's mail queue)."""

import time

import pytest

from backup_util import PASSWORD, imap, send, wait_count
from soap_util import envelope, fault_code, post, soap_body, ssl_context
from zcs import Zcs

ADMIN = "boss@bsoap.test"
USER = "u1@bsoap.test"
NS = "urn:zimbraAdmin"


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-backup-soap"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.zmprov("cd", "bsoap.test")
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.zmprov("ca", USER, PASSWORD)
    z.start()
    url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
    ctx = ssl_context(z.ca_file())
    body = (f'<AuthRequest xmlns="{NS}"><name>{ADMIN}</name>'
            f"<password>{PASSWORD}</password></AuthRequest>")
    status, _, text = post(url, envelope(body), ctx)
    assert status == 200, text
    token = soap_body(text)[1].find(f"{{{NS}}}authToken").text

    def call(xml):
        status, _, text = post(url, envelope(xml, token), ctx, timeout=300)
        return status, text

    send(z, USER, 3, "s")
    wait_count(z, USER, 3)
    yield z, call
    z.stop()


def backup(call, attrs):
    status, text = call(f'<BackupRequest xmlns="{NS}"><backup {attrs}>'
                        f'<account name="all"/></backup></BackupRequest>')
    assert status == 200, text
    el = soap_body(text)[1].find(f"{{{NS}}}backup")
    return el.get("label") if el is not None else None


def test_backup_query_abort_and_delete(admin):
    z, call = admin
    full = backup(call, 'method="full" zipStore="1" searchIndex="exclude" sync="1"')
    assert full.startswith("full-"), full
    session = z.home / "backup" / "sessions" / full
    assert list(session.glob("accounts/*/*/blobs/*.zip")), "zipStore not applied"
    assert not (session / "sys" / "index").exists(), "searchIndex=exclude not applied"
    incr = backup(call, 'method="incremental"')
    assert incr.startswith("incr-"), incr

    status, text = call(f'<BackupQueryRequest xmlns="{NS}"><query type="full" '
                        f'accountListStatus="ALL"/></BackupQueryRequest>')
    assert status == 200, text
    resp = soap_body(text)[1]
    assert int(resp.get("totalSpace")) >= int(resp.get("freeSpace")) > 0
    backups = resp.findall(f"{{{NS}}}backup")
    assert [b.get("label") for b in backups] == [full]
    b = backups[0]
    assert b.get("type") == "full" and b.get("aborted") == "0"
    names = [a.get("name") for a in b.find(f"{{{NS}}}accounts").findall(f"{{{NS}}}account")]
    assert USER in names and ADMIN in names, names

    status, text = call(f'<BackupQueryRequest xmlns="{NS}"><query backupListCount="1"/>'
                        f"</BackupQueryRequest>")
    resp = soap_body(text)[1]
    assert [b.get("label") for b in resp.findall(f"{{{NS}}}backup")] == [incr]
    assert resp.get("more") == "1"

    status, text = call(f'<BackupRequest xmlns="{NS}"><backup method="abort" '
                        f'label="{full}"/></BackupRequest>')
    assert status == 200, text
    status, text = call(f'<BackupRequest xmlns="{NS}"><backup method="sideways"/>'
                        f"</BackupRequest>")
    assert status != 200 and fault_code(text) == "service.INVALID_REQUEST", text
    # A later full, then delete what came before it.
    newer = backup(call, 'method="full"')
    status, text = call(f'<BackupRequest xmlns="{NS}"><backup method="delete" '
                        f'before="{newer}"/></BackupRequest>')
    assert status == 200, text
    left = sorted(p.name for p in (z.home / "backup" / "sessions").iterdir())
    assert full not in left and newer in left, left


def test_schedule_keeps_zmbackup_options(admin):
    z, _ = admin
    z.run("zmschedulebackup", "-R", "f", "0 2 * * 6", "--zipStore", "-t", "/tmp/x-bk")
    z.run("zmschedulebackup", "-A", "i", "0 2 * * 0-5", "--excludeSearchIndex")
    out = z.run("zmschedulebackup", "-q").stdout
    assert "f 0 2 * * 6 --zipStore -t /tmp/x-bk" in out, out
    assert "i 0 2 * * 0-5 --excludeSearchIndex" in out, out
    saved = z.run("zmschedulebackup", "-s").stdout
    assert 'zmschedulebackup -A f "0 2 * * 6" --zipStore -t /tmp/x-bk' in saved, saved
    bad = z.run("zmschedulebackup", "-A", "f", "0 2 * * 6", "--noSuchOption", check=False)
    assert bad.returncode != 0


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


def test_soap_backup_sends_the_report_mail(admin):
    z, call = admin
    z.zmprov("mcf", "zimbraBackupReportEmailRecipients", ADMIN,
             "zimbraBackupReportEmailSender", ADMIN,
             "zimbraBackupReportEmailSubjectPrefix", "SOAP BackupReport")
    try:
        label = backup(call, 'method="full" sync="1"')
        assert label.startswith("full-"), label
        deadline = time.time() + 60
        got = []
        while time.time() < deadline:
            got = subjects(z, ADMIN)
            if any("SOAP BackupReport:SUCCESS" in s for s in got):
                break
            time.sleep(0.3)
        assert any("SOAP BackupReport:SUCCESS" in s for s in got), got
    finally:
        z.zmprov("mcf", "zimbraBackupReportEmailRecipients", "")
