"""The audit log names the client behind a trusted proxy (issue 10): an HTTP proxy's
X-Originating-IP / X-Forwarded-For and Via, an IMAP proxy's ID fields X-ORIGINATING-IP
and X-VIA, and a POP3 proxy's XOIP become the `oip` and `via` context fields of the
login lines. Loopback is a trusted proxy as in Zimbra; other peers are trusted only when
listed in zimbraMailTrustedIP (unit-tested in proxy.rs, since every test client here is
on loopback)."""

import json
import socket
import time
import urllib.request

import pytest

from zcs import Zcs

DOMAIN = "proxy.test"
USER = f"viaproxy@{DOMAIN}"
PASSWORD = "proxy-secret-31"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("proxy"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
               "zimbraPop3CleartextLoginEnabled", "TRUE",
               "zimbraMailTrustedIP", "192.0.2.0/24")
    zcs.zmprov("cd", DOMAIN)
    zcs.zmprov("ca", USER, PASSWORD)
    zcs.start()
    yield zcs
    zcs.stop()


def audit(zcs):
    path = zcs.home / "log" / "audit.log"
    return path.read_text(errors="replace") if path.exists() else ""


def line_with(zcs, *words, timeout=10):
    deadline = time.time() + timeout
    while True:
        for line in audit(zcs).splitlines():
            if all(w in line for w in words):
                return line
        assert time.time() < deadline, f"no audit line with {words}:\n{audit(zcs)[-2000:]}"
        time.sleep(0.2)


def soap_auth(zcs, password, headers):
    doc = {"Header": {"context": {"_jsns": "urn:zimbra"}},
           "Body": {"AuthRequest": {"_jsns": "urn:zimbraAccount",
                                    "account": {"by": "name", "_content": USER},
                                    "password": password}}}
    req = urllib.request.Request(f"http://127.0.0.1:{zcs.http_port}/service/soap",
                                 data=json.dumps(doc).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_soap_login_behind_a_proxy_names_the_client(server):
    assert soap_auth(server, PASSWORD, {"X-Originating-IP": "198.51.100.23",
                                        "Via": "1.1 webmail-proxy",
                                        "User-Agent": "ProxyTest/1.0"}) == 200
    line = line_with(server, "authentication succeeded", "protocol=soap", "oip=198.51.100.23")
    assert "ip=127.0.0.1;" in line and "via=1.1 webmail-proxy;" in line, line
    assert "ua=ProxyTest/1.0;" in line, line
    assert soap_auth(server, "wrong-proxy-pw", {"X-Forwarded-For": "203.0.113.77, 10.0.0.9"}) \
        == 500
    line = line_with(server, "authentication failed", "protocol=soap", "oip=203.0.113.77")
    assert "wrong-proxy-pw" not in audit(server)


def test_failed_logins_behind_a_proxy_count_against_the_client(server):
    """The throttle suspends the client the proxy names, not the proxy: another client
    behind the same proxy still logs in."""
    server.zmprov("mcf", "zimbraInvalidLoginFilterMaxFailedLogin", "2")
    server.zmprov("fc", "config", check=False)
    bad = {"X-Originating-IP": "198.51.100.99"}
    for _ in range(4):
        soap_auth(server, "wrong-again-1", bad)
    assert soap_auth(server, PASSWORD, bad) == 500, "the failing client is not suspended"
    assert soap_auth(server, PASSWORD, {"X-Originating-IP": "198.51.100.50"}) == 200
    assert soap_auth(server, PASSWORD, {}) == 200, "the proxy itself was suspended"
    server.zmprov("mcf", "zimbraInvalidLoginFilterMaxFailedLogin", "10")


def talk(sock, data):
    sock.sendall(data)
    time.sleep(0.2)
    return sock.recv(4096)


def test_imap_id_from_a_proxy_names_the_client(server):
    with socket.create_connection(("127.0.0.1", server.imap_port), timeout=10) as s:
        s.recv(4096)
        reply = talk(s, b'a1 ID ("name" "nginx" "X-ORIGINATING-IP" "198.51.100.31" '
                        b'"X-VIA" "imap-proxy-1")\r\n')
        assert b"a1 OK" in reply
        reply = talk(s, f"a2 LOGIN {USER} {PASSWORD}\r\n".encode())
        assert b"a2 OK" in reply, reply
        talk(s, b"a3 LOGOUT\r\n")
    line = line_with(server, "authentication succeeded", "oip=198.51.100.31")
    assert "via=imap-proxy-1;" in line and "ua=nginx;" in line, line


def test_pop3_xoip_from_a_proxy_names_the_client(server):
    with socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10) as s:
        s.recv(4096)
        assert talk(s, b"XOIP 198.51.100.44\r\n").startswith(b"+OK")
        assert talk(s, b"XOIP not-an-address\r\n").startswith(b"-ERR")
        assert talk(s, f"USER {USER}\r\n".encode()).startswith(b"+OK")
        assert talk(s, f"PASS {PASSWORD}\r\n".encode()).startswith(b"+OK")
        talk(s, b"QUIT\r\n")
    line_with(server, "authentication succeeded", "protocol=pop3", "oip=198.51.100.44")
