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


def admin_token(z):
    from soap_util import json_request, ssl_context
    host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
    ctx = ssl_context(z.ca_file())
    status, js = json_request(url, "AuthRequest", "urn:zimbraAdmin",
                              {"name": f"admin@{host}", "password": z.admin_password}, ctx=ctx)
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return url, ctx, (t["_content"] if isinstance(t, dict) else t)


def test_search_task_mails_its_completion_notice(home):
    """Zimbra's key-value request form; the notice reaches the receiver's inbox naming the
    task, its final status, the query and the accounts with hits."""
    from imapclient import IMAPClient
    from soap_util import json_request, ssl_context
    z = home
    url, ctx, token = admin_token(z)
    pairs = [("query", "subject:walrus"), ("accounts", f"{BOB}"), ("targetMbx", ALICE),
             ("targetFolder", "Discovery"), ("sendNotification", "1"),
             ("notificationReceivers", ALICE), ("notificationSubj", "Legal hold 12")]
    body = {"a": [{"n": k, "_content": v} for k, v in pairs]}
    status, js = json_request(url, "CreateXMbxSearchRequest", "urn:zimbraAdmin", body, token,
                              ctx=ctx)
    assert status == 200, js
    task_id = str(js["Body"]["CreateXMbxSearchResponse"]["searchtask"][0]["id"])
    with IMAPClient("localhost", port=z.imap_port, ssl=False, timeout=30) as imap:
        imap.starttls(ssl_context(z.ca_file()))
        imap.login(ALICE, PASSWORD)
        found = []
        for _ in range(150):
            imap.select_folder("INBOX")
            found = imap.search(["SUBJECT", f"search task {task_id}"])
            if found:
                break
            time.sleep(0.2)
        assert found, "no completion notice in the receiver's inbox"
        raw = imap.fetch(found, ["RFC822"])[found[0]][b"RFC822"].decode()
    assert f"Legal hold 12 (search task {task_id}: finished)" in raw, raw
    assert "Query: subject:walrus" in raw and f"{BOB} (1)" in raw, raw
    assert "Auto-Submitted: auto-generated" in raw, raw
