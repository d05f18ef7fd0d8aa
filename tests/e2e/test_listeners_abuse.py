"""Every listener of a running server meets garbage, truncated commands, a 10 MB line
without a line end and abrupt disconnects, and must answer with a protocol error or a
closed connection, then go on serving the next client normally."""

import imaplib
import os
import smtplib
import socket
import time

import pytest

from zcs import Zcs

USER = "abuse@abuse.test"
PASSWORD = "abuse-pass-1"


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-abuse"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", "abuse.test")
    z.zmprov("ca", USER, PASSWORD)
    yield z
    z.stop()


def ports(z):
    return {"smtp": z.smtp_port, "lmtp": z.lmtp_port, "imap": z.imap_port}


def read_some(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    except (socket.timeout, ConnectionError):
        return b""


def still_serves(z):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        assert s.noop()[0] == 250
    lmtp = smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=30)
    assert lmtp.noop()[0] == 250
    lmtp.quit()
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    m.login(USER, PASSWORD)
    m.select("INBOX")
    m.logout()


@pytest.mark.parametrize("proto", ["smtp", "lmtp", "imap"])
def test_garbage_gets_an_error(zcs, proto):
    with socket.create_connection(("127.0.0.1", ports(zcs)[proto]), timeout=10) as s:
        read_some(s)
        s.sendall(os.urandom(4096).replace(b"\n", b" ") + b"\r\n")
        s.sendall(b"\x00\xff\xfe garbage \x01\r\n")
        reply = read_some(s)
        # An error reply (SMTP 5xx, IMAP BAD) or a closed connection; never success.
        assert reply == b"" or reply[:1] == b"5" or b"BAD" in reply or b"BYE" in reply, reply
    still_serves(zcs)


@pytest.mark.parametrize("proto", ["smtp", "lmtp", "imap"])
def test_ten_megabyte_line(zcs, proto):
    with socket.create_connection(("127.0.0.1", ports(zcs)[proto]), timeout=30) as s:
        read_some(s)
        chunk = b"A" * 65536
        try:
            for _ in range(160):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closing on an over-long line is an allowed answer
        # While that connection holds its line, another client is served.
        still_serves(zcs)
        try:
            s.sendall(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = read_some(s)
        assert reply == b"" or b"too long" in reply.lower() or b"BAD" in reply \
            or reply[:1] == b"5", reply[:200]
    still_serves(zcs)


@pytest.mark.parametrize("proto", ["smtp", "lmtp", "imap"])
def test_truncated_commands_and_abrupt_disconnects(zcs, proto):
    partial = {
        "smtp": [b"EHL", b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<" + USER.encode(),
                 b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<" + USER.encode() +
                 b">\r\nDATA\r\nSubject: cut\r\n\r\nhalf a messa"],
        "lmtp": [b"LHL", b"LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<" + USER.encode() +
                 b">\r\nDATA\r\nSubject: cut\r\n\r\nhalf a messa"],
        "imap": [b"a1 LOG", b"a1 LOGIN " + USER.encode() + b" {100}\r\nabc",
                 b"a1 LOGIN " + USER.encode() + b" " + PASSWORD.encode() +
                 b"\r\na2 SELECT INBOX\r\na3 FETCH 1:* (BODY[]"],
    }[proto]
    for data in partial * 5:
        s = socket.create_connection(("127.0.0.1", ports(zcs)[proto]), timeout=10)
        read_some(s, 2)
        s.sendall(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST, mid-command
    time.sleep(0.5)
    still_serves(zcs)


def test_cut_delivery_delivers_nothing(zcs):
    m = imaplib.IMAP4("127.0.0.1", zcs.imap_port, timeout=30)
    m.login(USER, PASSWORD)
    typ, data = m.select("INBOX")
    before = int(data[0])
    m.logout()
    s = socket.create_connection(("127.0.0.1", zcs.smtp_port), timeout=10)
    read_some(s)
    s.sendall(b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<" + USER.encode() +
              b">\r\nDATA\r\nSubject: cut\r\n\r\nno end marker")
    read_some(s, 2)
    s.close()
    time.sleep(0.5)
    m = imaplib.IMAP4("127.0.0.1", zcs.imap_port, timeout=30)
    m.login(USER, PASSWORD)
    typ, data = m.select("INBOX")
    assert int(data[0]) == before
    m.logout()


def test_wrong_passwords_and_unknown_users(zcs):
    for user, password in [(USER, "wrong"), ("nobody@abuse.test", PASSWORD), ("", "")]:
        m = imaplib.IMAP4("127.0.0.1", zcs.imap_port, timeout=30)
        with pytest.raises(imaplib.IMAP4.error) as err:
            m.login(user or '""', password or '""')
        assert "AUTHENTICATIONFAILED" in str(err.value) or "failed" in str(err.value).lower()
        m.logout()
    still_serves(zcs)


def test_no_large_literal_before_login(zcs):
    """An APPEND before LOGIN must not get a continuation for a big literal: the server
    would otherwise buffer up to the APPEND limit for an unauthenticated client."""
    with socket.create_connection(("127.0.0.1", zcs.imap_port), timeout=10) as s:
        read_some(s)
        s.sendall(b"a1 APPEND INBOX {52428800}\r\n")
        reply = read_some(s)
        assert not reply.startswith(b"+"), reply
        assert b"a1 BAD" in reply or b"a1 NO" in reply, reply
    still_serves(zcs)


def test_soap_bodies_over_zimbras_request_limit_are_refused_at_once(zcs):
    """zimbraSoapRequestMaxSize (15,360,000 bytes): a larger announced SOAP body gets 413
    before any of it is sent, while the same size is still fine for an upload."""
    for path, want in (("/service/soap", b"HTTP/1.1 413"), ("/service/upload", None)):
        s = socket.create_connection(("127.0.0.1", zcs.http_port), timeout=10)
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: 16000000\r\n\r\n".encode())
        reply = read_some(s, timeout=3)
        s.close()
        if want:
            assert reply.startswith(want), reply[:200]
        else:
            # The upload waits for its body: no refusal before it is sent.
            assert not reply.startswith(b"HTTP/1.1 413"), reply[:200]
    still_serves(zcs)
