"""One client address flooding the IMAP and POP3 listeners with idle connections
cannot lock out another address, and idle unauthenticated connections end soon
(zcs_imap_max_connections_per_ip / zcs_pop3_max_connections_per_ip and Zimbra's
imap_max_idle_time / pop3_max_idle_time)."""

import socket
import time

import pytest

from imap_util import DOMAIN, PASSWORD, USER
from zcs import Zcs


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = Zcs(tmp_path_factory.mktemp("imap-flood"))
    home.init()
    home.run("zmlocalconfig", "-e", "zcs_imap_max_connections_per_ip=5",
             "zcs_pop3_max_connections_per_ip=5", "imap_max_idle_time=3",
             "pop3_max_idle_time=3")
    home.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
                "zimbraPop3CleartextLoginEnabled", "TRUE")
    home.start()
    home.zmprov("cd", DOMAIN)
    home.zmprov("ca", USER, PASSWORD)
    yield home
    home.stop()


def connect(port, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(source, 0))
    return s, s.makefile("rb")


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_flooding_address_cannot_lock_out_another(z, proto):
    port = z.imap_port if proto == "imap" else z.pop3_port
    ok = b"* OK" if proto == "imap" else b"+OK"
    flood = []
    for _ in range(5):
        s, f = connect(port)
        assert f.readline().startswith(ok)
        flood.append((s, f))
    s, f = connect(port)
    assert f.readline().startswith(b"* BYE" if proto == "imap" else b"-ERR")
    s.close()
    other, of = connect(port, "127.0.0.2")
    assert of.readline().startswith(ok)
    if proto == "imap":
        other.sendall(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        assert of.readline().startswith(b"a OK")
    else:
        other.sendall(f"USER {USER}\r\n".encode())
        assert of.readline().startswith(b"+OK")
        other.sendall(f"PASS {PASSWORD}\r\n".encode())
        assert of.readline().startswith(b"+OK")
    # Idle before login: dropped after imap_max_idle_time / pop3_max_idle_time.
    started = time.monotonic()
    for s, f in flood:
        line = f.readline()
        assert b"autologout" in line.lower(), line
        assert f.readline() == b""
        s.close()
    assert time.monotonic() - started < 9
    # The logged-in session outlived it.
    other.sendall(b"n NOOP\r\n" if proto == "imap" else b"NOOP\r\n")
    assert of.readline().startswith(b"n OK" if proto == "imap" else b"+OK")
    other.close()
