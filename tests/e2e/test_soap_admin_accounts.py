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
