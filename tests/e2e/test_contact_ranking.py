"""AutoComplete's ranking and GAL matches over SOAP: addresses the account wrote to
more often come first, RankingActionRequest delete/reset start an address's count
again from zero, and with zimbraPrefGalAutoCompleteEnabled the GAL's accounts are
matched too (type="gal"), ranked like contacts; a CSV import tags contacts with their
categories. The harness cases
RankingActionRequest_delete_01, AutoCompleteRequest_GAL_Ranking_01 and
ImportContactsRequest9 check the same."""

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "rank.test"
PASSWORD = "rank-pass-5"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("ranking"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", f"writer@{DOMAIN}", PASSWORD)
    z.zmprov("ca", f"galwriter@{DOMAIN}", PASSWORD,
             "zimbraPrefGalAutoCompleteEnabled", "FALSE")
    for user in ("one", "two", "three"):
        z.zmprov("ca", f"{user}@{DOMAIN}", PASSWORD, "givenName", "Quux",
                 "sn", user.title(), "displayName", f"Quux {user.title()}")
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


def call(url, tok, name, body):
    status, js = json_request(url, name, "urn:zimbraMail", body, tok)
    assert status == 200, js
    return js["Body"][name.replace("Request", "Response")]


def send(url, tok, to):
    call(url, tok, "SendMsgRequest",
         {"m": {"e": [{"t": "t", "a": to}], "su": {"_content": f"to {to}"},
                "mp": [{"ct": "text/plain", "content": {"_content": "hello"}}]}})


def ranks(url, tok):
    """address -> (ranking, type) of AutoComplete's matches for "quux"."""
    r = call(url, tok, "AutoCompleteRequest", {"name": {"_content": "quux"}})
    out = {}
    for m in r.get("match", []):
        addr = m["email"].rsplit("<", 1)[-1].rstrip(">")
        out[addr] = (int(m["ranking"]), m["type"])
    return out


def test_delete_and_reset_start_the_ranking_again(z):
    url, tok = token(z, f"writer@{DOMAIN}")
    for user in ("one", "two", "three"):
        call(url, tok, "CreateContactRequest",
             {"cn": {"a": [{"n": "firstName", "_content": "Quux"},
                           {"n": "lastName", "_content": user},
                           {"n": "email", "_content": f"{user}@{DOMAIN}"}]}})
    send(url, tok, f"one@{DOMAIN}")
    send(url, tok, f"two@{DOMAIN}")
    send(url, tok, f"two@{DOMAIN}")
    got = ranks(url, tok)
    assert {a: r for a, (r, _) in got.items()} == {
        f"one@{DOMAIN}": 1, f"two@{DOMAIN}": 2, f"three@{DOMAIN}": 0}
    call(url, tok, "RankingActionRequest", {"action": {"op": "delete",
                                                       "email": f"TWO@{DOMAIN}"}})
    got = ranks(url, tok)
    assert got[f"two@{DOMAIN}"][0] == 0 and got[f"one@{DOMAIN}"][0] == 1
    # Writing again counts from zero.
    send(url, tok, f"two@{DOMAIN}")
    assert ranks(url, tok)[f"two@{DOMAIN}"][0] == 1
    call(url, tok, "RankingActionRequest", {"action": {"op": "reset"}})
    assert all(r == 0 for r, _ in ranks(url, tok).values())


def test_gal_matches_follow_the_preference_and_are_ranked(z):
    # Without the preference, no GAL matches (and this account has no contacts).
    url, tok = token(z, f"galwriter@{DOMAIN}")
    assert ranks(url, tok) == {}
    z.zmprov("ma", f"galwriter@{DOMAIN}", "zimbraPrefGalAutoCompleteEnabled", "TRUE")
    send(url, tok, f"three@{DOMAIN}")
    send(url, tok, f"three@{DOMAIN}")
    send(url, tok, f"one@{DOMAIN}")
    r = call(url, tok, "AutoCompleteRequest", {"name": {"_content": "quux"}})
    order = [m["email"].rsplit("<", 1)[-1].rstrip(">") for m in r["match"]]
    assert order[:2] == [f"three@{DOMAIN}", f"one@{DOMAIN}"], order
    got = ranks(url, tok)
    assert got[f"three@{DOMAIN}"] == (2, "gal") and got[f"two@{DOMAIN}"] == (0, "gal")


def test_csv_import_tags_contacts_with_their_categories(z):
    # Yahoo's Category column (harness ImportContactsRequest9) becomes tags.
    url, tok = token(z, f"writer@{DOMAIN}")
    csv = ('"First","Last","Email","Category"\r\n'
           '"Poonam","Jaiswal","poonam@x.test","my-dl;Office-ppl"\r\n')
    r = call(url, tok, "ImportContactsRequest",
             {"ct": "csv", "content": {"_content": csv}})
    cid = r["cn"][0]["ids"] if isinstance(r["cn"], list) else r["cn"]["ids"]
    tags = {t["name"]: t["id"] for t in call(url, tok, "GetTagRequest", {}).get("tag", [])}
    assert {"my-dl", "Office-ppl"} <= set(tags), tags
    got = call(url, tok, "GetContactsRequest", {"cn": {"id": cid}})["cn"][0]
    assert set(got.get("tn", "").split(",")) == {"my-dl", "Office-ppl"}, got
    assert not any(a.get("n") == "Category" for a in got.get("a", [])) and \
        "Category" not in got.get("_attrs", {}), got
