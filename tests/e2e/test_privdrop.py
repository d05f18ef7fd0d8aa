"""Started as root, the server binds a privileged port, hands its home to zimbra_user and
runs as that user; the tools run as root become that user too, so the files they write
stay the server's. Runs only as root (CI); skips otherwise."""

import imaplib
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from zcs import Zcs

RUN_AS = "zcsrun"
USER = "priv@priv.test"
PASSWORD = "priv-pass-1"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to bind low ports")


def low_free_port():
    for port in range(990, 900, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port below 1024")


@pytest.fixture(scope="module")
def server():
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        if not shutil.which("useradd"):
            pytest.skip("useradd not available")
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", RUN_AS], check=True)
    # A home whose parents the unprivileged user may traverse.
    parent = Path(tempfile.mkdtemp(prefix="zcs-privdrop-", dir="/tmp"))
    home = parent / "home"
    z = Zcs(home)
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.imap_port = low_free_port()
    host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    z.zmprov("ms", host, "zimbraImapBindPort", z.imap_port)
    z.zmprov("cd", "priv.test")
    z.zmprov("ca", USER, PASSWORD)
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
                "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.run("zmlocalconfig", "-e", f"zimbra_user={RUN_AS}")
    # The unprivileged user must be able to reach the home: refused with a clear word.
    refused = z.run("zmcontrol", "start", check=False)
    assert refused.returncode != 0
    assert "cannot enter" in refused.stdout + refused.stderr + z.server_log()
    parent.chmod(0o755)
    z.start()
    yield z
    z.stop()
    shutil.rmtree(home.parent, ignore_errors=True)


@needs_root
def test_the_server_runs_as_the_configured_user(server):
    uid = pwd.getpwnam(RUN_AS).pw_uid
    status = Path(f"/proc/{server.pid()}/status").read_text()
    uids = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1:]
    assert all(int(u) == uid for u in uids), status
    assert (server.home / "db").stat().st_uid == uid


@needs_root
def test_mail_flows_through_a_privileged_port_after_the_drop(server):
    assert server.imap_port < 1024
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as s:
        s.sendmail("a@remote.test", [USER], b"Subject: dropped\r\n\r\nhello\r\n")
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
        typ, data = imap.select("INBOX")
        assert typ == "OK" and int(data[0]) == 1


@needs_root
def test_tools_run_as_root_write_as_the_user(server):
    server.zmprov("ca", "second@priv.test", "second-pass-1")
    uid = pwd.getpwnam(RUN_AS).pw_uid
    owners = {p.stat().st_uid for p in (server.home / "db").iterdir()}
    assert owners == {uid}, owners
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login("second@priv.test", "second-pass-1")


def test_the_shipped_systemd_unit_names_what_the_server_needs():
    unit = (Path(__file__).resolve().parents[2] / "dist" / "zcs.service").read_text()
    for line in ("ExecStart=/usr/local/bin/zcs-server run", "Environment=ZCS_HOME=",
                 "ExecReload=/bin/kill -HUP $MAINPID", "CAP_NET_BIND_SERVICE", "CAP_SETUID"):
        assert line in unit, line
    if shutil.which("systemd-analyze"):
        out = subprocess.run(["systemd-analyze", "verify", "--man=no", "-"], input=unit,
                             text=True, capture_output=True)
        assert "Unknown" not in out.stderr, out.stderr
