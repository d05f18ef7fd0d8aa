"""Spec 01 §6 idea 18: `zmprov desc -a zimbraImapBindPort` says the attribute needs a
restart; changing the port and flushing every cache leaves the IMAP listener where it
was, and a restart moves it."""

import socket
import time

from zcs import Zcs, free_port


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(port, want, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if listening(port) == want:
            return True
        time.sleep(0.2)
    return listening(port) == want


def test_imap_port_moves_at_restart_not_at_flush(tmp_path):
    z = Zcs(tmp_path / "home")
    z.init()
    z.start()
    try:
        desc = z.zmprov("desc", "-a", "zimbraImapBindPort").stdout
        assert "requiresRestart" in desc, desc
        old, new = z.imap_port, free_port()
        assert wait_listening(old, True), "IMAP listens on its first port"
        host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
        z.zmprov("ms", host, "zimbraImapBindPort", new)
        z.zmprov("fc", "all")
        time.sleep(2)
        assert listening(old) and not listening(new), "a flush does not move the listener"
        z.stop()
        z.start()
        assert wait_listening(new, True), "after the restart IMAP listens on the new port"
        assert not listening(old)
    finally:
        z.stop()
