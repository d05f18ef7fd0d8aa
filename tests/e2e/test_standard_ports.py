"""The operator's night check (issue 10): started as root on the standard ports, every
listener offers TLS with the generated certificate, a domain's own certificate is chosen
by SNI, the process runs as the unprivileged user, and zmcontrol stop ends it within the
bound with no acknowledged mail lost. Root only, and only when the ports are free."""

import imaplib
import os
import poplib
import pwd
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from zcs import Zcs

RUN_AS = "zcsrun"
DOMAIN = "std.test"
USER = f"std@{DOMAIN}"
PASSWORD = "std-pass-1"
PORTS = {"smtp": 25, "submission": 587, "smtps": 465, "imap": 143, "imaps": 993,
         "pop3": 110, "pop3s": 995, "https": 443, "admin": 7071}

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("openssl"),
                                reason="needs root (low ports) and openssl")


def port_free(port):
    with socket.socket() as s:
        # As the server binds: TIME_WAIT left by earlier clients does not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def server():
    busy = [p for p in PORTS.values() if not port_free(p)]
    if busy:
        pytest.skip(f"standard ports in use here: {busy}")
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", RUN_AS], check=True)
    parent = Path(tempfile.mkdtemp(prefix="zcs-std-", dir="/tmp"))
    parent.chmod(0o755)
    z = Zcs(parent / "home")
    z.smtp_port, z.imap_port, z.pop3_port = PORTS["smtp"], PORTS["imap"], PORTS["pop3"]
    z.imaps_port, z.pop3s_port = PORTS["imaps"], PORTS["pop3s"]
    z.https_port, z.admin_port = PORTS["https"], PORTS["admin"]
    z.submission_port, z.smtps_port = PORTS["submission"], PORTS["smtps"]
    z.init()
    z.run("zmlocalconfig", "-e", f"zimbra_user={RUN_AS}")
    # A domain with its own certificate, from a CA made here, for SNI.
    work = parent / "sni"
    work.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=SNI Test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=work)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mail.std.test",
            "-keyout", "leaf.key", "-out", "leaf.csr", cwd=work)
    (work / "ext.cnf").write_text("subjectAltName=DNS:mail.std.test\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "leaf.crt", cwd=work)
    z.zmprov("cd", DOMAIN, "zimbraVirtualHostName", "mail.std.test",
             "zimbraSSLCertificate", (work / "leaf.crt").read_text(),
             "zimbraSSLPrivateKey", (work / "leaf.key").read_text())
    z.zmprov("ca", USER, PASSWORD)
    z.sni_ca = work / "ca.crt"
    z.start()
    yield z
    z.stop()
    shutil.rmtree(parent, ignore_errors=True)


def ctx(cafile):
    return ssl.create_default_context(cafile=str(cafile))


def test_every_listener_offers_tls_with_the_generated_certificate(server):
    c = ctx(server.ca_file())
    with smtplib.SMTP("localhost", PORTS["smtp"], timeout=10) as s:
        s.starttls(context=c)
        assert s.ehlo()[0] == 250
    with smtplib.SMTP("localhost", PORTS["submission"], timeout=10) as s:
        s.starttls(context=c)
        s.ehlo()
        assert s.has_extn("auth"), s.esmtp_features
        s.login(USER, PASSWORD)
    with smtplib.SMTP_SSL("localhost", PORTS["smtps"], context=c, timeout=10) as s:
        assert s.ehlo()[0] == 250
    with imaplib.IMAP4("localhost", PORTS["imap"]) as m:
        m.starttls(ssl_context=c)
        m.login(USER, PASSWORD)
    with imaplib.IMAP4_SSL("localhost", PORTS["imaps"], ssl_context=c) as m:
        m.login(USER, PASSWORD)
    p = poplib.POP3("localhost", PORTS["pop3"], timeout=10)
    p.stls(context=c)
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()
    p = poplib.POP3_SSL("localhost", PORTS["pop3s"], context=c, timeout=10)
    p.quit()
    for port in (PORTS["https"], PORTS["admin"]):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with c.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_a_domain_certificate_is_chosen_by_sni(server):
    for port in (PORTS["imaps"], PORTS["https"]):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx(server.sni_ca).wrap_socket(raw, server_hostname="mail.std.test") as tls:
                issuer = dict(x[0] for x in tls.getpeercert()["issuer"])
                assert issuer["commonName"] == "SNI Test CA"


def test_the_server_runs_as_the_unprivileged_user(server):
    uid = pwd.getpwnam(RUN_AS).pw_uid
    status = Path(f"/proc/{server.pid()}/status").read_text()
    uids = next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1:]
    assert all(int(u) == uid for u in uids)


def test_stop_is_bounded_and_loses_no_acknowledged_mail(server):
    acknowledged = 0
    with smtplib.SMTP("localhost", PORTS["smtp"], timeout=30) as s:
        for n in range(30):
            s.sendmail("a@remote.test", [USER], f"Subject: n{n}\r\n\r\nbody {n}\r\n".encode())
            acknowledged += 1
    started = time.time()
    server.stop()
    assert time.time() - started < 30
    server.start()
    with imaplib.IMAP4_SSL("localhost", PORTS["imaps"], ssl_context=ctx(server.ca_file())) as m:
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX")
        assert int(data[0]) == acknowledged
