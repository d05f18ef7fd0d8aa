"""zimbraImapCleartextLoginEnabled and zimbraPop3CleartextLoginEnabled changed with
zmprov on a running server apply to new connections without a restart, as in Zimbra."""

import imaplib
import poplib
import time

import pytest

from imap_util import PASSWORD, USER, start_home


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = start_home(tmp_path_factory, "cleartext-reload")
    yield home
    home.stop()


def wait_for(check, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def imap_login_works(z):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    try:
        m.login(USER, PASSWORD)
        m.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def pop3_login_works(z):
    p = poplib.POP3("127.0.0.1", z.pop3_port, timeout=30)
    try:
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()
        return True
    except poplib.error_proto:
        return False


def test_cleartext_login_follows_zmprov_without_restart(z):
    assert not imap_login_works(z)
    assert not pop3_login_works(z)
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
             "zimbraPop3CleartextLoginEnabled", "TRUE")
    assert wait_for(lambda: imap_login_works(z))
    assert wait_for(lambda: pop3_login_works(z))
    # A server-level value overrides the global one.
    server = z.zmprov("gas").stdout.split()[0]
    z.zmprov("ms", server, "zimbraImapCleartextLoginEnabled", "FALSE")
    assert wait_for(lambda: not imap_login_works(z))
