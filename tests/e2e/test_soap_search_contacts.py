"""SearchRequest and contact requests against a running server, for behaviour Zimbra's
harness does not check in CI: message dates compare the Date header in the request's
zone (date:, before:, after:, relative forms), Trash and Junk are left out unless named,
hits of several types in one answer, requested headers on hits, parse errors, contact
tags (ContactAction, Create/ModifyContact, tag: searches, cn t/tn), searches of a
mounted address book, and RankingAction."""

import smtplib
import time

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "srch.test"
ANN = f"ann@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "srch-secret-1"
MAIL = "urn:zimbraMail"

OLD = ("From: Old Sender <old@example.com>\r\nTo: ann@srch.test\r\n"
       "Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{subject}@example.com>\r\n"
       "\r\nbody of {subject}\r\n")
UNDATED = ("From: nodate@example.com\r\nTo: ann@srch.test\r\nSubject: undated one\r\n"
           "\r\nno date header here\r\n")


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("soap-search-contacts"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", ANN, PASSWORD)
    z.zmprov("ca", BOB, PASSWORD)
    z.start()
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=60) as lmtp:
        for subject, date in [("mayfifteen", "Sun, 15 May 2005 10:00:00 -0700"),
                              ("junefirst", "Wed, 1 Jun 2005 10:00:00 -0700"),
                              ("junefifteen", "Wed, 15 Jun 2005 23:30:00 -0700")]:
            lmtp.sendmail("old@example.com", [ANN], OLD.format(subject=subject, date=date))
        lmtp.sendmail("nodate@example.com", [ANN], UNDATED)
    yield z
    z.stop()


def url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def token(z, user=ANN):
    status, js = json_request(url(z), "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user},
                               "password": PASSWORD})
    assert status == 200, js
    v = js["Body"]["AuthResponse"]["authToken"]
    v = v[0] if isinstance(v, list) else v
    return v["_content"] if isinstance(v, dict) else v


def call(z, tok, name, body, ns=MAIL):
    status, js = json_request(url(z), name, ns, body, tok)
    resp = js["Body"].get(name.replace("Request", "Response"))
    fault = js["Body"].get("Fault")
    code = fault["Detail"]["Error"]["Code"] if fault else None
    return status, resp, code


def text(v):
    if isinstance(v, list):
        v = v[0]
    return v["_content"] if isinstance(v, dict) else v


def subjects(z, tok, query, tz="UTC", types="message"):
    body = {"types": types, "query": query, "limit": 100}
    if tz:
        body["tz"] = {"id": tz}
    _, resp, code = call(z, tok, "SearchRequest", body)
    assert code is None, (query, code)
    return sorted(text(m["su"]) for m in resp.get("m", []))


def wait_for(pred, what):
    for _ in range(50):
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(what)


def test_dates_compare_the_date_header_in_the_requests_zone(z):
    tok = token(z)
    wait_for(lambda: len(subjects(z, tok, "in:inbox")) == 4, "four messages delivered")
    assert subjects(z, tok, "date:6/1/2005") == ["junefirst"]
    assert subjects(z, tok, "date:5/15/2005") == ["mayfifteen"]
    # The undated message falls back to its delivery date, today.
    assert subjects(z, tok, "after:6/2/2005") == ["junefifteen", "undated one"]
    assert subjects(z, tok, "after:6/15/2005 before:1/1/2006") == ["junefifteen"]
    assert subjects(z, tok, "after:5/22/2005 before:6/6/2005") == ["junefirst"]
    assert subjects(z, tok, "before:6/1/2005") == ["mayfifteen"]
    assert subjects(z, tok, "-date:6/1/2005 before:1/1/2006") == ["junefifteen", "mayfifteen"]
    # 23:30 at -0700 is the 16th in UTC but the 15th in Los Angeles.
    assert subjects(z, tok, "date:6/16/2005") == ["junefifteen"]
    assert subjects(z, tok, "date:6/15/2005", tz="America/Los_Angeles") == ["junefifteen"]
    # Relative dates: the 2005 messages are years old; the undated one is dated by its
    # delivery, today.
    assert subjects(z, tok, "after:-1d") == ["undated one"]
    assert subjects(z, tok, "before:-1y") == ["junefifteen", "junefirst", "mayfifteen"]
    assert subjects(z, tok, "date:today") == ["undated one"]


def test_trash_and_junk_stay_out_unless_named(z):
    tok = token(z)
    _, resp, _ = call(z, tok, "SearchRequest", {"types": "message", "query": "mayfifteen"})
    mid = resp["m"][0]["id"]
    _, _, code = call(z, tok, "MsgActionRequest", {"action": {"id": mid, "op": "trash"}})
    assert code is None
    try:
        assert subjects(z, tok, "from:old or in:inbox") == ["junefifteen", "junefirst",
                                                            "undated one"]
        assert subjects(z, tok, "mayfifteen") == []
        assert subjects(z, tok, "in:trash mayfifteen") == ["mayfifteen"]
        assert subjects(z, tok, "mayfifteen or in:trash") == ["mayfifteen"]
        assert subjects(z, tok, "is:anywhere mayfifteen") == ["mayfifteen"]
    finally:
        call(z, tok, "MsgActionRequest", {"action": {"id": mid, "op": "move", "l": "2"}})


def test_headers_parse_errors_and_mixed_types(z):
    tok = token(z)
    _, resp, _ = call(z, tok, "SearchRequest",
                      {"types": "message", "query": "junefirst",
                       "header": [{"n": "From"}, {"n": "Message-ID"}]})
    headers = {h["n"]: h["_content"] for h in resp["m"][0]["header"]}
    assert headers == {"From": "Old Sender <old@example.com>",
                       "Message-ID": "<junefirst@example.com>"}, headers

    _, _, code = call(z, tok, "SearchRequest", {"query": "from:+-someone"})
    assert code == "mail.QUERY_PARSE_ERROR"

    _, cn, _ = call(z, tok, "CreateContactRequest",
                    {"cn": {"a": [{"n": "firstName", "_content": "Junefirst"},
                                  {"n": "email", "_content": "june@x.test"}]}})
    cid = cn["cn"][0]["id"]
    _, resp, code = call(z, tok, "SearchRequest",
                         {"types": "message,contact", "query": "junefirst"})
    assert code is None
    assert [m["id"] for m in resp.get("m", [])] and [c["id"] for c in resp["cn"]] == [cid], resp
    # A page filled by mail still says that contacts follow.
    _, resp, _ = call(z, tok, "SearchRequest",
                      {"types": "message,contact", "query": "junefirst", "limit": 1})
    assert len(resp["m"]) == 1 and "cn" not in resp and resp["more"] is True, resp
    _, resp, _ = call(z, tok, "SearchRequest",
                      {"types": "message,contact", "query": "junefirst", "limit": 1,
                       "offset": 1})
    assert [c["id"] for c in resp["cn"]] == [cid] and resp["more"] is False, resp


def test_contact_tags(z):
    tok = token(z)
    _, tag, _ = call(z, tok, "CreateTagRequest", {"tag": {"name": "vip", "color": "1"}})
    tag_id = tag["tag"][0]["id"]
    _, cn, _ = call(z, tok, "CreateContactRequest",
                    {"cn": {"tn": "friends", "a": [{"n": "firstName", "_content": "Tagged"},
                                                   {"n": "email", "_content": "t@x.test"}]}})
    c = cn["cn"][0]
    assert c["tn"] == "friends", c
    _, _, code = call(z, tok, "ContactActionRequest",
                      {"action": {"id": c["id"], "op": "tag", "tag": tag_id}})
    assert code is None
    _, got, _ = call(z, tok, "GetContactsRequest", {"cn": {"id": c["id"]}})
    assert sorted(got["cn"][0]["tn"].split(",")) == ["friends", "vip"], got
    assert tag_id in got["cn"][0]["t"].split(","), got

    _, resp, _ = call(z, tok, "SearchRequest", {"types": "contact", "query": "tag:vip"})
    assert [x["id"] for x in resp["cn"]] == [c["id"]] and "vip" in resp["cn"][0]["tn"]

    _, _, code = call(z, tok, "ContactActionRequest",
                      {"action": {"id": c["id"], "op": "!tag", "tn": "vip"}})
    assert code is None
    _, resp, _ = call(z, tok, "SearchRequest", {"types": "contact", "query": "tag:vip"})
    assert "cn" not in resp, resp

    _, mod, _ = call(z, tok, "ModifyContactRequest",
                     {"cn": {"id": c["id"], "tn": "vip",
                             "a": [{"n": "email", "_content": "t2@x.test"}]}})
    assert mod["cn"][0]["tn"] == "vip", mod
    _, _, code = call(z, tok, "ContactActionRequest",
                      {"action": {"id": c["id"], "op": "update", "t": ""}})
    assert code is None
    _, got, _ = call(z, tok, "GetContactsRequest", {"cn": {"id": c["id"]}})
    assert "tn" not in got["cn"][0], got

    _, _, code = call(z, tok, "ContactActionRequest",
                      {"action": {"id": c["id"], "op": "tag", "tag": "99999"}})
    assert code == "mail.NO_SUCH_TAG"
    _, _, code = call(z, tok, "ContactActionRequest",
                      {"action": {"id": c["id"], "op": "!read"}})
    assert code is None
    _, got, _ = call(z, tok, "GetContactsRequest", {"cn": {"id": c["id"]}})
    assert "u" in got["cn"][0].get("f", ""), got

    _, _, code = call(z, tok, "RankingActionRequest", {"action": {"op": "reset"}})
    assert code is None
    _, _, code = call(z, tok, "RankingActionRequest", {"action": {"op": "bogus"}})
    assert code == "service.INVALID_REQUEST"


def test_search_of_a_mounted_address_book(z):
    ann = token(z)
    bob = token(z, BOB)
    _, info, _ = call(z, ann, "GetInfoRequest", {"sections": "mbox"}, ns="urn:zimbraAccount")
    ann_id = text(info["id"])
    _, cn, _ = call(z, ann, "CreateContactRequest",
                    {"cn": {"a": [{"n": "firstName", "_content": "Sharedperson"},
                                  {"n": "email", "_content": "shared@x.test"}]}})
    shared_id = cn["cn"][0]["id"]

    # Not shared yet: Bob's mountpoint cannot be read.
    _, mp, code = call(z, bob, "CreateMountpointRequest",
                       {"link": {"l": "1", "name": "Ann Book", "view": "contact",
                                 "zid": ann_id, "rid": "7"}})
    if code is None:
        _, _, code = call(z, bob, "SearchRequest",
                          {"types": "contact", "query": "in:\"Ann Book\""})
        assert code == "service.PERM_DENIED"

    _, _, code = call(z, ann, "FolderActionRequest",
                      {"action": {"id": "7", "op": "grant",
                                  "grant": {"gt": "usr", "d": BOB, "perm": "r"}}})
    assert code is None
    if mp is None:
        _, mp, code = call(z, bob, "CreateMountpointRequest",
                           {"link": {"l": "1", "name": "Ann Book", "view": "contact",
                                     "zid": ann_id, "rid": "7"}})
        assert code is None
    for q in ["in:\"Ann Book\"", "in:(\"Ann Book\") sharedperson"]:
        _, resp, code = call(z, bob, "SearchRequest", {"types": "contact", "query": q})
        assert code is None, (q, code)
        ids = [c["id"] for c in resp.get("cn", [])]
        assert f"{ann_id}:{shared_id}" in ids, (q, resp)
        first = [c["_attrs"].get("firstName") for c in resp["cn"]]
        assert "Sharedperson" in first
    # Bob's own search does not see Ann's contacts.
    _, resp, _ = call(z, bob, "SearchRequest", {"types": "contact", "query": "sharedperson"})
    assert "cn" not in resp, resp
