"""zmprov's admin options (`-a`, `-p`, `-P`, `-s`, `-z`) are honoured, not ignored: the
admin logs in through the running server's admin port before anything runs, a wrong
password fails with account.AUTH_FAILED and changes nothing, options zcs cannot honour
are refused with the reason; and `zmprov fc -a` (every cache) and the per-type flushes
make out-of-band directory changes visible to the running server."""

import time

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "prov-auth.test"
USER = f"pat@{DOMAIN}"
PASSWORD = "prov-auth-pass-1"
DELEGATE = f"deleg@{DOMAIN}"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zmprovauth"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD, "displayName", "Pat Before")
    z.zmprov("ca", DELEGATE, PASSWORD, "zimbraIsDelegatedAdminAccount", "TRUE")
    z.start()
    yield z
    z.stop()


def host(z):
    return z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()


def admin(z):
    return f"admin@{host(z)}"


def test_right_password_runs_the_command(z):
    out = z.zmprov("-a", admin(z), "-p", z.admin_password, "cd", "good.prov-auth.test")
    assert out.stdout.strip(), "the new domain's id is printed"
    z.zmprov("gd", "good.prov-auth.test")
    # -s naming this server, and -P reading the password from a file.
    pw = z.home / "admin.pw"
    pw.write_text(z.admin_password + "\n")
    pw.chmod(0o600)
    got = z.zmprov("-s", "localhost", "-a", admin(z), "-P", pw, "gd", "good.prov-auth.test")
    assert "# name good.prov-auth.test" in got.stdout
    got = z.zmprov("-s", host(z), "-z", "gd", "good.prov-auth.test")
    assert "# name good.prov-auth.test" in got.stdout


def test_wrong_password_fails_and_changes_nothing(z):
    bad = z.zmprov("-a", admin(z), "-p", "not-the-password", "cd", "bad.prov-auth.test",
                   check=False)
    assert bad.returncode == 2, bad
    assert "account.AUTH_FAILED" in bad.stderr, bad.stderr
    assert bad.stdout == ""
    gone = z.zmprov("gd", "bad.prov-auth.test", check=False)
    assert gone.returncode != 0
    assert "NO_SUCH_DOMAIN" in gone.stderr, gone.stderr
    unknown = z.zmprov("-a", f"nobody@{DOMAIN}", "-p", "x", "gaa", check=False)
    assert unknown.returncode == 2
    assert "account.AUTH_FAILED" in unknown.stderr, unknown.stderr


def test_delegated_admins_run_only_what_they_are_granted(z):
    # No grants: creating a domain needs createDomain (test_rights.py covers grants).
    r = z.zmprov("-a", DELEGATE, "-p", PASSWORD, "cd", "deleg.prov-auth.test", check=False)
    assert r.returncode == 2, r
    assert "service.PERM_DENIED" in r.stderr, r.stderr
    plain = z.zmprov("-a", USER, "-p", PASSWORD, "gaa", check=False)
    assert plain.returncode != 0, plain
    assert z.zmprov("gd", "deleg.prov-auth.test", check=False).returncode != 0


@pytest.mark.parametrize("args,needle", [
    (["-a", "admin@x.test", "gaa"], "-p or -P"),
    (["-p", "secret", "gaa"], "need -a"),
    (["-l", "-a", "admin@x.test", "-p", "s", "gaa"], "-l changes the directory"),
    (["-l", "-z", "gaa"], "-l changes the directory"),
    (["-z", "-a", "admin@x.test", "-p", "s", "gaa"], "exclude each other"),
    (["-y", "TOKEN", "gaa"], "not supported"),
    (["-s", "mail.elsewhere.test", "gaa"], "only this home's server"),
])
def test_options_zcs_cannot_honour_are_refused(z, args, needle):
    r = z.zmprov(*args, check=False)
    assert r.returncode == 1, r
    assert needle in r.stderr, r.stderr


def test_admin_options_need_the_running_server(tmp_path):
    idle = Zcs(tmp_path / "idle")
    idle.init()
    r = idle.zmprov("-a", admin(idle), "-p", idle.admin_password, "gaa", check=False)
    assert r.returncode == 1, r
    assert "no server runs" in r.stderr, r.stderr


def login(z):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": USER},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return t["_content"] if isinstance(t, dict) else t


def display_name(z, token):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "GetAccountInfoRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": USER}}, token)
    assert status == 200, js
    for a in js["Body"]["GetAccountInfoResponse"].get("a", []):
        if a.get("n") == "displayName":
            return a.get("_content")
    return js["Body"]["GetAccountInfoResponse"].get("_attrs", {}).get("displayName")


def test_fc_dash_a_alone_flushes_every_cache(z):
    token = login(z)
    # The login's token id is written to the account after the response, a write that
    # drops the cached entry; wait for it, then read once so the server holds the
    # account in its cache.
    time.sleep(1.0)
    assert display_name(z, token) == "Pat Before"
    z.zmprov("-l", "ma", USER, "displayName", "Pat Between")
    assert display_name(z, token) == "Pat Before"
    z.zmprov("fc", "-a")
    assert display_name(z, token) == "Pat Between"
    z.zmprov("-l", "ma", USER, "displayName", "Pat After")
    z.zmprov("fc", "account", USER)
    assert display_name(z, token) == "Pat After"
    for kind in (["cos"], ["domain"], ["config"], ["server"], ["domain", DOMAIN],
                 ["cos", "default"], ["-a", "all"]):
        z.zmprov("fc", *kind)
