"""SOAP/JSON API end to end against the real binary: user auth over HTTP and HTTPS,
admin API over TLS on the admin port (admin only), JSON and XML, AddMsg/Search/GetMsg,
contacts, appointments and folder sharing."""

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
    status, _, text = post(http, envelope('<GetAllDomainsRequest xmlns="urn:zimbraAdmin"/>',
                                          token))
    assert fault_code(text) == "service.UNKNOWN_DOCUMENT"


def test_addmsg_search_getmsg(zcs):
    http, _, _ = urls(zcs)
    status, headers, text = auth_xml(http, USER)
    token = soap_body(text)[1].find("{urn:zimbraAccount}authToken").text
    mime = ("From: Ann <ann@remote.test>\nTo: soap1@soap.test\nSubject: quarterly numbers\n"
            "\nbody text here\n")
    status, js = json_request(http, "AddMsgRequest", "urn:zimbraMail",
                              {"m": {"l": "2", "content": {"_content": mime}}}, token)
    assert status == 200, js
    mid = js["Body"]["AddMsgResponse"]["m"][0]["id"]
    # The index catches up asynchronously: poll for a few seconds.
    for _ in range(50):
        status, js = json_request(http, "SearchRequest", "urn:zimbraMail",
                                  {"query": "in:inbox subject:quarterly", "types": "message"},
                                  token)
        assert status == 200, js
        hits = js["Body"]["SearchResponse"].get("m", [])
        if hits:
            break
        time.sleep(0.2)
    assert [h["id"] for h in hits] == [mid], js
    status, js = json_request(http, "GetMsgRequest", "urn:zimbraMail", {"m": {"id": mid}}, token)
    assert status == 200, js
    assert js["Body"]["GetMsgResponse"]["m"][0]["su"] == "quarterly numbers"


def _token(url, user):
    status, _, text = auth_xml(url, user)
    assert status == 200, text
    return soap_body(text)[1].find("{urn:zimbraAccount}authToken").text


def test_contacts_calendar_and_sharing_json(zcs):
    http, _, _ = urls(zcs)
    zcs.zmprov("ca", "soap2@soap.test", PASSWORD)
    owner = _token(http, USER)
    other = _token(http, "soap2@soap.test")
    # A contact with fields as _attrs, read back.
    status, js = json_request(http, "CreateContactRequest", "urn:zimbraMail",
                              {"cn": {"a": [{"n": "firstName", "_content": "Ann"},
                                            {"n": "email", "_content": "ann@x.test"}]}}, owner)
    assert status == 200, js
    cn = js["Body"]["CreateContactResponse"]["cn"][0]
    assert cn["_attrs"]["email"] == "ann@x.test", js
    status, js = json_request(http, "GetContactsRequest", "urn:zimbraMail",
                              {"cn": [{"id": cn["id"]}]}, other)
    assert status == 500, js
    assert js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "mail.NO_SUCH_CONTACT"
    # An appointment, read back.
    comp = {"name": "Sync", "s": {"d": "20261210T100000Z"}, "e": {"d": "20261210T103000Z"}}
    status, js = json_request(http, "CreateAppointmentRequest", "urn:zimbraMail",
                              {"m": {"inv": {"comp": [comp]}}}, owner)
    assert status == 200, js
    appt = js["Body"]["CreateAppointmentResponse"]["calItemId"]
    status, js = json_request(http, "GetAppointmentRequest", "urn:zimbraMail", {"id": appt}, owner)
    assert status == 200, js
    assert js["Body"]["GetAppointmentResponse"]["appt"][0]["inv"][0]["comp"][0]["name"] == "Sync"
    # Sharing: nothing without a grant, read after one.
    status, js = json_request(http, "GetInfoRequest", "urn:zimbraAccount", {}, owner)
    owner_id = js["Body"]["GetInfoResponse"]["id"]
    req = {"folder": {"l": f"{owner_id}:10"}}
    status, js = json_request(http, "GetEffectiveFolderPermsRequest", "urn:zimbraMail", req, other)
    assert status == 500 and js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "service.PERM_DENIED"
    status, js = json_request(http, "FolderActionRequest", "urn:zimbraMail",
                              {"action": {"id": "10", "op": "grant",
                                          "grant": {"gt": "usr", "d": "soap2@soap.test",
                                                    "perm": "r"}}}, owner)
    assert status == 200, js
    status, js = json_request(http, "GetEffectiveFolderPermsRequest", "urn:zimbraMail", req, other)
    assert status == 200, js
    assert js["Body"]["GetEffectiveFolderPermsResponse"]["folder"][0]["perm"] == "r"
