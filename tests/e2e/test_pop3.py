"""POP3 end to end: mail delivered over SMTP is listed, read byte-exact (after our
Received header) and deleted at QUIT with Python's poplib; curl lists it too."""

import poplib
import shutil
import smtplib
import subprocess

import pytest

from zcs import Zcs

USER = "pop1@pop.test"
PASSWORD = "pop-pass-1"
MESSAGES = [f"Subject: pop {i}\r\n\r\nbody {i}\r\n.leading dot\r\n".encode() for i in range(5)]


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-pop3"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", "pop.test")
    z.zmprov("ca", USER, PASSWORD)
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        for m in MESSAGES:
            s.sendmail("x@remote.test", [USER], m)
    yield z
    z.stop()


def strip_trace(data):
    lines = data.split(b"\r\n")
    i = 1
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


def test_curl_lists_the_maildrop(zcs):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    out = subprocess.run(
        ["curl", "-s", "--max-time", "20", f"pop3://127.0.0.1:{zcs.pop3_port}/",
         "-u", f"{USER}:{PASSWORD}"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == len(MESSAGES), out.stdout


def test_poplib_reads_and_drains(zcs):
    p = poplib.POP3("127.0.0.1", zcs.pop3_port, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    assert count == len(MESSAGES)
    uidls = p.uidl()[1]
    assert len(set(u.split()[1] for u in uidls)) == len(MESSAGES)
    for i in range(1, count + 1):
        lines = p.retr(i)[1]
        assert strip_trace(b"\r\n".join(lines) + b"\r\n") == MESSAGES[i - 1]
        p.dele(i)
    p.quit()

    p = poplib.POP3("127.0.0.1", zcs.pop3_port, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 0
    p.quit()


def test_wrong_password_is_refused(zcs):
    p = poplib.POP3("127.0.0.1", zcs.pop3_port, timeout=30)
    p.user(USER)
    with pytest.raises(poplib.error_proto):
        p.pass_("nope")
    p.quit()
