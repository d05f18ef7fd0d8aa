"""The store's crash test (issue 4, Done when): kill -9 the running server again and again
while four LMTP connections deliver real corpus messages (10-100 KiB, some to several
recipients at once); after each restart every message that got a 250 for a recipient is
in that recipient's Inbox, byte for byte, exactly once. At the end, with the server
stopped, zmblobchk's sweep removes what the crashes left between a blob write and its
redo record, and the check then finds every blob referenced and every item's blob
present. Bounded: a few rounds of a few seconds each."""

import imaplib
import os
import random
import re
import signal
import socket
import threading
import time

import pytest

from zcs import CORPUS, Zcs

DOMAIN = "crash.test"
USERS = [f"crash{i}@{DOMAIN}" for i in range(3)]
PASSWORD = "crash-pass-1"
ROUNDS = 4
WORKERS = 4


def corpus_messages(limit=80):
    """Corpus messages of 10-100 KiB, with CRLF line ends, smallest first."""
    found = []
    for root, _, files in os.walk(CORPUS / "zimbra-qa"):
        for name in files:
            path = os.path.join(root, name)
            size = os.path.getsize(path)
            if 10 * 1024 <= size <= 100 * 1024 and not name.endswith((".tgz", ".zip")):
                found.append((size, path))
    found.sort()
    out = []
    for _, path in found:
        raw = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        # Mail only: a header first, a blank line after the header; ending with CRLF
        # as it travels (DATA's end adds one otherwise).
        if not re.match(rb"[A-Za-z][A-Za-z0-9-]*:", raw) or b"\r\n\r\n" not in raw:
            continue
        if not raw.endswith(b"\r\n"):
            raw += b"\r\n"
        raw = without_message_id(raw)
        if raw in out:
            continue
        out.append(raw)
        if len(out) == limit:
            break
    return out


def without_message_id(raw):
    """The message with its Message-ID header (and its folded lines) left out."""
    head, body = raw.split(b"\r\n\r\n", 1)
    kept, skipping = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"message-id:")
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


class Lmtp:
    """A minimal LMTP client (RFC 2033): one reply per recipient after DATA."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")
        self.reply()
        self.cmd(b"LHLO crash.test")

    def reply(self):
        """Reads one (possibly multi-line) reply; returns its code."""
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line[3:4] != b"-":
                return int(line[:3])

    def cmd(self, line):
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def deliver(self, rcpts, data):
        """Sends one message; returns the recipients that got a 250 for it."""
        if self.cmd(b"MAIL FROM:<load@remote.test>") != 250:
            raise ConnectionError("MAIL refused")
        accepted = [r for r in rcpts if self.cmd(b"RCPT TO:<" + r.encode() + b">") == 250]
        if not accepted:
            return []
        if self.cmd(b"DATA") != 354:
            raise ConnectionError("DATA refused")
        lines = data.split(b"\r\n")
        if lines and lines[-1] == b"":
            lines.pop()
        stuffed = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)
        self.sock.sendall(stuffed + b"\r\n.\r\n")
        return [r for r in accepted if self.reply() == 250]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Load:
    """Worker threads delivering numbered messages until stopped, recording every
    (number, recipient) that got a 250."""

    def __init__(self, z, corpus):
        self.z = z
        self.corpus = corpus
        self.sent = {}
        self.acked = set()
        self.lock = threading.Lock()
        self.next = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.work, daemon=True)
                        for _ in range(WORKERS)]

    def message(self):
        with self.lock:
            n = self.next
            self.next += 1
        # A Message-ID of its own: delivery drops a second copy of a Message-ID (with
        # a 250), and the corpus is sent round and round.
        raw = (b"X-Crash-Id: %d\r\nMessage-ID: <crash-%d@crash.test>\r\n" % (n, n)
               + self.corpus[n % len(self.corpus)])
        rcpts = [USERS[n % 3]] + ([USERS[(n + 1) % 3]] if n % 4 == 0 else [])
        with self.lock:
            self.sent[n] = raw
        return n, rcpts, raw

    def work(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = Lmtp(self.z.lmtp_port)
                n, rcpts, raw = self.message()
                for r in conn.deliver(rcpts, raw):
                    with self.lock:
                        self.acked.add((n, r))
            except (OSError, ConnectionError, ValueError):
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)
        if conn is not None:
            try:
                conn.cmd(b"QUIT")
            except (OSError, ConnectionError, ValueError):
                pass
            conn.close()

    def acked_count(self):
        with self.lock:
            return len(self.acked)


def inbox(z, user):
    """What `user` received, over IMAP: X-Crash-Id -> list of full messages. Inbox and
    Junk (the corpus holds spam-flagged mail, which delivery files in Junk)."""
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=60)
    out = {}
    try:
        m.login(user, PASSWORD)
        for folder in ("INBOX", "Junk"):
            typ, data = m.select(folder, readonly=True)
            assert typ == "OK", data
            if int(data[0]) == 0:
                continue
            typ, data = m.fetch("1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            for part in data:
                if not isinstance(part, tuple):
                    continue
                body = part[1]
                at = body.find(b"X-Crash-Id: ")
                assert at >= 0, body[:300]
                n = int(body[at + 12:body.index(b"\r\n", at)])
                out.setdefault(n, []).append(body)
        return out
    finally:
        m.logout()


def wait_listening(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def check(z, load):
    """Every acknowledged (message, recipient) is in the recipient's mailbox once, ending
    with exactly the bytes sent (the server only adds trace headers in front)."""
    with load.lock:
        acked = set(load.acked)
        sent = dict(load.sent)
    for user in USERS:
        got = inbox(z, user)
        for n, copies in got.items():
            assert len(copies) == 1, f"message {n} is in {user}'s mailbox {len(copies)} times"
        for n, r in acked:
            if r != user:
                continue
            assert n in got, f"message {n} got a 250 for {user} and is gone"
            body = got[n][0]
            assert body.endswith(sent[n]), f"message {n} for {user} differs"
            head = body[:len(body) - len(sent[n])]
            for line in head.split(b"\r\n"):
                assert line == b"" or line[:1] in b" \t" or line.split(b":")[0] in (
                    b"Return-Path", b"Received", b"Delivered-To", b"X-Zimbra-Received"), head
    return len(acked)


@pytest.fixture()
def server(tmp_path):
    z = Zcs(tmp_path / "home")
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.zmprov("cd", DOMAIN)
    for u in USERS:
        z.zmprov("ca", u, PASSWORD)
    z.start()
    yield z
    z.run("zmcontrol", "stop", check=False)


def test_kill_9_during_lmtp_deliveries_loses_nothing_acknowledged(server):
    z = server
    corpus = corpus_messages()
    assert len(corpus) >= 15, "not enough 10-100 KiB corpus messages"
    load = Load(z, corpus)
    rng = random.Random(4)
    wait_listening(z.lmtp_port)
    for t in load.threads:
        t.start()
    try:
        for round_ in range(ROUNDS):
            # Let deliveries run, with at least a few acknowledged in this round.
            before = load.acked_count()
            deadline = time.time() + 60
            while load.acked_count() < before + 10:
                assert time.time() < deadline, f"round {round_}: no deliveries"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.2, 1.5))
            os.kill(z.pid(), signal.SIGKILL)
            time.sleep(0.3)
            z.start()
            wait_listening(z.lmtp_port)
            check(z, load)
    finally:
        load.stop.set()
        for t in load.threads:
            t.join(timeout=60)
    total = check(z, load)
    assert total >= ROUNDS * 10, total

    # The orphan sweep, server stopped: afterwards no blob without an item and no item
    # without its blob.
    z.stop()
    out = z.run("zmblobchk", "--unused-blob-delete", "start").stdout
    assert "unused blob(s)" in out, out
    print(f"{total} acknowledged deliveries over {ROUNDS} kills; {out.strip().splitlines()[-1]}")
    out = z.run("zmblobchk", "start").stdout
    assert "No errors found." in out, out
    z.start()
    assert check(z, load) == total
