"""urn:zimbraMail SyncRequest against a running server: the initial sync lists the folder
tree with each folder's message ids, a delta sync from its token lists exactly what was
added, flagged and deleted since, changeLimit pages with more="1", and another account
cannot sync someone else's mailbox."""

import re
from xml.sax.saxutils import escape

import pytest

from soap_util import envelope, fault_code, post, soap_body
from zcs import Zcs

DOMAIN = "sync.test"
PASSWORD = "sync-secret-1"
NS = "{urn:zimbraMail}"


def addr(user):
    return f"{user}@{DOMAIN}"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("soap_sync"))
    z.init()
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in ("alice", "bob"):
        z.zmprov("ca", addr(u), PASSWORD)
    yield z
    if z.status().returncode == 0:
        z.stop()


def url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def login(z, user):
    body = (f'<AuthRequest xmlns="urn:zimbraAccount"><account by="name">{addr(user)}'
            f"</account><password>{PASSWORD}</password></AuthRequest>")
    status, _, text = post(url(z), envelope(body))
    assert status == 200, text
    return re.search(r"<authToken>([^<]+)</authToken>", text).group(1)


def call(z, token, body, context_xml=None):
    ctx = None
    if context_xml is not None:
        ctx = f"<authToken>{token}</authToken>{context_xml}"
    _, _, text = post(url(z), envelope(body, token=token, context_xml=ctx))
    return text


def ok(text):
    _, el = soap_body(text)
    assert el is not None and fault_code(text) is None, text
    return el


def add_msg(z, token, subject):
    mime = (f"From: x@{DOMAIN}\r\nTo: {addr('alice')}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@{DOMAIN}>\r\n\r\nbody of {subject}\r\n")
    el = ok(call(z, token, f'<AddMsgRequest xmlns="urn:zimbraMail"><m l="2">'
                           f"<content>{escape(mime)}</content></m></AddMsgRequest>"))
    return int(el.find(f"{NS}m").get("id"))


def ids_of(el):
    return {int(i) for i in el.get("ids", "").split(",") if i}


def test_initial_then_delta(z):
    t = login(z, "alice")
    a, b, c = (add_msg(z, t, s) for s in ("one", "two", "three"))
    first = ok(call(z, t, '<SyncRequest xmlns="urn:zimbraMail"/>'))
    token = first.get("token")
    assert token and int(token) > 0, first
    root = first.find(f"{NS}folder")
    assert root is not None and root.get("id") == "1", first
    inbox = [f for f in root.iter(f"{NS}folder") if f.get("id") == "2"]
    assert inbox, "Inbox missing from the initial sync"
    assert ids_of(inbox[0].find(f"{NS}m")) == {a, b, c}
    names = {f.get("name") for f in root.iter(f"{NS}folder")}
    assert {"Inbox", "Sent", "Trash"} <= names, names

    # Nothing changed: an empty delta with the same token.
    same = ok(call(z, t, f'<SyncRequest xmlns="urn:zimbraMail" token="{token}"/>'))
    assert same.get("token") == token
    assert same.find(f"{NS}m") is None and same.find(f"{NS}deleted") is None

    d = add_msg(z, t, "four")
    ok(call(z, t, f'<MsgActionRequest xmlns="urn:zimbraMail"><action op="flag" id="{a}"/>'
                  "</MsgActionRequest>"))
    ok(call(z, t, f'<MsgActionRequest xmlns="urn:zimbraMail"><action op="delete" id="{b}"/>'
                  "</MsgActionRequest>"))
    delta = ok(call(z, t, f'<SyncRequest xmlns="urn:zimbraMail" token="{token}" typed="1"/>'))
    assert int(delta.get("token")) > int(token)
    assert delta.get("more") is None
    changed = {int(m.get("id")): m for m in delta.findall(f"{NS}m")}
    assert set(changed) == {a, d}, delta
    assert "f" in changed[a].get("f", "")
    assert changed[d].get("l") == "2"
    deleted = delta.find(f"{NS}deleted")
    assert deleted is not None and ids_of(deleted) == {b}, delta
    assert ids_of(deleted.find(f"{NS}m")) == {b}

    # From the new token, nothing again.
    after = ok(call(z, t, f'<SyncRequest xmlns="urn:zimbraMail" token="{delta.get("token")}"/>'))
    assert after.find(f"{NS}m") is None and after.find(f"{NS}deleted") is None

    # changeLimit=1 pages the two changes.
    page = ok(call(z, t, f'<SyncRequest xmlns="urn:zimbraMail" token="{token}" '
                         'changeLimit="1"/>'))
    assert page.get("more") == "1"
    assert len(page.findall(f"{NS}m")) == 1
    rest = ok(call(z, t, f'<SyncRequest xmlns="urn:zimbraMail" token="{page.get("token")}"/>'))
    got = {int(m.get("id")) for m in page.findall(f"{NS}m") + rest.findall(f"{NS}m")}
    assert got == {a, d}

    # Bad and future tokens are refused.
    bad = call(z, t, '<SyncRequest xmlns="urn:zimbraMail" token="nope"/>')
    assert fault_code(bad) == "mail.INVALID_SYNC_TOKEN", bad
    ahead = call(z, t, '<SyncRequest xmlns="urn:zimbraMail" token="99999999"/>')
    assert fault_code(ahead) == "mail.INVALID_SYNC_TOKEN", ahead


def test_other_account_cannot_sync(z):
    t = login(z, "bob")
    text = call(z, t, '<SyncRequest xmlns="urn:zimbraMail"/>',
                context_xml=f'<account by="name">{addr("alice")}</account>')
    assert fault_code(text) == "service.PERM_DENIED", text
    # Bob's own sync works and shows none of Alice's messages.
    own = ok(call(z, t, '<SyncRequest xmlns="urn:zimbraMail"/>'))
    for m in own.iter(f"{NS}m"):
        assert not m.get("ids"), own
