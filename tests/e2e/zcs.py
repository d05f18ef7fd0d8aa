"""Helpers for driving a real zcs server from Python: its binaries, a private home and
free loopback ports. Used by the end-to-end suites under tests/e2e."""

import os
import re
import socket
import subprocess
from pathlib import Path

BIN_DIR = Path(os.environ.get("ZCS_BIN_DIR", Path(__file__).resolve().parents[2] / "target/debug"))
CORPUS = Path(os.environ.get("ZCS_CORPUS", Path(__file__).resolve().parents[3] / "shared/corpus"))


# Every password handed to a server in this test run, and every home, so that the last
# suite (test_zz_logs_hold_no_secrets.py) can check no log of the run holds one.
SECRETS = set()
HOMES = []

# zmprov commands whose second argument is a password.
_PASSWORD_COMMANDS = {"ca", "createaccount", "sp", "setpassword", "ccr",
                      "createcalendarresource"}


_GIVEN = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now and that this run has
    not handed out before: the kernel can give the same ephemeral port to two binds in a
    row once the first socket is closed, and a home's SMTP and LMTP ports then collided."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


class Zcs:
    """One zcs home with its own ports, driven through the real command-line tools."""

    def __init__(self, home):
        self.home = Path(home)
        self.env = dict(os.environ, ZCS_HOME=str(self.home), RUST_LOG="info")
        self.smtp_port = free_port()
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.imaps_port = free_port()
        self.pop3s_port = free_port()
        self.http_port = free_port()
        self.https_port = free_port()
        self.admin_port = free_port()
        self.submission_port = free_port()
        self.smtps_port = free_port()
        self.admin_password = None
        HOMES.append(self.home)

    def run(self, tool, *args, check=True, input=None):
        """Runs one of the zcs binaries; returns the CompletedProcess (text mode)."""
        proc = subprocess.run(
            [str(BIN_DIR / tool), *map(str, args)],
            env=self.env, capture_output=True, text=True, input=input, timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(map(str, args))} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def zmprov(self, *args, **kw):
        if len(args) >= 3 and str(args[0]).lower() in _PASSWORD_COMMANDS and args[2]:
            SECRETS.add(str(args[2]))
        return self.run("zmprov", *args, **kw)

    def init(self):
        """First-start setup, loopback binding and private ports."""
        out = self.run("zcs-server", "init").stdout
        match = re.search(r"password[^:]*:\s*(\S+)", out)
        assert match, f"init printed no admin password:\n{out}"
        self.admin_password = match.group(1)
        SECRETS.add(self.admin_password)
        # No nightly backup in the middle of a test run that happens to cross 01:00.
        self.run("zmschedulebackup", "-F")
        self.run("zmlocalconfig", "-e", "zcs_bind_address=127.0.0.1",
                 f"zcs_smtp_submission_port={self.submission_port}",
                 f"zcs_smtps_port={self.smtps_port}")
        host = self.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
        self.zmprov("ms", host,
                    "zimbraSmtpPort", self.smtp_port,
                    "zimbraLmtpBindPort", self.lmtp_port,
                    "zimbraImapBindPort", self.imap_port,
                    "zimbraPop3BindPort", self.pop3_port,
                    *self.tls_and_http_port_args())
        return out

    def tls_and_http_port_args(self):
        """zmprov ms arguments moving the TLS and HTTP listeners to this home's ports."""
        return ["zimbraImapSSLBindPort", self.imaps_port,
                "zimbraPop3SSLBindPort", self.pop3s_port,
                "zimbraMailPort", self.http_port,
                "zimbraMailSSLPort", self.https_port,
                "zimbraAdminPort", self.admin_port]

    def pid(self):
        """The running server's process id."""
        return int((self.home / "log" / "zcs.pid").read_text().split()[0])

    def start(self):
        self.run("zmcontrol", "start")

    def stop(self):
        self.run("zmcontrol", "stop")

    def status(self):
        return self.run("zmcontrol", "status", check=False)

    def ca_file(self):
        """The CA certificate that signed the server's self-signed certificate."""
        return self.home / "ssl" / "zimbra" / "ca" / "ca.pem"

    def server_log(self):
        path = self.home / "log" / "zcs.out"
        return path.read_text(errors="replace") if path.exists() else ""
