"""Hostile SOAP bodies against a real server (issue 8, "Done when": malformed XML and
JSON, huge and deeply nested envelopes, entity expansion and external entities get a
fault, never a crash or a file read). Replays zimbra-qa/security/ as it is, and after
every body checks the server still answers."""

import json

import pytest

from soap_util import fault_code, json_request, post
from zcs import CORPUS, Zcs

USER = "bad@badinput.test"
PASSWORD = "bad-input-pass-3"
SECURITY = CORPUS / "zimbra-qa" / "security"

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
          '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
          '<GetInfoRequest xmlns="urn:zimbraAccount">&lol3;</GetInfoRequest>'
          '</soap:Body></soap:Envelope>')
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
       '<AuthRequest xmlns="urn:zimbraAccount"><account by="name">&x;</account>'
       '<password>x</password></AuthRequest></soap:Body></soap:Envelope>')


def envelope(inner):
    return ('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
            f'<soap:Body>{inner}</soap:Body></soap:Envelope>')


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = Zcs(tmp_path_factory.mktemp("zcs-bad-input"))
    home.init()
    home.zmprov("cd", "badinput.test")
    home.zmprov("ca", USER, PASSWORD)
    home.start()
    yield home
    home.stop()


def url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def alive(z):
    status, js = json_request(url(z), "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": USER},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js


def bodies():
    deep_xml = envelope("<GetInfoRequest xmlns=\"urn:zimbraAccount\">"
                        + "<a>" * 5000 + "</a>" * 5000 + "</GetInfoRequest>")
    deep_json = ('{"Body":{"GetInfoRequest":{"_jsns":"urn:zimbraAccount","a":'
                 + "[" * 5000 + "]" * 5000 + "}}}")
    deep_obj = ('{"Body":{"GetInfoRequest":{"_jsns":"urn:zimbraAccount","a":'
                + '{"b":' * 3000 + "1" + "}" * 3000 + "}}}")
    wide = envelope('<GetInfoRequest xmlns="urn:zimbraAccount">'
                    + "<a/>" * 200_000 + "</GetInfoRequest>")
    many_attrs = envelope('<GetInfoRequest xmlns="urn:zimbraAccount" '
                          + " ".join(f'a{i}="x"' for i in range(20_000)) + "/>")
    return [
        ("laughs", LAUGHS),
        ("xxe", XXE),
        ("deep xml", deep_xml),
        ("deep json arrays", deep_json),
        ("deep json objects", deep_obj),
        ("wide", wide),
        ("many attributes", many_attrs),
        ("truncated xml", envelope("<GetInfoRequest")[:-10]),
        ("truncated json", '{"Body":{"GetInfoRequest":{'),
        ("json not an object", "[1,2,3]"),
        ("json body a string", '{"Body":"x"}'),
        ("bad utf-8", b"\xff\xfe<soap:Envelope/>".decode("latin-1")),
        ("nul bytes", envelope("<GetInfoRequest xmlns=\"urn:zimbraAccount\">\x00</GetInfoRequest>")),
        ("processing instruction", '<?xml-stylesheet href="file:///etc/passwd"?>'
                                   + envelope('<NoOpRequest xmlns="urn:zimbraMail"/>')),
    ]


@pytest.mark.parametrize("name,body", bodies(), ids=[b[0] for b in bodies()])
def test_hostile_body_gets_a_fault(z, name, body):
    status, _, text = post(url(z), body, timeout=60)
    assert status in (400, 413, 500), (name, status, text[:300])
    assert "root:" not in text, name
    if status == 500:
        code = fault_code(text) if text.lstrip().startswith("<") else \
            json.loads(text)["Body"]["Fault"]["Detail"]["Error"]["Code"]
        assert code in ("service.PARSE_ERROR", "service.INVALID_REQUEST",
                        "service.AUTH_REQUIRED"), (name, text[:300])
    alive(z)


@pytest.mark.parametrize("name", ["evil.xml", "soap.xml"])
def test_security_corpus_is_refused_without_a_file_read(z, name):
    path = SECURITY / name
    if not path.exists():
        pytest.skip(f"{path} absent")
    body = path.read_bytes().decode("utf-8", "replace")
    for endpoint in (url(z), f"http://127.0.0.1:{z.http_port}/service/soap/NoOpRequest"):
        status, _, text = post(endpoint, body, timeout=60)
        assert status in (400, 500), (name, status, text[:300])
        assert "root:" not in text
        assert fault_code(text) == "service.PARSE_ERROR", text[:300]
    alive(z)
