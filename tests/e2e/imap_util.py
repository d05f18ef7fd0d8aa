"""Helpers for the IMAP/POP3 end-to-end suites (test_imap_*.py, test_pop3_*.py): a
started home with one account, TLS contexts against the home's CA, fast bulk delivery
over LMTP, and a MULTIAPPEND over a raw socket."""

import smtplib
import socket
import ssl
import time

from zcs import Zcs

DOMAIN = "imapx.test"
USER = f"mirror@{DOMAIN}"
PASSWORD = "mirror-secret-1"


def start_home(tmp_path_factory, name, cleartext=False):
    """A started zcs home with USER; cleartext login stays at Zimbra's default (FALSE)
    unless `cleartext`."""
    z = Zcs(tmp_path_factory.mktemp(name))
    z.init()
    if cleartext:
        z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
                 "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    return z


def tls_context(z):
    """Verifies the server against the home's CA, host name included ("localhost")."""
    ctx = ssl.create_default_context(cafile=str(z.ca_file()))
    ctx.check_hostname = True
    return ctx


def message(i, subject=None, extra=""):
    subject = subject or f"bulk message {i}"
    return (f"From: Sender {i} <sender{i}@remote.test>\r\nTo: {USER}\r\n"
            f"Subject: {subject}\r\nMessage-ID: <bulk-{i}@remote.test>\r\n"
            f"Date: Mon, 2 Jan 2023 09:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n{extra}\r\n"
            f"body of message {i}\r\n").encode()


def deliver_lmtp(z, messages):
    """Delivers each message in its own LMTP transaction on one connection."""
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=120) as lmtp:
        for data in messages:
            lmtp.sendmail("bulk@remote.test", [USER], data)


def wait_for(predicate, timeout=20.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def raw_multiappend(z, mailbox, messages):
    """One APPEND with several LITERAL+ messages (RFC 3502) over implicit TLS; returns
    the tagged reply line."""
    ctx = tls_context(z)
    with socket.create_connection(("127.0.0.1", z.imaps_port), timeout=60) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(f'a LOGIN "{USER}" "{PASSWORD}"\r\n'.encode())
            while not f.readline().startswith(b"a "):
                pass
            out = f"b APPEND {mailbox}".encode()
            for data in messages:
                out += b" {%d+}\r\n" % len(data) + data
            s.sendall(out + b"\r\n")
            while True:
                line = f.readline()
                if line.startswith(b"b "):
                    return line.decode().strip()
