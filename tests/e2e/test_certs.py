"""zmcertmgr against a running server: view and verify the self-signed certificate, then
the commercial flow (CSR, signed by a CA made here with openssl, deployed) taking effect
on the TLS ports without a restart, and back to self-signed."""

import imaplib
import shutil
import ssl
import subprocess
import time

import pytest

from zcs import Zcs

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("certs"))
    zcs.init()
    zcs.start()
    yield zcs
    zcs.stop()


def issuer_seen(port, cafile):
    ctx = ssl.create_default_context(cafile=str(cafile))
    with imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx) as imap:
        cert = imap.sock.getpeercert()
    return dict(x[0] for x in cert["issuer"])


def test_view_verify_and_expiry_of_the_self_signed_certificate(server):
    out = server.run("zmcertmgr", "viewdeployedcrt").stdout
    assert "notAfter=" in out and "SubjectAltName=" in out and "127.0.0.1" in out
    out = server.run("zmcertmgr", "verifycrt", "self").stdout
    assert "match" in out
    assert server.run("zmcertmgr", "checkcrtexpiration", "-days", "30").returncode == 0
    bad = server.run("zmcertmgr", "checkcrtexpiration", "-days", "4000", check=False)
    assert bad.returncode == 1 and "expire" in bad.stdout


def test_commercial_certificate_is_deployed_without_restart(server, tmp_path):
    csr_out = server.run("zmcertmgr", "createcsr", "comm", "-subject",
                         "/C=US/O=Example/CN=localhost").stdout
    assert "BEGIN CERTIFICATE REQUEST" in csr_out
    csr = tmp_path / "req.csr"
    csr.write_text(csr_out[csr_out.index("-----BEGIN"):])
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=Test Commercial CA", "-keyout", ca_key, "-out", ca_crt],
                   check=True, capture_output=True)
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    leaf = tmp_path / "leaf.crt"
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", leaf],
                   check=True, capture_output=True)

    # A chain that did not sign the leaf is refused and changes nothing.
    wrong = server.run("zmcertmgr", "deploycrt", "comm", leaf, server.ca_file(), check=False)
    assert wrong.returncode != 0
    assert issuer_seen(server.imaps_port, server.ca_file())["commonName"].startswith("zcs CA")

    out = server.run("zmcertmgr", "deploycrt", "comm", leaf, ca_crt).stdout
    assert "Test Commercial CA" in out
    deadline = time.time() + 20
    while True:
        try:
            if issuer_seen(server.imaps_port, ca_crt)["commonName"] == "Test Commercial CA":
                break
        except ssl.SSLError:
            pass
        assert time.time() < deadline, "new certificate not served within 20 s"
        time.sleep(0.5)

    server.run("zmcertmgr", "deploycrt", "self")
    deadline = time.time() + 20
    while True:
        try:
            issuer_seen(server.imaps_port, server.ca_file())
            break
        except ssl.SSLError:
            assert time.time() < deadline, "self-signed certificate not back within 20 s"
            time.sleep(0.5)
