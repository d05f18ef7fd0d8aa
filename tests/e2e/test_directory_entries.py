"""Directory entry kinds and authentication policy end to end: zmprov list, resource,
identity, preauth and renameDomain commands against a real zcs home, and IMAP logins
going through lockout and account status."""

import imaplib
import re
import ssl

import pytest

from zcs import Zcs

DOMAIN = "entries.test"
USER = f"ann@{DOMAIN}"
PASSWORD = "Ann-pass-1"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-home"))
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    z.start()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, PASSWORD)
    z.zmprov("ca", f"bob@{DOMAIN}", "Bob-pass-1")
    yield z
    z.stop()


def imap_login(zcs, user, password):
    """True when an IMAP LOGIN (after STARTTLS, verified against the home's CA) succeeds."""
    ctx = ssl.create_default_context(cafile=str(zcs.ca_file()))
    ctx.check_hostname = False
    with imaplib.IMAP4("127.0.0.1", zcs.imap_port, timeout=30) as c:
        c.starttls(ssl_context=ctx)
        try:
            c.login(user, password)
        except imaplib.IMAP4.error as e:
            print(f"IMAP LOGIN {user!r} refused: {e}")
            return False
        c.logout()
        return True


def attr(zcs, entry_cmd, name, attribute):
    out = zcs.zmprov(entry_cmd, name, attribute).stdout
    m = re.search(rf"^{attribute}: (.*)$", out, re.M)
    return m.group(1) if m else None


def test_distribution_lists(zcs):
    list_id = zcs.zmprov("cdl", f"team@{DOMAIN}").stdout.strip()
    assert UUID_RE.match(list_id)
    zcs.zmprov("cdl", f"all@{DOMAIN}")
    zcs.zmprov("adlm", f"team@{DOMAIN}", USER, f"bob@{DOMAIN}", "ext@far.test")
    zcs.zmprov("adlm", f"all@{DOMAIN}", f"team@{DOMAIN}", USER)
    out = zcs.zmprov("gdl", f"team@{DOMAIN}").stdout
    assert out.startswith(f"# distributionList team@{DOMAIN} memberCount=3\n"), out
    assert out.endswith(f"members\n{USER}\nbob@{DOMAIN}\next@far.test\n"), out
    assert zcs.zmprov("gdlm", f"bob@{DOMAIN}").stdout == (
        f"team@{DOMAIN}\nall@{DOMAIN} (via team@{DOMAIN})\n")
    bad = zcs.zmprov("rdlm", f"team@{DOMAIN}", "nobody@far.test", check=False)
    assert bad.returncode != 0 and "NO_SUCH_MEMBER" in bad.stderr
    zcs.zmprov("cddl", f"everyone@{DOMAIN}",
               "memberURL", "ldap:///??sub?(objectClass=zimbraAccount)",
               "zimbraIsACLGroup", "FALSE")
    out = zcs.zmprov("gdl", f"everyone@{DOMAIN}").stdout
    assert "memberCount=" in out and USER in out.split("members\n")[1], out


def test_calendar_resources_and_identities(zcs):
    rid = zcs.zmprov("ccr", f"room1@{DOMAIN}", "", "displayName", "Room 1",
                     "zimbraCalResType", "Location").stdout.strip()
    assert UUID_RE.match(rid)
    assert attr(zcs, "gcr", f"room1@{DOMAIN}", "zimbraCalResType") == "Location"
    assert f"room1@{DOMAIN}" in zcs.zmprov("gacr").stdout.split()
    zcs.zmprov("cid", USER, "work", "zimbraPrefFromDisplay", "Ann at Work")
    out = zcs.zmprov("gid", USER).stdout
    assert "# name DEFAULT" in out and "# name work" in out, out
    sid = zcs.zmprov("csig", USER, "sig", "zimbraPrefMailSignature", "-- Ann").stdout.strip()
    assert UUID_RE.match(sid)
    assert "zimbraPrefMailSignature: -- Ann" in zcs.zmprov("gsig", USER).stdout


def test_preauth_commands(zcs):
    key = zcs.zmprov("gdpak", DOMAIN).stdout
    assert re.match(r"^preAuthKey: [0-9a-f]{64}\n$", key), key
    out = zcs.zmprov("gdpa", DOMAIN, USER, "name", "1135280708088", "0").stdout
    assert re.search(r"^preAuth: [0-9a-f]{40}$", out, re.M), out


def test_password_policy_from_cos(zcs):
    short = zcs.zmprov("sp", f"bob@{DOMAIN}", "abc", check=False)
    assert short.returncode != 0
    assert "account.INVALID_PASSWORD (invalid password: too short)" in short.stderr
    assert zcs.zmprov("cps", f"bob@{DOMAIN}", "Long-enough-1").stdout == (
        "Password passed strength check.\n")


def test_imap_lockout_and_admin_unlock(zcs):
    zcs.zmprov("mc", "default", "zimbraPasswordLockoutEnabled", "TRUE",
               "zimbraPasswordLockoutMaxFailures", "3")
    try:
        assert imap_login(zcs, USER, PASSWORD)
        for _ in range(3):
            assert not imap_login(zcs, USER, "wrong-password")
        assert attr(zcs, "ga", USER, "zimbraAccountStatus") == "lockout"
        # The right password is refused now, exactly like a wrong one.
        assert not imap_login(zcs, USER, PASSWORD)
        zcs.zmprov("ma", USER, "zimbraAccountStatus", "active")
        assert imap_login(zcs, USER, PASSWORD)
        assert attr(zcs, "ga", USER, "zimbraPasswordLockoutFailureTime") is None
    finally:
        zcs.zmprov("mc", "default", "zimbraPasswordLockoutEnabled", "FALSE")


def test_log_forging_name_is_escaped(zcs):
    # A quoted IMAP string may carry an ESC; the log must show it escaped.
    assert not imap_login(zcs, '"evil\x1b[2Kforged@entries.test"', "x")
    log = zcs.server_log()
    assert "\x1b[2K" not in log
    assert PASSWORD not in log and "Bob-pass-1" not in log


def test_rename_domain_keeps_ids(zcs):
    zcs.zmprov("cd", "old.test")
    acct_id = zcs.zmprov("ca", "carl@old.test", "Carl-pass-1").stdout.strip()
    zcs.zmprov("-l", "rd", "old.test", "renamed.test")
    assert attr(zcs, "ga", "carl@renamed.test", "zimbraId") == acct_id
    assert imap_login(zcs, "carl@renamed.test", "Carl-pass-1")
