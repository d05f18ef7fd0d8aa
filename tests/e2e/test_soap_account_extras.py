"""Account and admin SOAP requests against the real binary: identities and signatures,
the GetAvailable* lists, the admin mailbox requests (GetMailbox, PurgeMessages,
DeleteMailbox, RecalculateMailboxCounts, GetMailboxStats, GetQuotaUsage), CreateServer
and DeleteServer, and a preauth login recording zimbraLastLogonTimestamp."""

import hashlib
import hmac
import time

import pytest

from soap_util import envelope, fault_code, post, soap_body, ssl_context
from zcs import Zcs

ADMIN = "boss@extras.test"
USER = "user@extras.test"
FRESH = "fresh@extras.test"
PASSWORD = "extras-pass-1"
ADMIN_NS = "urn:zimbraAdmin"
ACCT_NS = "urn:zimbraAccount"
PREAUTH_KEY = "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap-extras"))
    z.init()
    z.zmprov("cd", "extras.test", "zimbraPreAuthKey", PREAUTH_KEY)
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.zmprov("ca", USER, PASSWORD, "zimbraMailQuota", "1048576")
    z.zmprov("ca", FRESH, PASSWORD)
    z.zmprov("mcf", "zimbraLastLogonTimestampFrequency", "0")
    z.start()
    yield z
    z.stop()


def admin_call(z, xml, token=None):
    url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
    status, _, text = post(url, envelope(xml, token), ssl_context(z.ca_file()))
    return status, text


def user_call(z, xml, token=None):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, _, text = post(url, envelope(xml, token))
    return status, text


def body(text):
    return soap_body(text)[1]


def admin_token(z):
    status, text = admin_call(z, f'<AuthRequest xmlns="{ADMIN_NS}"><name>{ADMIN}</name>'
                                 f"<password>{PASSWORD}</password></AuthRequest>")
    assert status == 200, text
    return body(text).find(f"{{{ADMIN_NS}}}authToken").text


def user_token(z, who=USER):
    status, text = user_call(z, f'<AuthRequest xmlns="{ACCT_NS}"><account by="name">{who}'
                                f"</account><password>{PASSWORD}</password></AuthRequest>")
    assert status == 200, text
    return body(text).find(f"{{{ACCT_NS}}}authToken").text


def account_id(z, who):
    out = z.zmprov("ga", who, "zimbraId").stdout
    return out.split("zimbraId: ")[1].split()[0]


def test_identities_and_signatures(zcs):
    tok = user_token(zcs)
    status, text = user_call(zcs, f'<CreateIdentityRequest xmlns="{ACCT_NS}">'
                                  '<identity name="work"><a name="zimbraPrefFromDisplay">'
                                  "Work Me</a></identity></CreateIdentityRequest>", tok)
    assert status == 200, text
    ident = body(text).find(f"{{{ACCT_NS}}}identity")
    assert ident.get("name") == "work" and ident.get("id")
    status, text = user_call(zcs, f'<GetIdentitiesRequest xmlns="{ACCT_NS}"/>', tok)
    names = [i.get("name") for i in body(text).findall(f"{{{ACCT_NS}}}identity")]
    assert names == ["DEFAULT", "work"], text
    status, text = user_call(zcs, f'<CreateIdentityRequest xmlns="{ACCT_NS}">'
                                  '<identity name="work"/></CreateIdentityRequest>', tok)
    assert status == 500 and fault_code(text) == "account.IDENTITY_EXISTS", text
    status, text = user_call(zcs, f'<ModifyIdentityRequest xmlns="{ACCT_NS}">'
                                  f'<identity id="{ident.get("id")}"><a name='
                                  '"zimbraPrefFromDisplay">Other</a></identity>'
                                  "</ModifyIdentityRequest>", tok)
    assert status == 200, text
    status, text = user_call(zcs, f'<DeleteIdentityRequest xmlns="{ACCT_NS}">'
                                  '<identity name="work"/></DeleteIdentityRequest>', tok)
    assert status == 200, text

    status, text = user_call(zcs, f'<CreateSignatureRequest xmlns="{ACCT_NS}">'
                                  '<signature name="sig1"><content type="text/plain">'
                                  "Regards</content></signature></CreateSignatureRequest>",
                             tok)
    assert status == 200, text
    sig_id = body(text).find(f"{{{ACCT_NS}}}signature").get("id")
    status, text = user_call(zcs, f'<GetSignaturesRequest xmlns="{ACCT_NS}"/>', tok)
    sig = body(text).find(f"{{{ACCT_NS}}}signature")
    assert sig.get("id") == sig_id
    assert sig.find(f"{{{ACCT_NS}}}content").text == "Regards"
    status, text = user_call(zcs, f'<DeleteSignatureRequest xmlns="{ACCT_NS}">'
                                  f'<signature id="{sig_id}"/></DeleteSignatureRequest>', tok)
    assert status == 200, text
    status, text = user_call(zcs, f'<GetSignaturesRequest xmlns="{ACCT_NS}"/>', tok)
    assert body(text).find(f"{{{ACCT_NS}}}signature") is None


def test_available_lists(zcs):
    tok = user_token(zcs)
    status, text = user_call(zcs, f'<GetAvailableSkinsRequest xmlns="{ACCT_NS}"/>', tok)
    assert status == 200 and body(text).find(f"{{{ACCT_NS}}}skin") is not None, text
    status, text = user_call(zcs, f'<GetAvailableCsvFormatsRequest xmlns="{ACCT_NS}"/>', tok)
    names = [c.get("name") for c in body(text).findall(f"{{{ACCT_NS}}}csv")]
    assert "outlook-2003-csv" in names and "zimbra-csv" in names
    status, text = user_call(zcs, f'<GetAvailableSkinsRequest xmlns="{ACCT_NS}"/>')
    assert status == 500 and fault_code(text) == "service.AUTH_REQUIRED"


def test_mailbox_requests(zcs):
    tok = admin_token(zcs)
    uid = account_id(zcs, USER)
    status, text = admin_call(zcs, f'<GetMailboxRequest xmlns="{ADMIN_NS}">'
                                   f'<mbox id="{uid}"/></GetMailboxRequest>', tok)
    assert status == 200, text
    mbox = body(text).find(f"{{{ADMIN_NS}}}mbox")
    assert int(mbox.get("mbxid")) > 0 and mbox.get("s") == "0"
    status, text = admin_call(zcs, f'<PurgeMessagesRequest xmlns="{ADMIN_NS}">'
                                   f'<mbox id="{uid}"/></PurgeMessagesRequest>', tok)
    assert status == 200, text
    assert body(text).find(f"{{{ADMIN_NS}}}mbox").get("mbxid") == mbox.get("mbxid")
    status, text = admin_call(zcs, f'<PurgeMessagesRequest xmlns="{ADMIN_NS}">'
                                   '<mbox id="no-such-thing"/></PurgeMessagesRequest>', tok)
    assert status == 500 and fault_code(text) == "account.NO_SUCH_ACCOUNT", text
    status, text = admin_call(zcs, f'<PurgeMessagesRequest xmlns="{ADMIN_NS}">'
                                   '<mbox id=""/></PurgeMessagesRequest>', tok)
    assert status == 500 and fault_code(text) == "service.INVALID_REQUEST", text
    status, text = admin_call(zcs, f'<RecalculateMailboxCountsRequest xmlns="{ADMIN_NS}">'
                                   f'<mbox id="{uid}"/></RecalculateMailboxCountsRequest>', tok)
    assert body(text).find(f"{{{ADMIN_NS}}}mbox").get("used") == "0", text
    status, text = admin_call(zcs, f'<GetMailboxStatsRequest xmlns="{ADMIN_NS}"/>', tok)
    assert int(body(text).find(f"{{{ADMIN_NS}}}stats").get("numMboxes")) >= 1, text
    status, text = admin_call(zcs, f'<GetQuotaUsageRequest xmlns="{ADMIN_NS}" '
                                   'domain="extras.test" offset="0" limit="25"/>', tok)
    rows = {a.get("name"): a for a in body(text).findall(f"{{{ADMIN_NS}}}account")}
    assert rows[USER].get("limit") == "1048576" and rows[USER].get("id") == uid, text
    status, text = admin_call(zcs, f'<GetQuotaUsageRequest xmlns="{ADMIN_NS}" '
                                   'domain="nowhere.test"/>', tok)
    assert status == 500 and fault_code(text) == "account.NO_SUCH_DOMAIN", text
    status, text = admin_call(zcs, f'<DeleteMailboxRequest xmlns="{ADMIN_NS}">'
                                   f'<mbox id="{uid}"/></DeleteMailboxRequest>', tok)
    assert body(text).find(f"{{{ADMIN_NS}}}mbox").get("mbxid") == mbox.get("mbxid"), text
    # A user token is refused.
    status, text = admin_call(zcs, f'<GetMailboxRequest xmlns="{ADMIN_NS}">'
                                   f'<mbox id="{uid}"/></GetMailboxRequest>', user_token(zcs))
    assert status == 500 and fault_code(text) == "service.PERM_DENIED", text


def test_create_and_delete_server(zcs):
    tok = admin_token(zcs)
    status, text = admin_call(zcs, f'<CreateServerRequest xmlns="{ADMIN_NS}"><name>'
                                   "mta2.extras.test</name></CreateServerRequest>", tok)
    assert status == 200, text
    sid = body(text).find(f"{{{ADMIN_NS}}}server").get("id")
    status, text = admin_call(zcs, f'<CreateServerRequest xmlns="{ADMIN_NS}"><name>'
                                   "mta2.extras.test</name></CreateServerRequest>", tok)
    assert status == 500 and fault_code(text) == "account.SERVER_EXISTS", text
    status, text = admin_call(zcs, f'<DeleteServerRequest xmlns="{ADMIN_NS}">'
                                   f"<id>{sid}</id></DeleteServerRequest>", tok)
    assert status == 200, text


def test_preauth_records_last_logon(zcs):
    def last_logon():
        return zcs.zmprov("ga", FRESH, "zimbraLastLogonTimestamp").stdout

    assert "zimbraLastLogonTimestamp: " not in last_logon()
    now = int(time.time() * 1000)
    value = hmac.new(PREAUTH_KEY.encode(), f"{FRESH}|name|0|{now}".encode(),
                     hashlib.sha1).hexdigest()
    status, text = user_call(zcs, f'<AuthRequest xmlns="{ACCT_NS}"><account by="name">'
                                  f'{FRESH}</account><preauth timestamp="{now}" expires="0">'
                                  f"{value}</preauth></AuthRequest>")
    assert status == 200, text
    assert "zimbraLastLogonTimestamp: " in last_logon()
