"""The user side of the rights engine over SOAP: CheckRights answers whether the caller
may use rights on entries, DiscoverRights lists the entries whose grants give it a right
(directly or through a list it is in), and a denial on the target wins."""

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "ur.test"
PASSWORD = "rights-pass-7"
NS = "urn:zimbraAccount"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("user-rights"))
    z.init()
    z.zmprov("cd", DOMAIN)
    for user in ("boss", "helper", "other", "team-boss"):
        z.zmprov("ca", f"{user}@{DOMAIN}", PASSWORD, "displayName", user.title())
    z.zmprov("cdl", f"team@{DOMAIN}")
    z.zmprov("adlm", f"team@{DOMAIN}", f"helper@{DOMAIN}")
    z.zmprov("grr", "account", f"boss@{DOMAIN}", "usr", f"helper@{DOMAIN}", "sendAs")
    z.zmprov("grr", "account", f"team-boss@{DOMAIN}", "grp", f"team@{DOMAIN}", "sendAs")
    z.zmprov("grr", "account", f"other@{DOMAIN}", "grp", f"team@{DOMAIN}", "sendAs")
    z.zmprov("grr", "account", f"other@{DOMAIN}", "usr", f"helper@{DOMAIN}", "-sendAs")
    z.start()
    yield z
    z.stop()


def token(z, user):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", NS,
                              {"account": {"by": "name", "_content": user},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return url, (t["_content"] if isinstance(t, dict) else t)


def truthy(v):
    return v in (True, 1, "1", "true", "TRUE")


def check(z, user, key, right="sendAs"):
    url, t = token(z, user)
    status, js = json_request(url, "CheckRightsRequest", NS,
                              {"target": [{"type": "account", "by": "name", "key": key,
                                           "right": [{"_content": right}]}]}, t)
    assert status == 200, js
    target = js["Body"]["CheckRightsResponse"]["target"][0]
    assert target["key"] == key
    return truthy(target["allow"]), truthy(target["right"][0]["allow"])


def test_check_rights_follows_grants_groups_and_denials(z):
    assert check(z, f"helper@{DOMAIN}", f"boss@{DOMAIN}") == (True, True)
    assert check(z, f"helper@{DOMAIN}", f"team-boss@{DOMAIN}") == (True, True)
    # The user grant denying beats the group grant allowing.
    assert check(z, f"helper@{DOMAIN}", f"other@{DOMAIN}") == (False, False)
    assert check(z, f"other@{DOMAIN}", f"boss@{DOMAIN}") == (False, False)
    # An address naming no entry allows nothing.
    assert check(z, f"helper@{DOMAIN}", f"nobody@{DOMAIN}") == (False, False)


def test_check_rights_refuses_unknown_rights(z):
    url, t = token(z, f"helper@{DOMAIN}")
    status, js = json_request(url, "CheckRightsRequest", NS,
                              {"target": [{"type": "account", "by": "name",
                                           "key": f"boss@{DOMAIN}",
                                           "right": [{"_content": "noSuchRight"}]}]}, t)
    assert status == 500, js
    assert js["Body"]["Fault"]["Detail"]["Error"]["Code"] == "account.NO_SUCH_RIGHT", js


def test_discover_rights_lists_granting_entries(z):
    url, t = token(z, f"helper@{DOMAIN}")
    status, js = json_request(url, "DiscoverRightsRequest", NS,
                              {"right": [{"_content": "sendAs"}]}, t)
    assert status == 200, js
    targets = js["Body"]["DiscoverRightsResponse"]["targets"]
    assert targets[0]["right"] == "sendAs"
    names = [x["name"] for x in targets[0].get("target", [])]
    assert names == [f"boss@{DOMAIN}", f"team-boss@{DOMAIN}"], js
    first = targets[0]["target"][0]
    assert first["type"] == "account" and first["d"] == "Boss"
    assert first["email"][0]["addr"] == f"boss@{DOMAIN}"

    url, t = token(z, f"other@{DOMAIN}")
    status, js = json_request(url, "DiscoverRightsRequest", NS,
                              {"right": [{"_content": "sendAs"}]}, t)
    assert status == 200, js
    assert not js["Body"]["DiscoverRightsResponse"]["targets"][0].get("target"), js
