"""Cross-mailbox search end to end: zmmboxsearch asks the running server
(SearchMultipleMailboxes on the admin port) and prints the same hits offline once the
server is stopped; -d saves each hit as RESULTNUM_ACCOUNT-ID_MAILITEMID."""

import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "xmbx.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "xmbx-secret-1"


def message(i, rcpt, subject):
    return (f"From: Carol <carol@remote.test>\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <xmbx-{i}@remote.test>\r\n"
            f"Date: Mon, 2 Jan 2023 09:00:{i:02d} +0000\r\n\r\n"
            f"the walrus ledger, entry {i}\r\n").encode()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("xmbx"))
    z.init()
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in (ALICE, BOB):
        z.zmprov("ca", u, PASSWORD)
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=60) as lmtp:
        lmtp.sendmail("carol@remote.test", [ALICE], message(1, ALICE, "alpha walrus"))
        lmtp.sendmail("carol@remote.test", [BOB], message(2, BOB, "beta walrus"))
        lmtp.sendmail("carol@remote.test", [BOB], message(3, BOB, "gamma other"))
    yield z
    if z.status().returncode == 0:
        z.stop()


def hits(out):
    """(account, subject) per output line."""
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 6 and parts[0].isdigit():
            rows.append((parts[1], parts[5]))
    return rows


def search(z, *args):
    return z.run("zmmboxsearch", "-m", f"{ALICE},{BOB}", *args).stdout


def test_online_then_offline_give_the_same_hits(home, tmp_path):
    z = home
    want = [(BOB, "beta walrus"), (ALICE, "alpha walrus")]
    online = []
    # Delivery is acknowledged before indexing; give the index a moment.
    for _ in range(100):
        online = hits(search(z, "-q", "subject:walrus"))
        if len(online) == 2:
            break
        time.sleep(0.1)
    assert online == want
    out = tmp_path / "online"
    search(z, "-q", "subject:walrus", "-d", str(out))
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2 and files[0].startswith("1_"), files
    assert b"walrus ledger" in (out / files[0]).read_bytes()
    # Everything (`*`) with paging; an unknown account is an error.
    assert hits(z.run("zmmboxsearch", "-m", "*", "-q", "subject:walrus", "-o", "1", "-l", "1").stdout) \
        == [(ALICE, "alpha walrus")]
    bad = z.run("zmmboxsearch", "-m", f"nobody@{DOMAIN}", "-q", "subject:walrus", check=False)
    assert bad.returncode != 0

    z.stop()
    assert hits(search(z, "-q", "subject:walrus")) == want
    z.start()
