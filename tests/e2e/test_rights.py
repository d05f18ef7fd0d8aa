"""Delegated administration end to end: rights granted with zmprov (grr, gg, ckr, ger,
gr) against a real zcs home, then a domain admin on the admin SOAP port who may create,
read, modify and delete accounts and distribution lists in its own domain and is
refused in another one, reads its own domain only, assigns only the COS it was granted,
with listings trimmed to what it may list; and the same admin through `zmprov -a`,
allowed and refused the same things."""

import pytest

from soap_util import envelope, fault_code, post, soap_body, ssl_context
from zcs import SECRETS, Zcs

MINE = "mine.test"
OTHER = "other.test"
DA = f"da@{MINE}"
PASSWORD = "Deleg-pass-1"
SECRETS.add(PASSWORD)
NS = "urn:zimbraAdmin"


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-rights"))
    z.init()
    z.zmprov("cd", MINE)
    z.zmprov("cd", OTHER)
    z.zmprov("ca", DA, PASSWORD, "zimbraIsDelegatedAdminAccount", "TRUE")
    z.zmprov("ca", f"u1@{MINE}", PASSWORD)
    z.zmprov("ca", f"o1@{OTHER}", PASSWORD)
    z.zmprov("ca", f"u2@{MINE}", PASSWORD)
    z.zmprov("cdl", f"staff@{MINE}")
    z.zmprov("cdl", f"staff@{OTHER}")
    z.zmprov("cc", "gold")
    z.zmprov("cc", "silver")
    z.zmprov("grr", "domain", MINE, "usr", DA, "domainAdminRights")
    z.zmprov("grr", "cos", "gold", "usr", DA, "adminConsoleCOSRights")
    z.start()
    yield z
    z.stop()


def admin_url(z):
    return f"https://127.0.0.1:{z.admin_port}/service/admin/soap"


def call(z, body, token=None):
    """Posts one admin request; returns (status, response element or None, raw text)."""
    status, _, text = post(admin_url(z), envelope(body, token), ssl_context(z.ca_file()))
    _, resp = soap_body(text)
    return status, resp, text


@pytest.fixture(scope="module")
def token(zcs):
    status, resp, text = call(zcs, f'<AuthRequest xmlns="{NS}"><account by="name">{DA}'
                                   f"</account><password>{PASSWORD}</password></AuthRequest>")
    assert status == 200, text
    return resp.find(f"{{{NS}}}authToken").text


def test_zmprov_rights_commands(zcs):
    gg = zcs.zmprov("gg", "-t", "domain", MINE).stdout
    line = gg.splitlines()[2]
    assert line.split()[0] == "domain" and line.split()[-1] == "domainAdminRights", gg
    assert DA in line
    assert zcs.zmprov("ckr", "domain", MINE, DA, "createAccount").stdout.startswith("ALLOWED")
    assert zcs.zmprov("ckr", "domain", OTHER, DA, "createAccount").stdout.startswith("DENIED")
    ger = zcs.zmprov("ger", "account", f"u1@{MINE}", DA).stdout
    assert "    deleteAccount\n" in ger, ger
    assert "right type: combo" in zcs.zmprov("gr", "domainAdminRights").stdout
    assert "createAccount" in zcs.zmprov("gar", "-t", "domain").stdout.split()
    bad = zcs.zmprov("grr", "domain", MINE, "usr", f"u1@{MINE}", "createAccount", check=False)
    assert bad.returncode != 0 and "not an admin account" in bad.stderr


def test_domain_admin_creates_only_in_its_domain(zcs, token):
    status, resp, text = call(zcs, f'<CreateAccountRequest xmlns="{NS}" name="new@{MINE}" '
                                   f'password="{PASSWORD}"/>', token)
    assert status == 200, text
    assert resp.find(f"{{{NS}}}account").get("name") == f"new@{MINE}"
    status, _, text = call(zcs, f'<CreateAccountRequest xmlns="{NS}" name="new@{OTHER}" '
                                f'password="{PASSWORD}"/>', token)
    assert status == 500 and fault_code(text) == "service.PERM_DENIED", text
    assert "new@other.test" not in zcs.zmprov("gaa", OTHER).stdout


def test_domain_admin_reads_modifies_and_deletes_in_its_domain(zcs, token):
    mine_id = zcs.zmprov("ga", f"u1@{MINE}", "zimbraId").stdout.split("zimbraId: ")[1].strip()
    other_id = zcs.zmprov("ga", f"o1@{OTHER}", "zimbraId").stdout.split("zimbraId: ")[1].strip()
    status, _, text = call(zcs, f'<GetAccountRequest xmlns="{NS}"><account by="name">u1@{MINE}'
                                f"</account></GetAccountRequest>", token)
    assert status == 200 and f'name="u1@{MINE}"' in text, text
    status, _, text = call(zcs, f'<GetAccountRequest xmlns="{NS}"><account by="name">o1@{OTHER}'
                                f"</account></GetAccountRequest>", token)
    assert fault_code(text) == "service.PERM_DENIED", text
    status, _, text = call(zcs, f'<ModifyAccountRequest xmlns="{NS}" id="{mine_id}">'
                                f'<a n="displayName">Uno</a></ModifyAccountRequest>', token)
    assert status == 200, text
    status, _, text = call(zcs, f'<ModifyAccountRequest xmlns="{NS}" id="{other_id}">'
                                f'<a n="displayName">Nope</a></ModifyAccountRequest>', token)
    assert fault_code(text) == "service.PERM_DENIED", text
    status, _, text = call(zcs, f'<SetPasswordRequest xmlns="{NS}" id="{other_id}" '
                                f'newPassword="{PASSWORD}x"/>', token)
    assert fault_code(text) == "service.PERM_DENIED", text
    # Only what it may list comes back.
    status, resp, text = call(zcs, f'<GetAllAccountsRequest xmlns="{NS}"/>', token)
    assert status == 200, text
    names = {a.get("name") for a in resp.findall(f"{{{NS}}}account")}
    assert f"u1@{MINE}" in names and f"o1@{OTHER}" not in names, names
    # Requests outside its grants are refused outright.
    status, _, text = call(zcs, f'<GetAllServersRequest xmlns="{NS}"/>', token)
    assert fault_code(text) == "service.PERM_DENIED", text
    status, _, text = call(zcs, f'<DeleteAccountRequest xmlns="{NS}" id="{other_id}"/>', token)
    assert fault_code(text) == "service.PERM_DENIED", text
    status, _, text = call(zcs, f'<DeleteAccountRequest xmlns="{NS}" id="{mine_id}"/>', token)
    assert status == 200, text


def test_rights_soap_requests(zcs, token):
    status, resp, text = call(zcs, f'<CheckRightRequest xmlns="{NS}"><target type="domain" '
                                   f'by="name">{MINE}</target><grantee by="name">{DA}</grantee>'
                                   f"<right>createAccount</right></CheckRightRequest>", token)
    assert status == 200 and resp.get("allow") == "1", text
    assert resp.find(f"{{{NS}}}via/{{{NS}}}right").text == "domainAdminRights"
    status, resp, text = call(zcs, f'<GetEffectiveRightsRequest xmlns="{NS}"><target '
                                   f'type="domain" by="name">{OTHER}</target>'
                                   f"</GetEffectiveRightsRequest>", token)
    assert status == 200, text
    assert resp.find(f"{{{NS}}}target").findall(f"{{{NS}}}right") == []
    # It holds no can-delegate grant, so it cannot hand its rights on.
    status, _, text = call(zcs, f'<GrantRightRequest xmlns="{NS}"><target type="domain" '
                                f'by="name">{MINE}</target><grantee type="usr" by="name">{DA}'
                                f"</grantee><right>createAccount</right></GrantRightRequest>",
                           token)
    assert fault_code(text) == "service.PERM_DENIED", text
    status, resp, text = call(zcs, f'<GetRightRequest xmlns="{NS}"><right>adminLoginAs</right>'
                                   f"</GetRightRequest>", token)
    assert status == 200 and resp.find(f"{{{NS}}}right").get("targetType") == "account", text


def ok(text_status):
    status, _, text = text_status
    assert status == 200, text
    return text


def denied(text_status):
    _, _, text = text_status
    assert fault_code(text) == "service.PERM_DENIED", text


def list_id(z, name):
    return z.zmprov("gdl", name, "zimbraId").stdout.split("zimbraId: ")[1].split()[0]


def test_domain_admin_manages_lists_of_its_domain_only(zcs, token):
    c = lambda body: call(zcs, body, token)  # noqa: E731
    ok(c(f'<CreateDistributionListRequest xmlns="{NS}" name="newlist@{MINE}">'
         f'<a n="displayName">New</a></CreateDistributionListRequest>'))
    denied(c(f'<CreateDistributionListRequest xmlns="{NS}" name="newlist@{OTHER}"/>'))
    mine, other = list_id(zcs, f"staff@{MINE}"), list_id(zcs, f"staff@{OTHER}")
    add = '<AddDistributionListMemberRequest xmlns="{}" id="{}"><dlm>x@ext.test</dlm>' \
          '</AddDistributionListMemberRequest>'
    ok(c(add.format(NS, mine)))
    denied(c(add.format(NS, other)))
    ok(c(f'<GetDistributionListRequest xmlns="{NS}"><dl by="name">staff@{MINE}</dl>'
         f"</GetDistributionListRequest>"))
    denied(c(f'<GetDistributionListRequest xmlns="{NS}"><dl by="id">{other}</dl>'
             f"</GetDistributionListRequest>"))
    mod = '<ModifyDistributionListRequest xmlns="{}" id="{}"><a n="description">d</a>' \
          '</ModifyDistributionListRequest>'
    ok(c(mod.format(NS, mine)))
    denied(c(mod.format(NS, other)))
    ok(c(f'<AddDistributionListAliasRequest xmlns="{NS}" id="{mine}" alias="crew@{MINE}"/>'))
    denied(c(f'<AddDistributionListAliasRequest xmlns="{NS}" id="{mine}" '
             f'alias="crew@{OTHER}"/>'))
    # Renaming into a domain it does not administer is refused.
    denied(c(f'<RenameDistributionListRequest xmlns="{NS}" id="{mine}" '
             f'newName="team@{OTHER}"/>'))
    ok(c(f'<RenameDistributionListRequest xmlns="{NS}" id="{mine}" newName="team@{MINE}"/>'))
    denied(c(f'<DeleteDistributionListRequest xmlns="{NS}" id="{other}"/>'))
    _, resp, text = c(f'<GetAllDistributionListsRequest xmlns="{NS}"/>')
    names = {d.get("name") for d in resp.findall(f"{{{NS}}}dl")}
    assert f"team@{MINE}" in names and f"staff@{OTHER}" not in names, text
    ok(c(f'<DeleteDistributionListRequest xmlns="{NS}" id="{mine}"/>'))
    # The refused changes did not happen.
    got = zcs.zmprov("gdl", f"staff@{OTHER}").stdout
    assert "x@ext.test" not in got and "description" not in got, got


def test_domain_admin_reads_its_domain_and_changes_no_domain(zcs, token):
    c = lambda body: call(zcs, body, token)  # noqa: E731
    ok(c(f'<GetDomainRequest xmlns="{NS}"><domain by="name">{MINE}</domain>'
         f"</GetDomainRequest>"))
    denied(c(f'<GetDomainRequest xmlns="{NS}"><domain by="name">{OTHER}</domain>'
             f"</GetDomainRequest>"))
    dom = zcs.zmprov("gd", MINE, "zimbraId").stdout.split("zimbraId: ")[1].split()[0]
    denied(c(f'<ModifyDomainRequest xmlns="{NS}" id="{dom}"><a n="description">x</a>'
             f"</ModifyDomainRequest>"))
    denied(c(f'<DeleteDomainRequest xmlns="{NS}" id="{dom}"/>'))
    denied(c(f'<CreateDomainRequest xmlns="{NS}" name="new.{MINE}"/>'))
    _, resp, text = c(f'<GetAllDomainsRequest xmlns="{NS}"/>')
    names = {d.get("name") for d in resp.findall(f"{{{NS}}}domain")}
    assert names == {MINE}, text


def cos_id(z, name):
    return z.zmprov("gc", name, "zimbraId").stdout.split("zimbraId: ")[1].split()[0]


def test_domain_admin_assigns_only_the_cos_it_was_granted(zcs, token):
    c = lambda body: call(zcs, body, token)  # noqa: E731
    gold, silver = cos_id(zcs, "gold"), cos_id(zcs, "silver")
    acct = zcs.zmprov("ga", f"u2@{MINE}", "zimbraId").stdout.split("zimbraId: ")[1].split()[0]
    mod = '<ModifyAccountRequest xmlns="{}" id="{}"><a n="zimbraCOSId">{}</a>' \
          '</ModifyAccountRequest>'
    denied(c(mod.format(NS, acct, silver)))
    ok(c(mod.format(NS, acct, gold)))
    assert gold in zcs.zmprov("ga", f"u2@{MINE}", "zimbraCOSId").stdout
    denied(c(f'<CreateAccountRequest xmlns="{NS}" name="s@{MINE}" password="{PASSWORD}">'
             f'<a n="zimbraCOSId">{silver}</a></CreateAccountRequest>'))
    ok(c(f'<CreateAccountRequest xmlns="{NS}" name="g@{MINE}" password="{PASSWORD}">'
         f'<a n="zimbraCOSId">{gold}</a></CreateAccountRequest>'))
    ok(c(f'<GetCosRequest xmlns="{NS}"><cos by="name">gold</cos></GetCosRequest>'))
    denied(c(f'<GetCosRequest xmlns="{NS}"><cos by="name">silver</cos></GetCosRequest>'))
    denied(c(f'<ModifyCosRequest xmlns="{NS}" id="{gold}"><a n="zimbraMailQuota">1</a>'
             f"</ModifyCosRequest>"))
    denied(c(f'<DeleteCosRequest xmlns="{NS}" id="{gold}"/>'))
    denied(c(f'<CreateCosRequest xmlns="{NS}" name="bronze"/>'))
    _, resp, text = c(f'<GetAllCosRequest xmlns="{NS}"/>')
    assert {e.get("name") for e in resp.findall(f"{{{NS}}}cos")} == {"gold"}, text


def prov_as_da(z, *args):
    return z.zmprov("-a", DA, "-p", PASSWORD, *args, check=False)


def test_zmprov_as_domain_admin_is_held_to_its_grants(zcs):
    r = prov_as_da(zcs, "cdl", f"zl@{MINE}")
    assert r.returncode == 0, r.stderr
    r = prov_as_da(zcs, "cdl", f"zl@{OTHER}")
    assert r.returncode == 2 and "service.PERM_DENIED" in r.stderr, r
    assert prov_as_da(zcs, "adlm", f"zl@{MINE}", f"u2@{MINE}").returncode == 0
    r = prov_as_da(zcs, "adlm", f"staff@{OTHER}", f"u2@{MINE}")
    assert "service.PERM_DENIED" in r.stderr, r
    r = prov_as_da(zcs, "ca", f"z1@{MINE}", PASSWORD, "displayName", "Zed")
    assert r.returncode == 0, r.stderr
    r = prov_as_da(zcs, "ca", f"z1@{OTHER}", PASSWORD)
    assert "service.PERM_DENIED" in r.stderr, r
    assert "# name " in prov_as_da(zcs, "gd", MINE).stdout
    assert "service.PERM_DENIED" in prov_as_da(zcs, "gd", OTHER).stderr
    assert "service.PERM_DENIED" in prov_as_da(zcs, "md", MINE, "description", "x").stderr
    silver = cos_id(zcs, "silver")
    r = prov_as_da(zcs, "ma", f"z1@{MINE}", "zimbraCOSId", silver)
    assert "service.PERM_DENIED" in r.stderr, r
    r = prov_as_da(zcs, "ma", f"z1@{MINE}", "zimbraCOSId", cos_id(zcs, "gold"))
    assert r.returncode == 0, r.stderr
    # Commands outside the gate's list are refused, never run with full power.
    r = prov_as_da(zcs, "ms", "whatever", "description", "x")
    assert r.returncode == 2 and "service.PERM_DENIED" in r.stderr, r
    assert "zl@other.test" not in zcs.zmprov("gadl").stdout
