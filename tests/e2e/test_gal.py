"""The global address list over SOAP: SearchGal and AutoCompleteGal find the domain's
accounts by name and address, never one hidden with zimbraHideInGal, and are refused
when the COS turns the GAL off."""

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "gal.test"
PASSWORD = "gal-pass-5"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("gal"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", f"alice@{DOMAIN}", PASSWORD, "displayName", "Alice Liddell")
    z.zmprov("ca", f"alfred@{DOMAIN}", PASSWORD, "displayName", "Alfred Hitch")
    z.zmprov("ca", f"ghost@{DOMAIN}", PASSWORD, "displayName", "Alice Ghost",
             "zimbraHideInGal", "TRUE")
    z.zmprov("cc", "nogal", "zimbraFeatureGalEnabled", "FALSE",
             "zimbraFeatureGalAutoCompleteEnabled", "FALSE")
    z.zmprov("ca", f"nogal@{DOMAIN}", PASSWORD, "zimbraCOSId",
             z.zmprov("gc", "nogal", "zimbraId").stdout.split("zimbraId: ")[1].strip())
    z.start()
    yield z
    z.stop()


def token(z, user):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return url, (t["_content"] if isinstance(t, dict) else t)


def emails(js, name):
    out = []
    for cn in js["Body"][name].get("cn", []):
        attrs = cn.get("_attrs") if isinstance(cn.get("_attrs"), dict) else {}
        value = attrs.get("email")
        out.extend(value if isinstance(value, list) else [value] if value else [])
        for a in cn.get("a", []):
            if a.get("n") == "email":
                out.append(a.get("_content"))
    return out


def test_search_gal_finds_accounts_but_not_hidden_ones(z):
    url, t = token(z, f"alice@{DOMAIN}")
    status, js = json_request(url, "SearchGalRequest", "urn:zimbraAccount",
                              {"name": {"_content": "alice"}}, t)
    assert status == 200, js
    found = emails(js, "SearchGalResponse")
    assert f"alice@{DOMAIN}" in found, js
    assert f"ghost@{DOMAIN}" not in found, js


def test_autocomplete_matches_prefixes(z):
    url, t = token(z, f"alice@{DOMAIN}")
    status, js = json_request(url, "AutoCompleteGalRequest", "urn:zimbraAccount",
                              {"name": {"_content": "alf"}}, t)
    assert status == 200, js
    found = emails(js, "AutoCompleteGalResponse")
    assert found == [f"alfred@{DOMAIN}"], js


def test_gal_off_in_the_cos_is_refused(z):
    url, t = token(z, f"nogal@{DOMAIN}")
    status, js = json_request(url, "SearchGalRequest", "urn:zimbraAccount",
                              {"name": {"_content": "alice"}}, t)
    assert status == 500 and "PERM_DENIED" in str(js), js
