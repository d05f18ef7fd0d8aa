"""zmprov's COS commands (copyCos, renameCos, deleteCos), zmaccts and the amavisd-new
attributes, through the real binaries (spec/06 §6 idea 13; zmaccts as Zimbra prints it).
No server is started: zmprov runs in direct mode (-l)."""

import re

import pytest

from zcs import Zcs

DOMAIN = "cos-e2e.test"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zmprovcos"))
    z.init()
    z.zmprov("-l", "cd", DOMAIN)
    return z


def prov(z, *args, check=True):
    return z.zmprov("-l", *args, check=check)


def test_copy_rename_delete(z):
    cos_id = prov(z, "cc", "Executive", "zimbraAttachmentsBlocked", "FALSE",
                  "zimbraAuthTokenLifetime", "60m", "zimbraMailQuota", "100M",
                  "zimbraMailMessageLifetime", "0").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", cos_id)
    prov(z, "mc", "Executive", "zimbraAttachmentsBlocked", "TRUE")
    copy_id = prov(z, "cpc", "Executive", "Exec2").stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", copy_id) and copy_id != cos_id
    got = prov(z, "gc", "Exec2").stdout.splitlines()
    assert got[0] == "# name Exec2"
    for line in ["zimbraAttachmentsBlocked: TRUE", "zimbraAuthTokenLifetime: 60m",
                 "zimbraMailMessageLifetime: 0", f"zimbraId: {copy_id}"]:
        assert line in got, got

    assert prov(z, "renameCos", "Executive", "Business").stdout == ""
    gone = prov(z, "gc", "Executive", check=False)
    assert gone.returncode == 2 and "account.NO_SUCH_COS" in gone.stderr, gone
    assert prov(z, "gc", cos_id).stdout.splitlines()[0] == "# name Business"
    taken = prov(z, "rc", "Business", "Exec2", check=False)
    assert taken.returncode == 2 and "account.COS_EXISTS" in taken.stderr, taken
    default = prov(z, "rc", "default", "other", check=False)
    assert "ERROR: service.INVALID_REQUEST (unable to rename default cos)" in default.stderr

    # A COS in use may be deleted; its account falls back to the default COS.
    prov(z, "ca", f"user1@{DOMAIN}", "cos-pass-1", "zimbraCOSId", cos_id)
    assert prov(z, "dc", "Business").stdout == ""
    assert prov(z, "gc", "Business", check=False).returncode == 2
    default = prov(z, "deleteCos", "default", check=False)
    assert "ERROR: service.INVALID_REQUEST (unable to delete default cos)" in default.stderr
    usage = prov(z, "cpc", "Exec2", check=False)
    assert usage.returncode == 1 and "copyCos(cpc)" in usage.stderr, usage


def test_amavis_attributes(z):
    # The quarantine account line of zimsoap's provisioning file, as it is.
    prov(z, "ca", f"virus-quarantine@{DOMAIN}", "quarantine-pass-1",
         "amavisBypassSpamChecks", "TRUE", "zimbraIsSystemAccount", "TRUE",
         "zimbraHideInGal", "TRUE", "zimbraAccountStatus", "locked")
    prov(z, "ma", f"virus-quarantine@{DOMAIN}", "+amavisWhitelistSender", "a@x.test",
         "+amavisWhitelistSender", "@y.test", "amavisSpamKillLevel", "6.31")
    got = prov(z, "ga", f"virus-quarantine@{DOMAIN}", "amavisBypassSpamChecks",
               "amavisWhitelistSender", "amavisSpamKillLevel").stdout.splitlines()
    assert "amavisBypassSpamChecks: TRUE" in got
    assert "amavisSpamKillLevel: 6.31" in got
    assert {l for l in got if l.startswith("amavisWhitelistSender")} == {
        "amavisWhitelistSender: a@x.test", "amavisWhitelistSender: @y.test"}
    bad = prov(z, "ma", f"virus-quarantine@{DOMAIN}", "amavisBypassVirusChecks", "maybe",
               check=False)
    assert "account.INVALID_ATTR_VALUE" in bad.stderr, bad
    desc = prov(z, "desc", "-a", "amavisBlacklistSender").stdout
    assert "multi" in desc, desc


def test_zmaccts(z):
    prov(z, "ca", f"maint@{DOMAIN}", "acct-pass-1", "zimbraAccountStatus", "maintenance")
    prov(z, "ca", f"shut@{DOMAIN}", "acct-pass-1", "zimbraAccountStatus", "closed")
    out = z.run("zmaccts").stdout
    lines = out.splitlines()
    header = ("           account                          status             created"
              "       last logon")
    assert lines[0] == header, out
    assert lines[1].startswith("------------------------------------   -----------"), out
    rows = {l.split()[0]: l for l in lines if "@" in l}
    row = rows[f"maint@{DOMAIN}"]
    assert row[36:39] == "   " and row[39:50].strip() == "maintenance", row
    assert row.endswith("never"), row
    assert re.search(r"\d\d/\d\d/\d\d \d\d:\d\d", row[50:]), row
    summary = lines.index("                                 domain summary")
    assert lines[summary + 2].split() == ["domain", "active", "closed", "locked",
                                          "maintenance", "total"]
    mine = next(l for l in lines[summary:] if l.startswith(DOMAIN))
    active, closed, locked, maint, total = map(int, mine.split()[1:])
    assert (closed, maint) == (1, 1), mine
    assert total == active + closed + locked + maint, mine
    assert z.run("zmaccts", "extra", check=False).returncode == 1
