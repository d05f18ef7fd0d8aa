"""Implicit TLS on the IMAP and POP3 ports (RFC 8314) with the self-signed certificate
the server creates at first start, checked by Python's ssl against the home's CA."""

import imaplib
import poplib
import smtplib
import ssl

import pytest

from zcs import Zcs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("tls"))
    zcs.init()
    zcs.zmprov("cd", "example.test")
    zcs.zmprov("ca", "tls@example.test", "tls-secret-1")
    zcs.start()
    yield zcs
    zcs.stop()


def context(zcs):
    ctx = ssl.create_default_context(cafile=str(zcs.ca_file()))
    ctx.check_hostname = True
    return ctx


def test_imaps_verifies_against_the_home_ca_and_logs_in(server):
    with imaplib.IMAP4_SSL("localhost", server.imaps_port, ssl_context=context(server)) as imap:
        assert imap.sock.version() in ("TLSv1.2", "TLSv1.3")
        imap.login("tls@example.test", "tls-secret-1")
        typ, _ = imap.select("INBOX")
        assert typ == "OK"


def test_pop3s_verifies_and_lists(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as smtp:
        smtp.sendmail("a@example.test", ["tls@example.test"],
                      b"Subject: over tls\r\n\r\nhello\r\n")
    pop = poplib.POP3_SSL("localhost", server.pop3s_port, context=context(server))
    try:
        pop.user("tls@example.test")
        pop.pass_("tls-secret-1")
        count, _ = pop.stat()
        assert count >= 1
    finally:
        pop.quit()


def test_a_client_that_does_not_trust_the_ca_is_refused(server):
    ctx = ssl.create_default_context()
    with pytest.raises(ssl.SSLError):
        imaplib.IMAP4_SSL("localhost", server.imaps_port, ssl_context=ctx)


def test_garbage_on_the_tls_port_does_not_stop_the_listener(server):
    import socket
    with socket.create_connection(("127.0.0.1", server.imaps_port)) as s:
        s.sendall(b"A1 LOGIN plain text on a TLS port\r\n")
        s.settimeout(5)
        try:
            s.recv(100)
        except (ConnectionError, socket.timeout):
            pass
    with imaplib.IMAP4_SSL("localhost", server.imaps_port, ssl_context=context(server)) as imap:
        imap.login("tls@example.test", "tls-secret-1")


def test_the_status_file_lists_the_tls_listeners(server):
    out = (server.home / "log" / "zcs.listeners").read_text()
    assert "imaps" in out and "pop3s" in out, out
