"""zmprov's mailbox commands against the running server (spec/06 §2.11): getMailboxInfo,
getQuotaUsage, reIndexMailbox start/status/cancel, recalculateMailboxCounts and
verifyIndex; and what they say when the account is unknown or no server runs."""

import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "mbcmd.test"
USER = f"m1@{DOMAIN}"
PASSWORD = "mbcmd-pass-1"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zmprov_mailbox"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD, "zimbraMailQuota", "10485760")
    z.start()
    deadline = time.time() + 60
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
                for i in range(30):
                    s.sendmail("a@remote.test", [USER],
                               f"Subject: reindex me {i}\r\n\r\nword{i} body\r\n")
            break
        except OSError:
            assert time.time() < deadline, "SMTP never came up"
            time.sleep(0.2)
    yield z
    z.run("zmcontrol", "stop", check=False)


def test_get_mailbox_info_and_quota_usage(z):
    out = z.zmprov("gmi", USER).stdout
    lines = dict(l.split(": ", 1) for l in out.splitlines())
    assert lines["mailboxId"].isdigit(), out
    assert int(lines["quotaUsed"]) > 0, out
    host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    usage = z.zmprov("gqu", host).stdout.splitlines()
    row = [l.split() for l in usage if l.startswith(USER + " ")]
    assert row and row[0][1] == "10485760" and int(row[0][2]) > 0, usage
    rmc = z.zmprov("rmc", USER).stdout
    assert f"account: {USER}" in rmc and "quotaUsed: " in rmc, rmc


def test_reindex_runs_to_the_end_and_verify_finds_the_index_sound(z):
    assert z.zmprov("rim", USER, "start").stdout.strip().startswith("status: started")
    deadline = time.time() + 60
    while True:
        st = z.zmprov("rim", USER, "status").stdout
        if st.startswith("status: idle"):
            break
        assert st.startswith("status: running") and "numRemaining=" in st, st
        assert time.time() < deadline, st
        time.sleep(0.2)
    assert z.zmprov("rim", USER, "cancel").stdout.strip() == "status: idle"
    vi = z.zmprov("vi", USER)
    assert vi.stdout.startswith("status: true"), vi.stdout
    # Every message is still found after the reindex.
    hits = z.run("zmmailbox", "-z", "-m", USER, "s", "-l", "100", "-t", "message",
                 "reindex").stdout
    assert sum("reindex me" in l for l in hits.splitlines()) == 30, hits


def test_unknown_account_and_bad_action(z):
    bad = z.zmprov("gmi", f"nobody@{DOMAIN}", check=False)
    assert bad.returncode != 0 and "NO_SUCH_ACCOUNT" in bad.stderr, bad.stderr
    usage = z.zmprov("rim", USER, "later", check=False)
    assert usage.returncode != 0 and "reIndexMailbox(rim)" in usage.stderr, usage.stderr


def test_without_a_running_server_they_say_so(tmp_path):
    other = Zcs(tmp_path / "stopped")
    other.init()
    other.zmprov("cd", DOMAIN)
    other.zmprov("ca", USER, PASSWORD)
    out = other.zmprov("gmi", USER, check=False)
    assert out.returncode != 0 and "not running" in out.stderr, out.stderr
