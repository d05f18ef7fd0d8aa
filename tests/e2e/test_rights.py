"""Delegated administration end to end: rights granted with zmprov (grr, gg, ckr, ger,
gr) against a real zcs home, then a domain admin on the admin SOAP port who may create,
read, modify and delete accounts in its own domain and is refused in another one, with
searches trimmed to what it may list."""

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
    z.zmprov("grr", "domain", MINE, "usr", DA, "domainAdminRights")
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
    status, _, text = call(zcs, f'<GetAllDomainsRequest xmlns="{NS}"/>', token)
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
