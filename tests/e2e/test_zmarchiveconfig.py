"""zmarchiveconfig and the archiving service on the real server (spec 05 §6, archiving
ideas 6-11): `enable` without a COS creates `<user>-<date>@<domain>.archive` as a
system resource (quota 0, spam and virus checks off, hidden from the GAL) and points the
account at it; a new date template moves the archive and keeps the history; a name
template that is no address is refused with nothing created; a third-party address
creates no account and the copies are relayed; `disable` stops the copies and keeps the
history; and no copy is made unless the server's zimbraServiceEnabled lists
`archiving`."""

import datetime
import smtplib

import pytest

from mta_util import (PASSWORD, SmtpSink, fetch_folder, start_mta_home, user, wait_folder,
                      wait_for)

ACCOUNTS = ("alice", "bob", "carol", "dan")


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "zmarchiveconfig", sink, accounts=ACCOUNTS)
    host = hostname(home)
    home.zmprov("ms", host, "+zimbraServiceEnabled", "archiving")
    yield home
    home.stop()


def hostname(z):
    return z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()


def attrs(z, name, *wanted):
    """`zmprov ga` as {attr: [values]}."""
    out = z.zmprov("ga", name, *wanted).stdout
    got = {}
    for line in out.splitlines():
        if ": " in line and not line.startswith("#"):
            k, v = line.split(": ", 1)
            got.setdefault(k, []).append(v)
    return got


def archive_name(account, fmt="%Y%m%d"):
    local, domain = account.split("@")
    return f"{local}-{datetime.datetime.now().strftime(fmt)}@{domain}.archive"


def smtp(z, rcpt, subject):
    data = (f"From: someone@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\nBody.\r\n")
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        s.sendmail("someone@remote.test", [rcpt], data.encode())


def archived(z, archive, subject):
    return [raw for _, raw in fetch_folder(z, archive) if subject.encode() in raw]


def test_enable_without_cos(z):
    proc = z.run("zmarchiveconfig", "enable", user("alice"))
    name = archive_name(user("alice"))
    assert name in proc.stdout, proc.stdout
    a = attrs(z, name)
    assert a["zimbraIsSystemResource"] == ["TRUE"]
    assert a["zimbraMailQuota"] == ["0"]
    assert a["zimbraHideInGal"] == ["TRUE"]
    assert a["amavisBypassSpamChecks"] == ["TRUE"]
    assert a["amavisBypassVirusChecks"] == ["TRUE"]
    u = attrs(z, user("alice"))
    assert u["zimbraArchiveEnabled"] == ["TRUE"]
    assert u["amavisArchiveQuarantineTo"] == [name]
    assert u["zimbraArchiveAccount"] == [name]


def test_copies_follow_the_archive_and_the_date_template(z):
    first = archive_name(user("bob"))
    z.run("zmarchiveconfig", "enable", user("bob"), "archive-password", PASSWORD)
    smtp(z, user("bob"), "archive one")
    got = wait_folder(z, first, 1)
    copy = [raw for _, raw in got if b"archive one" in raw]
    assert copy and b"X-Envelope-To: <" + user("bob").encode() + b">" in copy[0], got
    live = [raw for _, raw in fetch_folder(z, user("bob")) if b"archive one" in raw]
    assert live and b"X-Envelope-To" not in live[0]

    # Idea 7: a new date template moves the archive; the history keeps both.
    z.zmprov("ma", user("bob"), "zimbraArchiveAccountDateTemplate", "yyyyMM")
    z.run("zmarchiveconfig", "enable", user("bob"), "archive-password", PASSWORD)
    second = archive_name(user("bob"), "%Y%m")
    u = attrs(z, user("bob"))
    assert u["amavisArchiveQuarantineTo"] == [second]
    assert sorted(u["zimbraArchiveAccount"]) == sorted([first, second])
    smtp(z, user("bob"), "archive two")
    assert wait_for(lambda: archived(z, second, "archive two"), 30, 0.5)
    assert not archived(z, first, "archive two")

    # Idea 10: disable stops the copies, the history stays.
    proc = z.run("zmarchiveconfig", "disable", user("bob"))
    assert "disabled" in proc.stdout
    smtp(z, user("bob"), "archive three")
    assert wait_for(lambda: [r for _, r in fetch_folder(z, user("bob"))
                             if b"archive three" in r], 30, 0.5)
    assert not wait_for(lambda: archived(z, second, "archive three"), 4, 0.5)
    u = attrs(z, user("bob"))
    assert u["zimbraArchiveEnabled"] == ["FALSE"]
    assert "amavisArchiveQuarantineTo" not in u
    assert sorted(u["zimbraArchiveAccount"]) == sorted([first, second])


def test_bad_name_template_is_refused(z):
    z.zmprov("ma", user("carol"), "zimbraArchiveAccountNameTemplate", "${USER} ${DATE}")
    proc = z.run("zmarchiveconfig", "enable", user("carol"), check=False)
    assert proc.returncode != 0
    assert "service.INVALID_REQUEST" in proc.stderr, proc.stderr
    carol = attrs(z, user("carol"))
    assert carol.get("zimbraArchiveEnabled", ["FALSE"]) == ["FALSE"], carol
    assert "amavisArchiveQuarantineTo" not in carol and "zimbraArchiveAccount" not in carol
    assert z.zmprov("ga", archive_name(user("carol")), check=False).returncode != 0


def test_third_party_archive_and_the_service_flag(z, sink):
    z.run("zmarchiveconfig", "enable", user("dan"), "archive-address", "dan@offsite.test",
          "archive-create", "false")
    assert z.zmprov("ga", "dan@offsite.test", check=False).returncode != 0
    smtp(z, user("dan"), "offsite one")
    assert wait_for(lambda: [m for m in sink.messages if b"offsite one" in m[2]
                             and "dan@offsite.test" in m[1]], 60, 0.5)

    # Idea 11: without `archiving` in zimbraServiceEnabled no copy is made.
    host = hostname(z)
    z.zmprov("ms", host, "-zimbraServiceEnabled", "archiving")
    z.run("zmmtactl", "reload", check=False)
    smtp(z, user("dan"), "offsite two")
    assert wait_for(lambda: [r for _, r in fetch_folder(z, user("dan"))
                             if b"offsite two" in r], 30, 0.5)
    assert not wait_for(lambda: [m for m in sink.messages if b"offsite two" in m[2]], 6, 0.5)
    z.zmprov("ms", host, "+zimbraServiceEnabled", "archiving")
    z.run("zmmtactl", "reload", check=False)
    smtp(z, user("dan"), "offsite three")
    assert wait_for(lambda: [m for m in sink.messages if b"offsite three" in m[2]], 60, 0.5)
