"""Password recovery over SOAP against the real binary: a recovery address is set and
verified with the code mailed to it, a reset code mailed there logs in with a token
good for ResetPasswordRequest only, wrong codes count toward lockout, and the new
password works (SetRecoveryAccount, RecoverAccount, AuthRequest recoveryCode,
ResetPassword)."""

import re
import time

import pytest

from soap_util import json_request
from zcs import Zcs

PASSWORD = "recover-pass-1"
USER = "forgetful@rec.test"
HELPER = "helper@rec.test"
LOCKED = "lockme@rec.test"
PAUSE = "pause@rec.test"
PLAIN = "plain@rec.test"
FROZEN = "frozen@rec.test"


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-recovery"))
    z.init()
    z.zmprov("cd", "rec.test")
    z.zmprov("ca", USER, PASSWORD, "zimbraFeatureResetPasswordStatus", "enabled",
             "zimbraPasswordRecoveryMaxAttempts", "2")
    z.zmprov("ca", HELPER, PASSWORD)
    z.zmprov("ca", LOCKED, PASSWORD, "zimbraFeatureResetPasswordStatus", "enabled",
             "zimbraPasswordLockoutEnabled", "TRUE", "zimbraPasswordLockoutMaxFailures", "2")
    z.zmprov("ca", PAUSE, PASSWORD, "zimbraFeatureResetPasswordStatus", "enabled",
             "zimbraPasswordRecoveryMaxAttempts", "2")
    z.zmprov("ca", PLAIN, PASSWORD, "zimbraFeatureResetPasswordStatus", "enabled")
    z.zmprov("ca", FROZEN, PASSWORD, "zimbraFeatureResetPasswordStatus", "enabled",
             "zimbraPasswordLocked", "TRUE")
    z.start()
    yield z
    z.stop()


def url(z):
    return f"http://127.0.0.1:{z.http_port}/service/soap"


def call(z, name, ns, body, token=None):
    return json_request(url(z), name, ns, body, token)


def login(z, user, password=PASSWORD, **extra):
    body = {"account": {"by": "name", "_content": user}}
    if password is not None:
        body["password"] = {"_content": password}
    body.update(extra)
    return call(z, "AuthRequest", "urn:zimbraAccount", body)


def token_of(z, user, password=PASSWORD):
    status, js = login(z, user, password)
    assert status == 200, js
    return content(js["Body"]["AuthResponse"]["authToken"])


def content(v):
    """A JSON value that may be a list of one `{"_content": ...}`, or the text itself."""
    if isinstance(v, list):
        v = v[0]
    return v["_content"] if isinstance(v, dict) else v


def fault(js):
    return js["Body"]["Fault"]["Detail"]["Error"]["Code"]


def hits(z, user, query):
    tok = token_of(z, user)
    status, js = call(z, "SearchRequest", "urn:zimbraMail",
                      {"query": query, "types": "message", "limit": 100}, tok)
    assert status == 200, js
    return js["Body"]["SearchResponse"].get("m", [])


def newest_fragment(z, user, query, before):
    """The fragment of the newest message `query` finds in `user`'s mailbox once it
    finds more than `before` (waits for the indexer)."""
    for _ in range(50):
        found = hits(z, user, query)
        if len(found) > before:
            return content(max(found, key=lambda m: int(m["id"]))["fr"])
        time.sleep(0.2)
    raise AssertionError(f"no new mail for {query!r} in {user}")


def set_recovery(z, tok, **attrs):
    return call(z, "SetRecoveryAccountRequest", "urn:zimbraMail", attrs, tok)


def verify_helper_address(z, user):
    tok = token_of(z, user)
    query = f"from:{user} subject:Verification"
    before = len(hits(z, HELPER, query))
    status, js = set_recovery(z, tok, op="sendCode", recoveryAccount=HELPER, channel="email")
    assert status == 200, js
    fr = newest_fragment(z, HELPER, query, before)
    code = re.search(r"verification code: (\S+) The code expires by", fr).group(1)
    status, js = set_recovery(z, tok, op="validateCode", recoveryAccountVerificationCode=code)
    assert status == 200, js


def reset_code(z, user):
    query = f"from:{user} subject:Reset"
    before = len(hits(z, HELPER, query))
    status, js = call(z, "RecoverAccountRequest", "urn:zimbraMail",
                      {"op": "sendRecoveryCode", "email": user, "channel": "email"})
    assert status == 200, js
    fr = newest_fragment(z, HELPER, query, before)
    return re.search(r"Temporary Reset Code: (\S+) Use", fr).group(1)


def test_own_address_refused_and_wrong_code_rejected(zcs):
    tok = token_of(zcs, USER)
    status, js = set_recovery(zcs, tok, op="sendCode", recoveryAccount=USER)
    assert status == 500 and "primary/alias" in js["Body"]["Fault"]["Reason"]["Text"]
    status, js = set_recovery(zcs, tok, op="sendCode", recoveryAccount=HELPER)
    assert status == 200, js
    # Wait until the mail is indexed, so later tests count from a settled mailbox.
    newest_fragment(zcs, HELPER, f"from:{USER} subject:Verification", 0)
    status, js = set_recovery(zcs, tok, op="validateCode",
                              recoveryAccountVerificationCode="WRONG")
    assert status == 500 and fault(js) == "service.INVALID_REQUEST", js


def test_recover_and_reset_password(zcs):
    verify_helper_address(zcs, USER)
    status, js = call(zcs, "RecoverAccountRequest", "urn:zimbraMail",
                      {"op": "getRecoveryAccount", "email": USER})
    assert status == 200, js
    assert js["Body"]["RecoverAccountResponse"]["recoveryAccount"] == "hel****rec.test"
    code = reset_code(zcs, USER)
    old_session = token_of(zcs, USER)
    status, js = login(zcs, USER, None, recoveryCode={"_content": code})
    assert status == 200, js
    tok = content(js["Body"]["AuthResponse"]["authToken"])
    # The same code bought a second token before the reset.
    status, js = login(zcs, USER, None, recoveryCode={"_content": code})
    assert status == 200, js
    second = content(js["Body"]["AuthResponse"]["authToken"])
    # The token is good for ResetPassword only.
    status, js = call(zcs, "GetInfoRequest", "urn:zimbraAccount", {}, tok)
    assert status == 500 and fault(js) == "service.AUTH_REQUIRED", js
    status, js = call(zcs, "ResetPasswordRequest", "urn:zimbraAccount",
                      {"password": {"_content": "   "}}, tok)
    assert status == 500 and fault(js) == "service.INVALID_REQUEST", js
    status, js = call(zcs, "ResetPasswordRequest", "urn:zimbraAccount",
                      {"password": {"_content": "brand-new-pass-2"}}, tok)
    assert status == 200, js
    # The reset ended every session: the second code token and the older login too.
    status, js = call(zcs, "ResetPasswordRequest", "urn:zimbraAccount",
                      {"password": {"_content": "attacker-pass-3"}}, second)
    assert status == 500, js
    status, js = call(zcs, "GetInfoRequest", "urn:zimbraAccount", {}, old_session)
    assert status == 500, js
    assert login(zcs, USER, "brand-new-pass-2")[0] == 200
    assert login(zcs, USER)[0] == 500
    # The code and its token are used up.
    status, js = login(zcs, USER, None, recoveryCode={"_content": code})
    assert status == 500 and fault(js) == "account.AUTH_FAILED", js


def test_wrong_recovery_codes_lock_the_account(zcs):
    verify_helper_address(zcs, LOCKED)
    reset_code(zcs, LOCKED)
    for _ in range(2):
        status, js = login(zcs, LOCKED, None, recoveryCode={"_content": "NOTTHIS1"})
        assert status == 500 and fault(js) == "account.AUTH_FAILED", js
    assert "lockout" in zcs.zmprov("ga", LOCKED, "zimbraAccountStatus").stdout


def test_unknown_accounts_look_like_unready_ones(zcs):
    """No account enumeration: an unknown address, an account without the feature and
    one without a verified recovery address all get the same fault and text."""
    answers = set()
    for who in ["nobody@rec.test", HELPER, PLAIN]:
        status, js = call(zcs, "RecoverAccountRequest", "urn:zimbraMail",
                          {"op": "sendRecoveryCode", "email": who, "channel": "email"})
        assert status == 500, js
        answers.add((fault(js), js["Body"]["Fault"]["Reason"]["Text"]))
    assert answers == {("service.CONTACT_ADMIN", "service exception: Something went "
                        "wrong. Please contact your administrator.")}
    texts = set()
    for who in ["nobody@rec.test", PLAIN]:
        status, js = login(zcs, who, None, recoveryCode={"_content": "NOTTHIS1"})
        assert status == 500 and fault(js) == "account.AUTH_FAILED", js
        texts.add(js["Body"]["Fault"]["Reason"]["Text"].replace(who, "WHO"))
    assert len(texts) == 1, texts


def test_anonymous_requests_pause_codes_but_never_suspend_the_feature(zcs):
    verify_helper_address(zcs, PAUSE)
    code = reset_code(zcs, PAUSE)
    for _ in range(2):
        status, js = call(zcs, "RecoverAccountRequest", "urn:zimbraMail",
                          {"op": "sendRecoveryCode", "email": PAUSE, "channel": "email"})
        assert status == 200, js
    status, js = call(zcs, "RecoverAccountRequest", "urn:zimbraMail",
                      {"op": "sendRecoveryCode", "email": PAUSE, "channel": "email"})
    assert status == 500 and fault(js) == "service.MAX_ATTEMPTS_REACHED_SUSPEND_FEATURE", js
    out = zcs.zmprov("ga", PAUSE, "zimbraFeatureResetPasswordStatus").stdout
    assert "zimbraFeatureResetPasswordStatus: enabled" in out
    # The code already mailed still works for its owner.
    status, js = login(zcs, PAUSE, None, recoveryCode={"_content": code})
    assert status == 200, js


def test_reset_with_an_ordinary_token(zcs):
    """Zimbra's rule: an ordinary token resets without the old password when the
    feature is on; every session ends; a locked password is refused."""
    tok = token_of(zcs, PLAIN)
    other = token_of(zcs, PLAIN)
    status, js = call(zcs, "ResetPasswordRequest", "urn:zimbraAccount",
                      {"password": {"_content": "plain-new-pass-2"}}, tok)
    assert status == 200, js
    status, js = call(zcs, "GetInfoRequest", "urn:zimbraAccount", {}, other)
    assert status == 500, js
    assert login(zcs, PLAIN, "plain-new-pass-2")[0] == 200
    tok = token_of(zcs, FROZEN)
    status, js = call(zcs, "ResetPasswordRequest", "urn:zimbraAccount",
                      {"password": {"_content": "frozen-new-pass-2"}}, tok)
    assert status == 500 and fault(js) == "account.PASSWORD_LOCKED", js


def test_verification_resends_are_limited(zcs):
    tok = token_of(zcs, PAUSE)
    status, js = set_recovery(zcs, tok, op="sendCode", recoveryAccount=PAUSE)
    assert status == 500 and fault(js) == "service.RECOVERY_EMAIL_SAME_AS_PRIMARY_OR_ALIAS", js
    status, js = set_recovery(zcs, tok, op="sendCode", recoveryAccount=HELPER)
    assert status == 200, js
    for _ in range(2):
        status, js = set_recovery(zcs, tok, op="resendCode")
        assert status == 200, js
    status, js = set_recovery(zcs, tok, op="resendCode")
    assert status == 500 and fault(js) == "service.MAX_ATTEMPTS_REACHED", js
    # A fresh sendCode does not reset the count.
    status, js = set_recovery(zcs, tok, op="sendCode", recoveryAccount=HELPER)
    assert status == 500 and fault(js) == "service.MAX_ATTEMPTS_REACHED", js
