"""Admin account requests over the admin port, as Zimbra answers them: SearchAccounts with
an LDAP filter, CountAccount per COS, CheckPasswordStrength, the attribute checks of
Create/ModifyAccount (LDAP integer form, duration overflow, immutable attributes,
clear-text userPassword) and RemoveAccountAlias faults."""

import pytest

from soap_util import envelope, fault_code, post, soap_body, ssl_context
from zcs import Zcs

ADMIN = "boss@acct.test"
PASSWORD = "admin-pass-1"
NS = "urn:zimbraAdmin"


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap-admin-accounts"))
    z.init()
    z.zmprov("cd", "acct.test")
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.zmprov("mc", "default", "zimbraPasswordMinLength", "6", check=False)
    z.start()
    url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
    ctx = ssl_context(z.ca_file())
    body = (f'<AuthRequest xmlns="{NS}"><name>{ADMIN}</name>'
            f"<password>{PASSWORD}</password></AuthRequest>")
    status, _, text = post(url, envelope(body), ctx)
    assert status == 200, text
    token = soap_body(text)[1].find(f"{{{NS}}}authToken").text

    def call(xml):
        status, _, text = post(url, envelope(xml, token), ctx)
        return status, text

    yield call
    z.stop()


def create(call, name, *attrs, password="secret-1"):
    a = "".join(f'<a n="{n}">{v}</a>' for n, v in attrs)
    return call(f'<CreateAccountRequest xmlns="{NS}"><name>{name}</name>'
                f"<password>{password}</password>{a}</CreateAccountRequest>")


def account_id(text):
    return soap_body(text)[1].find(f"{{{NS}}}account").get("id")


def test_search_and_count_accounts(admin):
    status, text = create(admin, "search1@acct.test")
    assert status == 200, text
    ident = account_id(text)
    status, text = admin(f'<SearchAccountsRequest xmlns="{NS}">'
                         f"<query>zimbraId={ident}</query></SearchAccountsRequest>")
    assert status == 200, text
    found = soap_body(text)[1].findall(f"{{{NS}}}account")
    assert [a.get("id") for a in found] == [ident]
    status, text = admin(f'<CountAccountRequest xmlns="{NS}">'
                         f'<domain by="name">acct.test</domain></CountAccountRequest>')
    assert status == 200, text
    cos = soap_body(text)[1].findall(f"{{{NS}}}cos")
    assert sum(int(c.text) for c in cos) >= 2
    status, text = admin(f'<CountAccountRequest xmlns="{NS}">'
                         f'<domain by="name">nowhere.test</domain></CountAccountRequest>')
    assert status == 500 and fault_code(text) == "account.NO_SUCH_DOMAIN", text


def test_check_password_strength(admin):
    status, text = create(admin, "strength@acct.test")
    ident = account_id(text)
    ok = (f'<CheckPasswordStrengthRequest xmlns="{NS}"><id>{ident}</id>'
          f"<password>long-enough</password></CheckPasswordStrengthRequest>")
    assert admin(ok)[0] == 200
    short = ok.replace("long-enough", "ab")
    status, text = admin(short)
    assert status == 500 and fault_code(text) == "account.INVALID_PASSWORD", text


def test_attribute_checks_follow_zimbra(admin):
    status, text = create(admin, "attrs@acct.test")
    ident = account_id(text)

    def modify(name, value):
        return admin(f'<ModifyAccountRequest xmlns="{NS}"><id>{ident}</id>'
                     f'<a n="{name}">{value}</a></ModifyAccountRequest>')

    status, text = modify("zimbraContactMaxNumEntries", "0034323")
    assert fault_code(text) == "account.INVALID_ATTR_VALUE", text
    assert modify("zimbraContactMaxNumEntries", "34323")[0] == 200
    status, text = modify("zimbraPrefMailPollingInterval", "12345678901234567890")
    assert fault_code(text) == "service.FAILURE", text
    status, text = modify("zimbraAuthTokenLifetime", "0")
    assert fault_code(text) == "service.INVALID_REQUEST", text
    status, text = modify("zimbraMailDeliveryAddress", "x@acct.test")
    assert fault_code(text) == "service.INVALID_REQUEST", text
    assert "zimbraMailDeliveryAddress is immutable" in text
    status, text = modify("userPassword", "clear-text-1")
    assert status == 200, text
    assert "clear-text-1" not in text
    status, text = create(admin, "mail@acct.test", ("mail", "other@acct.test"))
    assert fault_code(text) == "service.INVALID_REQUEST", text
    status, text = create(admin, "blank@acct.test", password="")
    assert fault_code(text) == "account.INVALID_PASSWORD", text


def test_remove_alias_faults(admin):
    status, text = create(admin, "alias@acct.test")
    ident = account_id(text)

    def remove(alias):
        return admin(f'<RemoveAccountAliasRequest xmlns="{NS}"><id>{ident}</id>'
                     f"<alias>{alias}</alias></RemoveAccountAliasRequest>")

    assert fault_code(remove("alias01")[1]) == "service.INVALID_REQUEST"
    assert fault_code(remove("a@no.such.domain")[1]) == "account.NO_SUCH_DOMAIN"
    assert fault_code(remove("never@acct.test")[1]) == "account.NO_SUCH_ALIAS"


def test_gal_sync_accounts(admin):
    status, text = admin(f'<CreateDomainRequest xmlns="{NS}"><name>gs.acct.test</name>'
                         f"</CreateDomainRequest>")
    assert status == 200, text
    dom = soap_body(text)[1].find(f"{{{NS}}}domain")
    assert any(a.get("n") == "zimbraMailStatus" and a.text == "enabled"
               for a in dom.findall(f"{{{NS}}}a")), text
    status, text = admin(f'<CreateGalSyncAccountRequest xmlns="{NS}" name="gal1" type="zimbra" '
                         f'domain="gs.acct.test"><account by="name">galsync@gs.acct.test'
                         f"</account></CreateGalSyncAccountRequest>")
    assert status == 200, text
    gal_id = account_id(text)
    status, text = admin(f'<AddGalSyncDataSourceRequest xmlns="{NS}" name="gal2" type="ldap" '
                         f'domain="gs.acct.test"><account by="id">{gal_id}</account>'
                         f"</AddGalSyncDataSourceRequest>")
    assert status == 200 and account_id(text) == gal_id, text
    status, text = admin(f'<SyncGalAccountRequest xmlns="{NS}"><account id="{gal_id}">'
                         f'<datasource by="name">gal1</datasource></account>'
                         f"</SyncGalAccountRequest>")
    assert status == 200, text
    status, text = admin(f'<GetDomainRequest xmlns="{NS}"><domain by="name">gs.acct.test'
                         f"</domain></GetDomainRequest>")
    assert f'<a n="zimbraGalAccountId">{gal_id}</a>' in text, text
    status, text = admin(f'<DeleteGalSyncAccountRequest xmlns="{NS}"><account by="name">'
                         f"galsync@gs.acct.test</account></DeleteGalSyncAccountRequest>")
    assert status == 200, text
    status, text = admin(f'<GetAccountRequest xmlns="{NS}"><account by="id">{gal_id}'
                         f"</account></GetAccountRequest>")
    assert fault_code(text) == "account.NO_SUCH_ACCOUNT", text


def test_zimlets(admin):
    status, text = admin(f'<CreateZimletRequest xmlns="{NS}"><name>com_zcs_test</name>'
                         f'<a n="zimbraZimletEnabled">TRUE</a>'
                         f'<a n="zimbraZimletPriority">21</a></CreateZimletRequest>')
    assert status == 200 and 'name="com_zcs_test"' in text, text
    status, text = admin(f'<ModifyZimletRequest xmlns="{NS}"><zimlet name="com_zcs_test">'
                         f'<status value="disabled"/><acl cos="default" acl="grant"/>'
                         f"</zimlet></ModifyZimletRequest>")
    assert status == 200, text
    status, text = admin(f'<GetZimletStatusRequest xmlns="{NS}"/>')
    resp = soap_body(text)[1]
    z = resp.find(f"{{{NS}}}zimlets/{{{NS}}}zimlet[@name='com_zcs_test']")
    assert z is not None and z.get("status") == "disabled", text
    c = resp.find(f"{{{NS}}}cos[@name='default']/{{{NS}}}zimlet[@name='com_zcs_test']")
    assert c is not None and c.get("status") == "enabled", text
    status, text = admin(f'<UndeployZimletRequest xmlns="{NS}" name="com_zcs_test"/>')
    assert status == 200, text
    status, text = admin(f'<GetZimletRequest xmlns="{NS}"><zimlet name="com_zcs_test"/>'
                         f"</GetZimletRequest>")
    assert fault_code(text) is not None and "NO_SUCH_ZIMLET" in text, text
