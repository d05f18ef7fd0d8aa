#!/usr/bin/env python3
"""Drains a zcs POP3 maildrop with Python's standard poplib, as a real client would.

Usage: pop3_poplib.py PORT USER PASSWORD EXPECTED_COUNT

Run by tests/pop3_store.rs against a server on 127.0.0.1:PORT (it skips this when
python3 is missing). Checks CAPA, STAT, LIST, UIDL, TOP, RETR of every message, DELE of
every message and QUIT, then logs in again (with AUTH PLAIN this time, through
poplib's low-level command interface) and expects an empty maildrop. Prints one
line per message, "<uidl> <octets>", and exits non-zero on any mismatch.
"""

import base64
import poplib
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    port, user, password, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    pop = poplib.POP3("127.0.0.1", int(port), timeout=20)
    if not pop.getwelcome().startswith(b"+OK zcs POP3 server ready <"):
        fail("greeting %r" % pop.getwelcome())
    caps = pop.capa()
    for cap in ("TOP", "UIDL", "USER", "SASL", "RESP-CODES", "PIPELINING"):
        if cap not in caps:
            fail("capability %s missing from %r" % (cap, caps))
    if caps["SASL"] != ["PLAIN"]:
        fail("SASL mechanisms %r" % caps["SASL"])
    try:
        pop.user(user)
        pop.pass_("wrong " + password)
        fail("a wrong password was accepted")
    except poplib.error_proto as e:
        if not str(e).startswith("b'-ERR [AUTH]"):
            fail("wrong password answer %s" % e)
    pop.user(user)
    pop.pass_(password)
    count, size = pop.stat()
    if count != expected:
        fail("STAT says %d messages, expected %d" % (count, expected))
    _, listing, _ = pop.list()
    _, uidls, _ = pop.uidl()
    if len(listing) != count or len(uidls) != count:
        fail("LIST/UIDL lengths %d/%d" % (len(listing), len(uidls)))
    total = 0
    for entry, uidl in zip(listing, uidls):
        num, octets = entry.split()
        unum, uid = uidl.split()
        if num != unum:
            fail("LIST and UIDL disagree: %r %r" % (entry, uidl))
        _, top_lines, _ = pop.top(int(num), 0)
        if top_lines[-1] != b"":
            fail("TOP 0 does not end with the blank line: %r" % top_lines[-3:])
        _, lines, _ = pop.retr(int(num))
        # poplib strips line ends and undoes dot-stuffing; rebuild the CRLF form.
        body = b"\r\n".join(lines) + b"\r\n"
        if len(body) != int(octets):
            fail("message %s: %d octets retrieved, LIST said %s" % (num, len(body), octets))
        total += len(body)
        print(uid.decode(), len(body))
        pop.dele(int(num))
    if total != size:
        fail("STAT size %d, retrieved %d" % (size, total))
    pop.quit()

    pop = poplib.POP3("127.0.0.1", int(port), timeout=20)
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    resp = pop._shortcmd("AUTH PLAIN " + token)
    if not resp.startswith(b"+OK"):
        fail("AUTH PLAIN: %r" % resp)
    count, _ = pop.stat()
    if count != 0:
        fail("%d messages left after DELE and QUIT" % count)
    pop.quit()


if __name__ == "__main__":
    main()
