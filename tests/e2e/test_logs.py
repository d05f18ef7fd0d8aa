"""The operator's logs: mailbox.log in Zimbra's line layout, audit.log with the logins
and their failures (client text escaped, passwords never written), and log levels
changed at run time with zmlocalconfig and SIGHUP."""

import imaplib
import os
import re
import signal
import time

import pytest

from zcs import Zcs

DOMAIN = "logs.test"
USER = f"logger@{DOMAIN}"
PASSWORD = "log-secret-77"
OTHER = f"other@{DOMAIN}"

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (ERROR|WARN |INFO |DEBUG|TRACE) "
                  r"\[[^\]]*\] \[[^\]]*\] \w+ - ")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("logs"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    zcs.zmprov("cd", DOMAIN)
    zcs.zmprov("ca", USER, PASSWORD)
    zcs.zmprov("ca", OTHER, PASSWORD)
    zcs.env.pop("RUST_LOG", None)
    zcs.run("zmlocalconfig", "-e", "zmstat_interval=1")
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
                  "zimbraPop3CleartextLoginEnabled", "TRUE")
    zcs.start()
    yield zcs
    zcs.stop()


def read(zcs, name):
    path = zcs.home / "log" / name
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for(predicate, what):
    deadline = time.time() + 10
    while not predicate():
        assert time.time() < deadline, what
        time.sleep(0.2)


def test_mailbox_log_lines_have_zimbra_layout(server):
    text = read(server, "mailbox.log")
    lines = [l for l in text.splitlines() if l]
    assert lines, "mailbox.log is empty"
    bad = [l for l in lines if not LINE.match(l)]
    assert not bad, bad[:3]


def test_a_literal_login_name_cannot_forge_a_log_line(server):
    import socket
    with socket.create_connection(("127.0.0.1", server.imap_port)) as s:
        s.settimeout(5)
        s.recv(1000)
        name = b"x\r\n2026-01-01 00:00:00,000 INFO  [forged] [] security - authentication succeeded"
        s.sendall(b"a1 LOGIN {%d+}\r\n" % len(name) + name + b" wrong\r\n")
        s.recv(1000)
    wait_for(lambda: "[forged]" in read(server, "audit.log"), "no audit line for the literal")
    for line in read(server, "audit.log").splitlines():
        if "[forged]" in line:
            assert LINE.match(line) and "authentication failed" in line, line
            assert not line.startswith("2026-01-01"), line


def test_logins_reach_the_audit_log_without_passwords(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("nobody@logs.test", "wrong-pass-123")
    imap.logout()
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
    wait_for(lambda: "authentication succeeded" in read(server, "audit.log"), "no audit line")
    audit = read(server, "audit.log")
    assert "authentication failed" in audit
    assert "account=nobody@logs.test" in audit, audit
    assert f"account={USER}" in audit
    # SOAP logins leave the same trail.
    from soap_util import json_request
    url = f"http://127.0.0.1:{server.http_port}/service/soap"
    for password, want in (("soap-wrong-456", 500), (PASSWORD, 200)):
        status, _ = json_request(url, "AuthRequest", "urn:zimbraAccount",
                                 {"account": {"by": "name", "_content": USER},
                                  "password": password})
        assert status == want
    wait_for(lambda: "protocol=soap" in read(server, "audit.log"), "no SOAP audit line")
    soap_lines = [l for l in read(server, "audit.log").splitlines() if "protocol=soap" in l]
    assert any("authentication failed" in l for l in soap_lines), soap_lines
    wait_for(lambda: any("authentication succeeded" in l for l in read(server, "audit.log")
                         .splitlines() if "protocol=soap" in l), "no SOAP success line")
    for name in ("audit.log", "mailbox.log", "zcs.out"):
        text = read(server, name)
        assert PASSWORD not in text and "wrong-pass-123" not in text, name
        assert "soap-wrong-456" not in text, name


def test_sighup_applies_new_log_levels(server):
    assert " DEBUG " not in read(server, "mailbox.log")
    server.run("zmlocalconfig", "-e", "zcs_log_level=debug")
    os.kill(server.pid(), signal.SIGHUP)
    wait_for(lambda: "log levels reloaded" in read(server, "mailbox.log"), "no reload line")
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
    wait_for(lambda: " DEBUG " in read(server, "mailbox.log"), "no DEBUG line after reload")
    server.run("zmlocalconfig", "-e", "zcs_log_level=info")
    os.kill(server.pid(), signal.SIGHUP)


def test_zmstat_csv_files_count_logins(server):
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
    csv = server.home / "log" / "zmstat" / "mailboxd.csv"

    def counted():
        if not csv.exists():
            return False
        header, *rows = csv.read_text().splitlines()
        if not rows:
            return False
        cols = [c.strip() for c in header.split(",")]
        last = [c.strip() for c in rows[-1].split(",")]
        return int(last[cols.index("imap_logins")]) >= 1
    wait_for(counted, "mailboxd.csv never counted the IMAP login")
    for name in ("proc.csv", "mtaqueue.csv"):
        assert (server.home / "log" / "zmstat" / name).read_text().startswith("timestamp")


def test_admin_changes_made_with_zmprov_reach_the_audit_log(server):
    server.zmprov("ma", USER, "displayName", "Audited User")
    server.zmprov("sp", USER, PASSWORD)
    server.zmprov("ga", USER)
    failed = server.zmprov("ma", "nobody@logs.test", "displayName", "x", check=False)
    assert failed.returncode != 0
    audit = read(server, "audit.log")
    assert "admin change cmd=modifyAccount" in audit and f"name={USER}" in audit, audit
    assert "cmd=setPassword" in audit
    assert "cmd=getAccount" not in audit
    assert "result=account.NO_SUCH_ACCOUNT" in audit
    assert PASSWORD not in audit
    # zmprov's own output carries no log lines.
    out = server.zmprov("ma", USER, "displayName", "Quiet")
    assert out.stdout == "" and out.stderr == ""


def test_an_account_logger_raises_one_accounts_lines_only(server):
    server.zmprov("aal", USER, "zimbra.imap", "debug")
    assert server.zmprov("gal", USER).stdout == "zimbra.imap=debug\n"
    assert server.zmprov("gaal").stdout == f"{USER}=zimbra.imap=debug\n"
    wait_for(lambda: "account_loggers=1" in read(server, "mailbox.log"), "logger not applied")
    for who in (USER, OTHER):
        with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
            imap.login(who, PASSWORD)
            imap.select("INBOX")
            imap.noop()
    wait_for(lambda: f"name={USER};" in read(server, "mailbox.log")
             and " DEBUG " in read(server, "mailbox.log"), "no raised line for the account")
    debug = [l for l in read(server, "mailbox.log").splitlines() if " DEBUG " in l]
    assert any(f"name={USER};" in l and "ImapServer" in l for l in debug), debug[-5:]
    assert not any(f"name={OTHER};" in l for l in debug), [l for l in debug if OTHER in l][:3]
    server.zmprov("rlog")
    assert server.zmprov("gaal").stdout == ""
    bad = server.zmprov("aal", USER, "zimbra.nonsense", "debug", check=False)
    assert bad.returncode != 0 and "unknown log category" in bad.stderr


def test_login_delivery_admin_change_and_failed_login_lines_have_the_layout(server):
    """The four events the operations issue names, each found and checked against the
    guide's layout: time, level, [thread], [context fields], category - message."""
    import smtplib
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(OTHER, PASSWORD)
    with pytest.raises(imaplib.IMAP4.error):
        with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
            imap.login(OTHER, "wrong-four-lines-5")
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as s:
        s.sendmail("far@remote.test", [OTHER], b"Subject: layout\r\n\r\nhello\r\n")
    server.zmprov("ma", OTHER, "description", "layout check")

    def find(log, *words):
        return next((l for l in read(server, log).splitlines()
                     if all(w in l for w in words)), "")
    checks = {
        "login": ("audit.log", "authentication succeeded", f"account={OTHER}"),
        "failed login": ("audit.log", "authentication failed", f"account={OTHER}"),
        "delivery": ("mailbox.log", " - delivered", f"account={OTHER}"),
        "admin change": ("audit.log", "admin change cmd=modifyAccount", f"name={OTHER}"),
    }
    wait_for(lambda: all(find(*c) for c in checks.values()), "an event left no line")
    for what, c in checks.items():
        line = find(*c)
        assert LINE.match(line), f"{what}: {line}"
    assert f"[name={OTHER};ip=127.0.0.1;]" in find(*checks["login"]), find(*checks["login"])
    assert "ip=127.0.0.1;]" in find(*checks["failed login"])
    assert "via=zmprov;" in find(*checks["admin change"])
    for name in ("audit.log", "mailbox.log"):
        assert "wrong-four-lines-5" not in read(server, name)
