"""The running server's directory cache (spec 01 §1.14): a change made behind its back
(`zmprov -l`, direct to the directory) is not seen until `zmprov flushCache` (or the
kind's max age); a change made with plain zmprov is seen at once, because zmprov asks
the running server to flush after it."""

import time

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "cache.test"
USER = f"carol@{DOMAIN}"
PASSWORD = "cache-pass-1"
NEW_PASSWORD = "cache-pass-2"
THIRD_PASSWORD = "cache-pass-3"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("dircache"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD, "displayName", "Carol Before")
    z.start()
    yield z
    z.stop()


def settled():
    """Waits for the login's token id to be written to the account. The server writes
    it after the response, through its own cache (a write that drops the cached entry,
    so the next read fetches it afresh, as Zimbra's refresh after a modify does); the
    cache checks below are about the entry as cached after that write."""
    time.sleep(1.0)


def login(z, password):
    """(token, fault code) of an account AuthRequest as USER."""
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": USER},
                               "password": {"_content": password}})
    if status != 200:
        return None, js["Body"]["Fault"]["Detail"]["Error"]["Code"]
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return (t["_content"] if isinstance(t, dict) else t), None


def display_name(z, token):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "GetAccountInfoRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": USER}}, token)
    assert status == 200, js
    for a in js["Body"]["GetAccountInfoResponse"].get("a", []):
        if a.get("n") == "displayName":
            return a.get("_content")
    attrs = js["Body"]["GetAccountInfoResponse"].get("_attrs", {})
    return attrs.get("displayName")


def test_out_of_band_change_is_seen_only_after_flush(z):
    token, fault = login(z, PASSWORD)
    assert fault is None, fault
    settled()
    assert display_name(z, token) == "Carol Before"

    # Behind the server's back: the cached entry still answers.
    z.zmprov("-l", "ma", USER, "displayName", "Carol After")
    assert display_name(z, token) == "Carol Before"
    z.zmprov("-l", "sp", USER, NEW_PASSWORD)
    assert login(z, NEW_PASSWORD)[1] == "account.AUTH_FAILED"
    assert login(z, PASSWORD)[1] is None

    # flushCache of that account on the running server: both changes show.
    z.zmprov("fc", "account", USER)
    assert display_name(z, token) == "Carol After"
    assert login(z, NEW_PASSWORD)[1] is None
    assert login(z, PASSWORD)[1] == "account.AUTH_FAILED"


def test_plain_zmprov_changes_are_seen_at_once(z):
    z.zmprov("sp", USER, THIRD_PASSWORD)
    token, fault = login(z, THIRD_PASSWORD)
    assert fault is None, fault
    z.zmprov("ma", USER, "displayName", "Carol Now")
    assert display_name(z, token) == "Carol Now"


def test_flush_cache_types_and_errors(z):
    for args in (["fc", "-a", "config"], ["flushCache", "skin"], ["fc", "all"],
                 ["fc", "account,cos,domain"]):
        z.zmprov(*args)
    bad = z.zmprov("fc", "bogus", check=False)
    assert bad.returncode != 0
    assert "INVALID_REQUEST" in bad.stderr, bad.stderr
