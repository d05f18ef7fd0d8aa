"""zcs_worker_threads (local config) sizes the server's async runtime: with one worker
the server still answers SMTP, IMAP and SOAP at once, and a bad value falls back to
the default instead of refusing to start."""

import imaplib
import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "rt.test"
USER = f"rt1@{DOMAIN}"
PASSWORD = "rt-pass-1"


@pytest.mark.parametrize("threads", ["1", "nonsense"])
def test_server_serves_with_the_worker_setting(tmp_path, threads):
    z = Zcs(tmp_path / "home")
    z.init()
    z.run("zmlocalconfig", "-e", f"zcs_worker_threads={threads}")
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    z.start()
    try:
        deadline = time.time() + 60
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
                    s.sendmail("a@remote.test", [USER], "Subject: hello\r\n\r\nbody\r\n")
                break
            except OSError:
                assert time.time() < deadline, "SMTP never came up"
                time.sleep(0.2)
        m = imaplib.IMAP4("127.0.0.1", z.imap_port)
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX")
        assert typ == "OK" and int(data[0]) == 1, data
        m.logout()
        out = z.run("zmmailbox", "-z", "-m", USER, "s", "-t", "message", "hello").stdout
        assert "hello" in out, out
    finally:
        z.run("zmcontrol", "stop", check=False)
