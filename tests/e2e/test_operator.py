"""What an operator meets around the mail path: the first `zmcontrol start` on a new
home, private file modes, a moved home, account switches that close IMAP or mail
routing, zmprov's help and blocked values, and zmcontrol's refusal of other hosts."""

import imaplib
import os
import re
import shutil
import smtplib
import stat

import pytest

from zcs import Zcs

DOMAIN = "ops.test"
USER = f"op1@{DOMAIN}"
PASSWORD = "ops-pass-1"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A home started straight with zmcontrol, no separate init."""
    z = Zcs(tmp_path_factory.mktemp("zcs-ops") / "home")
    z.run("zmlocalconfig", "-e", "zcs_bind_address=127.0.0.1")
    # Ports must be set before the first start, so set them through init's entry.
    out = z.run("zcs-server", "init").stdout
    assert re.search(r"password: \S+", out)
    host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    z.zmprov("ms", host, "zimbraSmtpPort", z.smtp_port, "zimbraLmtpBindPort", z.lmtp_port,
             "zimbraImapBindPort", z.imap_port, "zimbraPop3BindPort", z.pop3_port,
             *z.tls_and_http_port_args())
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    yield z
    z.stop()


def test_first_zmcontrol_start_prints_the_admin_password(tmp_path):
    z = Zcs(tmp_path / "first")
    z.env["ZCS_HOME"] = str(z.home)
    # Loopback; this home keeps the default ports, since nothing can be set before
    # the first start that this test is about.
    z.run("zmlocalconfig", "-e", "zcs_bind_address=127.0.0.1")
    proc = z.run("zmcontrol", "start", check=False)
    try:
        if "already in use" in proc.stdout + proc.stderr:
            pytest.skip("a default port (7143, 7025 or 25) is taken on this machine")
        assert "password: " in proc.stdout, proc.stdout + proc.stderr
    finally:
        z.run("zmcontrol", "stop", check=False)
    assert "password" not in z.server_log().lower()


def test_home_is_private(fresh):
    mode = stat.S_IMODE(os.stat(fresh.home).st_mode)
    assert mode & 0o077 == 0, oct(mode)
    for sub in ["db/directory.db", "conf/localconfig.toml", "store", "log"]:
        mode = stat.S_IMODE(os.stat(fresh.home / sub).st_mode)
        assert mode & 0o077 == 0, (sub, oct(mode))


def test_imap_disabled_refuses_login(fresh):
    fresh.zmprov("ma", USER, "zimbraImapEnabled", "FALSE")
    try:
        m = imaplib.IMAP4("127.0.0.1", fresh.imap_port, timeout=30)
        with pytest.raises(imaplib.IMAP4.error):
            m.login(USER, PASSWORD)
        m.logout()
    finally:
        fresh.zmprov("ma", USER, "zimbraImapEnabled", "TRUE")
    m = imaplib.IMAP4("127.0.0.1", fresh.imap_port, timeout=30)
    m.login(USER, PASSWORD)
    m.logout()


def test_mail_status_disabled_is_unknown_to_the_mta(fresh):
    fresh.zmprov("ma", USER, "zimbraMailStatus", "disabled")
    try:
        with smtplib.SMTP("127.0.0.1", fresh.smtp_port, timeout=30) as s:
            s.ehlo("c.test")
            s.mail("x@remote.test")
            code, msg = s.rcpt(USER)
            assert code == 550 and b"5.1.1" in msg
    finally:
        fresh.zmprov("ma", USER, "zimbraMailStatus", "enabled")


def test_account_status_rules_at_rcpt(fresh):
    cases = [("maintenance", 4), ("closed", 5), ("locked", 2), ("active", 2)]
    for status, klass in cases:
        fresh.zmprov("ma", USER, "zimbraAccountStatus", status)
        with smtplib.SMTP("127.0.0.1", fresh.smtp_port, timeout=30) as s:
            s.ehlo("c.test")
            s.mail("x@remote.test")
            code, _ = s.rcpt(USER)
            assert code // 100 == klass, (status, code)


def test_zmprov_help_and_blocked_password(fresh):
    out = fresh.zmprov("help").stdout
    assert "createAccount(ca)" in out
    ga = fresh.zmprov("ga", USER).stdout.splitlines()
    assert "userPassword: VALUE-BLOCKED" in ga
    host = fresh.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    # Server values inherited from global config are shown, as Zimbra shows them.
    gs = fresh.zmprov("gs", host, "zimbraPop3BindPort").stdout.splitlines()
    assert gs[-1].startswith("zimbraPop3BindPort: "), gs


def test_zmcontrol_other_host_is_refused(fresh):
    proc = fresh.run("zmcontrol", "-H", "elsewhere.test", "status", check=False)
    assert proc.returncode != 0
    assert "only this host" in proc.stderr


def test_moved_home_keeps_working(fresh, tmp_path):
    fresh.stop()
    moved = Zcs(tmp_path / "moved")
    moved.smtp_port, moved.lmtp_port, moved.imap_port, moved.pop3_port = \
        fresh.smtp_port, fresh.lmtp_port, fresh.imap_port, fresh.pop3_port
    shutil.copytree(fresh.home, moved.home, symlinks=True)
    try:
        assert USER in moved.zmprov("gaa").stdout.split()
        moved.start()
        m = imaplib.IMAP4("127.0.0.1", moved.imap_port, timeout=30)
        m.login(USER, PASSWORD)
        m.logout()
        moved.stop()
        assert not (moved.home / "log" / "zcs.pid").exists()
    finally:
        moved.run("zmcontrol", "stop", check=False)
        fresh.start()


def _search_until(z, word, want, seconds=20):
    import time
    deadline = time.time() + seconds
    while True:
        m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        m.login(USER, PASSWORD)
        m.select("INBOX")
        hits = m.search(None, "TEXT", word)[1][0].split()
        m.logout()
        if len(hits) >= want or time.time() > deadline:
            return hits
        time.sleep(0.5)


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_index_is_rebuilt_from_the_store(fresh, damage):
    word = f"rebuildword{damage}"
    with smtplib.SMTP("127.0.0.1", fresh.smtp_port, timeout=30) as s:
        s.sendmail("x@remote.test", [USER], f"Subject: r\r\n\r\n{word}\r\n".encode())
    assert len(_search_until(fresh, word, 1)) == 1
    fresh.stop()
    index = fresh.home / "index"
    if damage == "delete":
        shutil.rmtree(index)
    else:
        for f in index.iterdir():
            if f.is_file() and f.suffix in (".idx", ".term", ".store", ".json"):
                f.write_bytes(os.urandom(64))
    fresh.start()
    assert len(_search_until(fresh, word, 1)) == 1
