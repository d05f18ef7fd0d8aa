"""Folder sharing over IMAP on a real server, two accounts driven by imapclient: ACL
(RFC 4314) commands on the store's grants, the Other Users namespace (RFC 2342) and
every access to the shared folder held to the grant."""

import imapclient
import pytest
from imapclient.exceptions import IMAPClientError

from imap_util import DOMAIN, PASSWORD, USER, deliver_lmtp, message, start_home, tls_context

BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
SHARED = f"/home/{USER}/INBOX"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = start_home(tmp_path_factory, "imap-shared")
    home.zmprov("ca", BOB, PASSWORD)
    home.zmprov("ca", CAROL, PASSWORD)
    deliver_lmtp(home, [message(1, "shared hello")])
    yield home
    home.stop()


def login(z, user):
    c = imapclient.IMAPClient("localhost", port=z.imap_port, ssl=False, timeout=30)
    c.starttls(tls_context(z))
    c.login(user, PASSWORD)
    # Message numbers below are sequence numbers (UIDs are item ids, as Zimbra's).
    c.use_uid = False
    return c


def test_namespace_names_other_users(z):
    c = login(z, BOB)
    ns = c.namespace()
    assert ns.personal[0][0] == ""
    assert ns.other[0][0] == "/home/"
    c.logout()


def test_read_grant_is_read_only_and_others_see_nothing(z):
    alice, bob, carol = login(z, USER), login(z, BOB), login(z, CAROL)
    assert not bob.list_folders("", "/home/*")
    alice.setacl("INBOX", BOB, "lr")
    acl = dict(alice.getacl("INBOX"))
    assert acl[BOB.encode()] == b"lr", acl
    names = [name for _, _, name in bob.list_folders("", "/home/*")]
    assert SHARED in names, names
    assert bob.folder_status(SHARED, ["MESSAGES"])[b"MESSAGES"] == 1
    # The server answers SELECT with [READ-ONLY]; imaplib turns that into an error.
    with pytest.raises(imapclient.IMAPClient.ReadOnlyError):
        bob.select_folder(SHARED)
    bob.select_folder(SHARED, readonly=True)
    body = bob.fetch([1], ["BODY.PEEK[]"])
    assert b"shared hello" in next(iter(body.values()))[b"BODY[]"]
    with pytest.raises(Exception):  # imaplib's readonly, raised before sending
        bob.add_flags([1], [imapclient.DELETED])
    with pytest.raises(IMAPClientError):
        bob.append(SHARED, b"Subject: sneaky\r\n\r\nno\r\n")
    with pytest.raises(IMAPClientError):
        bob.getacl(SHARED)
    # No grant: no folder, and no hint that it exists.
    assert not [n for _, _, n in carol.list_folders("", "*") if n.startswith("/home/")]
    with pytest.raises(IMAPClientError):
        carol.select_folder(SHARED)
    alice._imap.deleteacl("INBOX", BOB)
    for c in (alice, carol):
        c.logout()


def test_write_grant_allows_flags_and_append(z):
    alice, bob = login(z, USER), login(z, BOB)
    alice.setacl("INBOX", BOB, "lrswi")
    bob.select_folder(SHARED)
    bob.add_flags([1], [imapclient.FLAGGED])
    bob.append(SHARED, b"Subject: from bob\r\n\r\nhello alice\r\n")
    alice.select_folder("INBOX")
    flags = alice.get_flags([1])
    assert imapclient.FLAGGED in next(iter(flags.values()))
    assert alice.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 2
    # Without the delete right, no expunge.
    with pytest.raises(IMAPClientError):
        bob.add_flags([2], [imapclient.DELETED])
        bob.expunge()
    alice._imap.deleteacl("INBOX", BOB)
    alice.logout()
