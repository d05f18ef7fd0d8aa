"""spec/06 §2 commands zmprov lacked and the zmsoap tool, against a real server:
`selectMailbox` (zmmailbox commands on one mailbox from zmprov), the reverse-proxy
listings, the free/busy provider commands, and `zmsoap` as the home's admin, as an
admin with a password and as a mailbox."""

import re

import pytest

from zcs import Zcs

DOMAIN = "tools.test"
USER = f"tooluser@{DOMAIN}"
ADMIN = f"tooladmin@{DOMAIN}"
PASSWORD = "tools-pass-5"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = Zcs(tmp_path_factory.mktemp("zcs-zmprov-tools"))
    home.init()
    home.zmprov("cd", DOMAIN)
    home.zmprov("ca", USER, PASSWORD, "displayName", "Tool User")
    home.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    home.start()
    yield home
    home.stop()


def test_select_mailbox_runs_zmmailbox_commands(z):
    out = z.zmprov("sm", USER, "cf", "/Projects").stdout
    assert re.fullmatch(r"\d+\n", out), out
    out = z.zmprov("selectMailbox", "--admin-priv", USER, "gaf").stdout
    assert "/Projects" in out and "/Inbox" in out, out
    bad = z.zmprov("sm", f"nobody@{DOMAIN}", "gaf", check=False)
    assert bad.returncode == 2 and "account.NO_SUCH_ACCOUNT" in bad.stderr, bad.stderr
    bad = z.zmprov("sm", USER, "gf", "/NoSuchFolder", check=False)
    assert bad.returncode == 2 and "ERROR" in bad.stderr, bad.stderr
    # Without commands and without a terminal: Zimbra's refusal.
    bad = z.zmprov("sm", USER, check=False, input="")
    assert bad.returncode == 2 and "interactive mode" in bad.stderr, bad.stderr


def test_select_mailbox_in_batch_input(z):
    out = z.zmprov(input=f"sm {USER} gaf\nga {USER} displayName\n").stdout
    assert "/Projects" in out and "displayName: Tool User" in out, out


def test_reverse_proxy_and_free_busy_listings(z):
    host = z.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    z.zmprov("ms", host, "zimbraReverseProxyLookupTarget", "TRUE")
    urls = z.zmprov("garpu").stdout
    assert urls.strip().endswith("/service/extension/nginx-lookup"), urls
    backends = z.zmprov("getAllReverseProxyBackends").stdout
    assert re.fullmatch(r"(    server \S+:\d+;\n)+", backends), backends
    assert z.zmprov("garpd").stdout == ""
    assert z.zmprov("gafbp").stdout == ""
    assert z.zmprov("pfbd", DOMAIN).stdout == ""
    bad = z.zmprov("pfb", f"nobody@{DOMAIN}", check=False)
    assert bad.returncode == 2 and "NO_SUCH_ACCOUNT" in bad.stderr


def test_zmsoap_as_home_admin(z):
    out = z.run("zmsoap", "-z", "GetAccountInfoRequest/account=" + USER, "@by=name").stdout
    assert out.startswith('<GetAccountInfoResponse xmlns="urn:zimbraAdmin"'), out
    assert f"<name>{USER}</name>" in out, out
    out = z.run("zmsoap", "-z", "-m", USER, "GetFolderRequest").stdout
    assert out.startswith('<GetFolderResponse xmlns="urn:zimbraMail"'), out
    assert 'name="Inbox"' in out, out
    out = z.run("zmsoap", "-z", "-m", USER, "-t", "account", "--json", "GetInfoRequest",
                "@sections=mbox").stdout
    assert f'"_content": "{USER}"' in out and '"_jsns": "urn:zimbraAccount"' in out, out


def test_zmsoap_with_passwords_and_faults(z):
    out = z.run("zmsoap", "-m", USER, "-p", PASSWORD, "-t", "account",
                "GetInfoRequest", "@sections=mbox").stdout
    assert f"<name>{USER}</name>" in out, out
    out = z.run("zmsoap", "-a", ADMIN, "-p", PASSWORD, "GetDomainRequest/domain=" + DOMAIN,
                "@by=name").stdout
    assert f'name="{DOMAIN}"' in out, out
    bad = z.run("zmsoap", "-m", USER, "-p", "wrong", "GetFolderRequest", check=False)
    assert bad.returncode == 1 and "account.AUTH_FAILED" in bad.stderr, bad.stderr
    # A user cannot reach admin requests through zmsoap either.
    bad = z.run("zmsoap", "-m", USER, "-p", PASSWORD, "-t", "admin", "GetAllAccountsRequest",
                check=False)
    assert bad.returncode == 1 and "PERM_DENIED" in bad.stderr, bad.stderr
    bad = z.run("zmsoap", "-z", "-m", USER, "GetMsgRequest/m", "@id=99999", check=False)
    assert bad.returncode == 1 and "mail.NO_SUCH_MSG" in bad.stderr, bad.stderr
    out = z.run("zmsoap", "-n", "SearchRequest", "@types=message", "query=in:inbox").stdout
    assert out == ('<SearchRequest xmlns="urn:zimbraAdmin" types="message">\n'
                   "  <query>in:inbox</query>\n</SearchRequest>\n"), out
