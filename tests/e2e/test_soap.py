"""SOAP/JSON API end to end against the real binary: user auth over HTTP and HTTPS,
admin API over TLS on the admin port (admin only), JSON and XML, AddMsg/Search/GetMsg."""

import time

import pytest

from soap_util import envelope, fault_code, json_request, post, soap_body, ssl_context
from zcs import Zcs

USER = "soap1@soap.test"
PASSWORD = "soap-pass-1"


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap"))
    z.init()
    z.zmprov("cd", "soap.test")
    z.zmprov("ca", USER, PASSWORD)
    z.zmprov("ca", "boss@soap.test", PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.start()
    yield z
    z.stop()


def urls(z):
    return (f"http://127.0.0.1:{z.http_port}/service/soap",
            f"https://127.0.0.1:{z.https_port}/service/soap",
            f"https://127.0.0.1:{z.admin_port}/service/admin/soap")


def auth_xml(url, user, ns="urn:zimbraAccount", ctx=None):
    body = (f'<AuthRequest xmlns="{ns}"><account by="name">{user}</account>'
            f"<password>{PASSWORD}</password></AuthRequest>")
    return post(url, envelope(body), ctx)


def test_user_auth_http_and_https(zcs):
    http, https, _ = urls(zcs)
    status, headers, text = auth_xml(http, USER)
    assert status == 200, text
    _, resp = soap_body(text)
    token = resp.find("{urn:zimbraAccount}authToken").text
    assert token.startswith("0_")
    status, _, text = auth_xml(https, USER, ctx=ssl_context(zcs.ca_file()))
    assert status == 200, text
    status, js = json_request(http, "GetInfoRequest", "urn:zimbraAccount", {}, token)
    assert status == 200, js
    assert js["Body"]["GetInfoResponse"]["name"] == USER


def test_admin_port_is_tls_and_admin_only(zcs):
    _, _, admin = urls(zcs)
    ctx = ssl_context(zcs.ca_file())
    status, _, text = auth_xml(admin, USER, "urn:zimbraAdmin", ctx)
    assert status == 500 and fault_code(text) == "service.PERM_DENIED", text
    status, _, text = auth_xml(admin, "boss@soap.test", "urn:zimbraAdmin", ctx)
    assert status == 200, text
    _, resp = soap_body(text)
    token = resp.find("{urn:zimbraAdmin}authToken").text
    status, _, text = post(admin, envelope(
        '<GetAccountRequest xmlns="urn:zimbraAdmin"><account by="name">'
        f"{USER}</account></GetAccountRequest>", token), ctx)
    assert status == 200, text
    assert f'name="{USER}"' in text
    # The user port does not serve admin requests.
    http, _, _ = urls(zcs)
    status, _, text = post(http, envelope('<GetAllDomainsRequest xmlns="urn:zimbraAdmin"/>', token))
    assert fault_code(text) == "service.UNKNOWN_DOCUMENT"


def test_addmsg_search_getmsg(zcs):
    http, _, _ = urls(zcs)
    status, headers, text = auth_xml(http, USER)
    token = soap_body(text)[1].find("{urn:zimbraAccount}authToken").text
    mime = "From: Ann <ann@remote.test>\nTo: soap1@soap.test\nSubject: quarterly numbers\n\nbody text here\n"
    status, js = json_request(http, "AddMsgRequest", "urn:zimbraMail",
                              {"m": {"l": "2", "content": {"_content": mime}}}, token)
    assert status == 200, js
    mid = js["Body"]["AddMsgResponse"]["m"][0]["id"]
    # The index catches up asynchronously: poll for a few seconds.
    for _ in range(50):
        status, js = json_request(http, "SearchRequest", "urn:zimbraMail",
                                  {"query": "in:inbox subject:quarterly", "types": "message"}, token)
        assert status == 200, js
        hits = js["Body"]["SearchResponse"].get("m", [])
        if hits:
            break
        time.sleep(0.2)
    assert [h["id"] for h in hits] == [mid], js
    status, js = json_request(http, "GetMsgRequest", "urn:zimbraMail", {"m": {"id": mid}}, token)
    assert status == 200, js
    assert js["Body"]["GetMsgResponse"]["m"][0]["su"][0]["_content"] == "quarterly numbers"
