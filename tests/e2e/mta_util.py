"""Helpers for the MTA end-to-end suites (test_mta_*.py): a tiny asyncio SMTP sink that
plays the remote server (accepting, or answering 4xx/5xx at RCPT), a started home whose
relay host is that sink, and reading a mailbox back over IMAP."""

import asyncio
import imaplib
import ssl
import threading
import time

from zcs import Zcs

DOMAIN = "mta.test"
PASSWORD = "mta-secret-1"


def user(name):
    return f"{name}@{DOMAIN}"


class SmtpSink:
    """A loopback SMTP server in a background thread. `mode` is "ok", "tempfail" (450
    at RCPT) or "permfail" (550 at RCPT); accepted messages land in `messages` as
    (mail_from, [rcpts], data bytes)."""

    def __init__(self):
        self.mode = "ok"
        self.messages = []
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _session(self, reader, writer):
        async def reply(line):
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 sink.remote.test ESMTP")
        mail_from, rcpts = None, []
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line.decode(errors="replace").strip()
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    await reply("250-sink.remote.test\r\n250-8BITMIME\r\n250 PIPELINING")
                elif verb == "MAIL":
                    mail_from, rcpts = cmd.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                    await reply("250 2.1.0 ok")
                elif verb == "RCPT":
                    if self.mode == "tempfail":
                        await reply("450 4.2.0 try again later")
                    elif self.mode == "permfail":
                        await reply("550 5.1.1 no such user here")
                    else:
                        rcpts.append(cmd.split(":", 1)[1].strip().split(" ")[0].strip("<>"))
                        await reply("250 2.1.5 ok")
                elif verb == "DATA":
                    await reply("354 go ahead")
                    data = b""
                    while True:
                        chunk = await reader.readline()
                        if chunk in (b".\r\n", b".\n", b""):
                            break
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    self.messages.append((mail_from, rcpts, data))
                    await reply("250 2.0.0 queued")
                elif verb == "QUIT":
                    await reply("221 bye")
                    break
                else:
                    await reply("250 ok")
        finally:
            writer.close()

    def wait_messages(self, count, timeout=30):
        return wait_for(lambda: len(self.messages) >= count, timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)


def wait_for(predicate, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def start_mta_home(tmp_path_factory, name, sink, accounts=("alice", "bob"), config=(),
                   before_start=None):
    """A started home with `accounts` in DOMAIN, zimbraMtaRelayHost pointing at `sink`,
    and extra global config `config` (attr, value pairs) set before the start
    (zimbraMtaMyNetworks is 192.0.2.0/24, not loopback, unless `config` sets it);
    `before_start(z)` runs after init, before the start."""
    z = Zcs(tmp_path_factory.mktemp(name))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    # Unset, zimbraMtaMyNetworks trusts loopback (as Zimbra's installer does), which
    # would exempt these tests' clients from relay control and the restrictions; trust a
    # documentation network instead unless the test names its own.
    if "zimbraMtaMyNetworks" not in config:
        config = ("zimbraMtaMyNetworks", "192.0.2.0/24", *config)
    z.zmprov("mcf", "zimbraMtaRelayHost", f"[127.0.0.1]:{sink.port}", *config)
    if before_start:
        before_start(z)
    z.start()
    z.zmprov("cd", DOMAIN)
    for a in accounts:
        z.zmprov("ca", user(a), PASSWORD)
    return z


def tls_context(z):
    ctx = ssl.create_default_context(cafile=str(z.ca_file()))
    ctx.check_hostname = False
    return ctx


def fetch_folder(z, account, folder="INBOX"):
    """Every message of `folder` as (flags bytes, raw bytes), over IMAP with STARTTLS."""
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    m.starttls(tls_context(z))
    m.login(account, PASSWORD)
    typ, _ = m.select(f'"{folder}"', readonly=True)
    out = []
    if typ == "OK":
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
        if typ == "OK":
            for item in data:
                if isinstance(item, tuple):
                    out.append((item[0], item[1]))
    m.logout()
    return out


def wait_folder(z, account, count, folder="INBOX", timeout=30):
    """Waits until `folder` holds at least `count` messages; returns them."""
    got = []

    def check():
        nonlocal got
        got = fetch_folder(z, account, folder)
        return len(got) >= count

    wait_for(check, timeout, 0.3)
    return got


def message(subject, sender="someone@remote.test", to="x@mta.test", extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash(subject))}@remote.test>\r\n{extra}\r\n"
            f"Body of {subject}.\r\n").encode()


CORPUS_VIRUS = __import__("zcs").CORPUS / "zimbra-qa" / "virus"


class TinyDns:
    """A loopback DNS server (UDP, 127.0.0.1, a free port) answering A and TXT questions
    from `records` {(name, "A"|"TXT"): [values]}; NXDOMAIN for names it does not hold,
    an empty answer for other types of a name it holds. Questions land in `asked`."""

    def __init__(self):
        import socket
        self.records = {}
        self.asked = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, name, rtype, value):
        self.records.setdefault((name.lower().rstrip("."), rtype), []).append(value)

    def _run(self):
        while True:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                answer = self._answer(packet)
            except Exception:  # a malformed question gets no answer
                continue
            self.sock.sendto(answer, peer)

    def _answer(self, packet):
        import struct
        qid, _flags, qdcount = struct.unpack(">HHH", packet[:6])
        pos, labels = 12, []
        while packet[pos]:
            n = packet[pos]
            labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype, _qclass = struct.unpack(">HH", packet[pos + 1:pos + 5])
        question = packet[12:pos + 5]
        name = ".".join(labels).lower()
        rtype = {1: "A", 16: "TXT"}.get(qtype, str(qtype))
        self.asked.append(f"{name} {rtype}")
        known = any(k[0] == name for k in self.records)
        values = self.records.get((name, rtype), [])
        answers = b""
        for v in values:
            if rtype == "A":
                rdata = bytes(int(x) for x in v.split("."))
            else:
                raw = v.encode()
                rdata = b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255]
                                 for i in range(0, len(raw), 255))
            answers += struct.pack(">HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata
        rcode = 0 if known else 3
        header = struct.pack(">HHHHHH", qid, 0x8580 | rcode, 1, len(values), 0, 0)
        return header + question + answers

    def stop(self):
        self.sock.close()
