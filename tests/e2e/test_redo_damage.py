"""A redo log damaged in the middle stops the mailbox service (spec 04 §1.8, issue 4):
the server refuses to start, leaves the file as it was, keeps a copy and says what to do
(restore, or truncate at the damage and lose what follows). Following the advice, it
starts again with the changes before the damage. A log cut short at its end (a crash
during a write) is not damage: the server starts and drops only the torn record."""

import os
import re
import signal
import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "redo.test"
USER = f"r1@{DOMAIN}"
PASSWORD = "redo-pass-1"


def wait_listening(z, seconds=60):
    import socket
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", z.smtp_port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the SMTP listener never came up")


def deliver(z, count, tag):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        for i in range(count):
            body = (f"From: a@remote.test\r\nTo: {USER}\r\nSubject: {tag} {i}\r\n\r\n"
                    f"body {tag} {i}\r\n")
            s.sendmail("a@remote.test", [USER], body)


def kill_9(z):
    pid = z.pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("the server did not die")


def redo_log(z):
    return z.home / "redolog" / "redo.log"


@pytest.fixture()
def server(tmp_path):
    z = Zcs(tmp_path / "home")
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    z.start()
    wait_listening(z)
    yield z
    z.run("zmcontrol", "stop", check=False)


def start_outcome(z):
    """Starts the server; returns (started, everything it said)."""
    proc = z.run("zmcontrol", "start", check=False)
    said = proc.stdout + proc.stderr + z.server_log()
    if proc.returncode != 0:
        return False, said
    # zmcontrol may return before the store is open: a refusal ends the process.
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(z.pid(), 0)
        except (ProcessLookupError, FileNotFoundError, ValueError):
            return False, said + z.server_log()
        try:
            import socket
            socket.create_connection(("127.0.0.1", z.smtp_port), timeout=1).close()
            return True, said
        except OSError:
            time.sleep(0.2)
    return False, said + z.server_log()


def test_damage_in_the_middle_refuses_to_start_and_names_the_way_out(server):
    z = server
    deliver(z, 40, "before")
    kill_9(z)
    log = redo_log(z)
    size = log.stat().st_size
    assert size > 4096, f"redo log too small to damage in the middle: {size}"
    data = bytearray(log.read_bytes())
    at = size // 3
    data[at] ^= 0xFF
    log.write_bytes(bytes(data))

    started, said = start_outcome(z)
    assert not started, "the server started on a redo log damaged in the middle"
    assert "damaged at byte" in said, said[-3000:]
    assert "zmrestoreoffline" in said and "truncate -s" in said, said[-3000:]
    assert log.read_bytes() == bytes(data), "the damaged log was changed"

    # Following the advice: cut at the offset named, then the server starts.
    m = re.search(r"truncate -s (\d+) (\S+)", said)
    assert m, said[-3000:]
    offset = int(m.group(1))
    assert offset <= at, (offset, at)
    os.truncate(m.group(2).rstrip("`.,"), offset)
    started, said = start_outcome(z)
    assert started, said[-3000:]


def test_torn_tail_is_cut_and_the_server_starts(server):
    z = server
    deliver(z, 10, "tail")
    kill_9(z)
    log = redo_log(z)
    size = log.stat().st_size
    # A record cut short by the crash: drop the last few bytes of the file.
    os.truncate(log, size - 3)
    started, said = start_outcome(z)
    assert started, said[-3000:]
