"""zmmailbox against a running server, as an operator uses it: the admin (-z) creates
folders, tags and search folders in a user's mailbox, adds messages, searches, moves and
deletes them, reads the mailbox size; the user does the same with its own password and
is refused another mailbox; a command file drives several commands in one session."""

import pytest

from zcs import Zcs

DOMAIN = "mbox.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "mbox-secret-1"

MESSAGE = ("From: Carol <carol@remote.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
           "Message-ID: <{subject}@remote.test>\r\n"
           "Date: Mon, 2 Jan 2023 09:00:00 +0000\r\n\r\nthe narwhal report\r\n")


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zmmailbox"))
    z.init()
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in (ALICE, BOB):
        z.zmprov("ca", u, PASSWORD)
    yield z
    if z.status().returncode == 0:
        z.stop()


def mbox(z, *args, check=True):
    return z.run("zmmailbox", "-z", "-m", ALICE, *args, check=check)


def test_admin_manages_a_users_folders_tags_and_messages(z, tmp_path):
    folder_id = mbox(z, "cf", "/Archive").stdout.strip()
    assert folder_id.isdigit() and int(folder_id) >= 256, folder_id
    sub = mbox(z, "cf", "-V", "appointment", "/Archive/Cal").stdout.strip()
    assert sub.isdigit()
    gaf = mbox(z, "gaf").stdout
    assert "Msg Count  Path" in gaf and "/Archive/Cal" in gaf and "/Inbox" in gaf, gaf
    assert any(l.split()[0] == sub and l.split()[1] == "appo" for l in gaf.splitlines()
               if l.strip().endswith("/Archive/Cal")), gaf
    tag = mbox(z, "ct", "Urgent").stdout.strip()
    assert tag.isdigit()
    assert "Urgent" in mbox(z, "gat").stdout
    sf = mbox(z, "csf", "/unread", "is:unread").stdout.strip()
    assert sf.isdigit()

    files = []
    for subject in ("alpha-narwhal", "beta-narwhal"):
        p = tmp_path / f"{subject}.eml"
        p.write_bytes(MESSAGE.format(to=ALICE, subject=subject).encode())
        files.append(str(p))
    added = mbox(z, "am", "/Inbox", *files).stdout.splitlines()
    # Zimbra's tool prints "<id> (<file>)" per message added.
    ids = [line.split()[0] for line in added]
    assert len(ids) == 2 and all(i.isdigit() for i in ids), added
    assert added[0].endswith(f"({files[0]})"), added
    shown = mbox(z, "gm", ids[0]).stdout
    assert f"Id: {ids[0]}" in shown and "Folder: /Inbox" in shown, shown
    assert "Subject: alpha-narwhal" in shown and "narwhal report" in shown, shown
    assert "From: Carol <carol@remote.test>" in shown, shown

    out = ""
    for _ in range(100):  # the index catches up just after the add
        out = mbox(z, "s", "-t", "message", "narwhal").stdout
        if out.startswith("num: 2"):
            break
    assert out.startswith("num: 2, more: false"), out
    assert "Carol" in out and "alpha-narwhal" in out, out

    mbox(z, "mm", ids[0], "/Archive")
    assert "alpha-narwhal" in mbox(z, "s", "-t", "message", "in:/Archive").stdout
    mbox(z, "dm", ids[1])
    assert mbox(z, "gm", ids[1], check=False).returncode != 0
    size = mbox(z, "gms").stdout.strip()
    assert size.endswith(" B") or size.endswith("KB"), size
    mbox(z, "ef", "/Archive")
    assert mbox(z, "s", "-t", "message", "in:/Archive").stdout.startswith("num: 0")
    mbox(z, "df", "/Archive")
    assert "/Archive" not in mbox(z, "gaf").stdout
    mbox(z, "dt", "Urgent")
    assert "Urgent" not in mbox(z, "gat").stdout


def test_errors_are_printed_zimbra_style(z):
    bad = mbox(z, "df", "/No/Such/Folder", check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith("ERROR: mail.NO_SUCH_FOLDER"), bad.stderr
    unknown = mbox(z, "frobnicate", check=False)
    assert unknown.returncode == 1 and "Unknown command: (frobnicate)" in unknown.stderr


def test_user_logs_in_with_its_password_and_only_reaches_its_own_mailbox(z):
    own = z.run("zmmailbox", "-m", BOB, "-p", PASSWORD, "cf", "/Mine")
    assert own.stdout.strip().isdigit()
    wrong = z.run("zmmailbox", "-m", BOB, "-p", "not-the-password", "gaf", check=False)
    assert wrong.returncode == 1 and "AUTH_FAILED" in wrong.stderr, wrong.stderr
    other = z.run("zmmailbox", "-a", BOB, "-p", PASSWORD, "-m", ALICE, "gaf", check=False)
    assert other.returncode == 1 and "PERM_DENIED" in other.stderr, other.stderr


def test_commands_from_a_file_share_one_session(z, tmp_path):
    script = tmp_path / "cmds.txt"
    script.write_text("# set up Bob's filing\ncf /Projects\ncf \"/Projects/Big Deal\"\n"
                      f"sm {BOB}\ncf /FromScript\nexit\ncf /NeverRun\n")
    out = z.run("zmmailbox", "-z", "-m", ALICE, "-f", script).stdout.split()
    assert len(out) == 3 and all(i.isdigit() for i in out), out
    assert "/Projects/Big Deal" in mbox(z, "gaf").stdout
    bob = z.run("zmmailbox", "-z", "-m", BOB, "gaf").stdout
    assert "/FromScript" in bob and "/NeverRun" not in bob, bob
    piped = z.run("zmmailbox", "-z", "-m", ALICE, input="gms\nbogus\n", check=False)
    assert piped.returncode == 1 and piped.stdout.strip(), piped


def test_password_sessions_end_and_8bit_files_are_refused_not_mangled(z, tmp_path):
    def tokens():
        out = z.zmprov("ga", BOB, "zimbraAuthTokens").stdout
        return sum(1 for l in out.splitlines() if l.startswith("zimbraAuthTokens:"))
    before = tokens()
    for _ in range(3):
        z.run("zmmailbox", "-m", BOB, "-p", PASSWORD, "gms")
    assert tokens() == before, "each password login must end its session"
    latin = tmp_path / "latin.eml"
    latin.write_bytes(b"Subject: latin\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                      b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n")
    bad = z.run("zmmailbox", "-z", "-m", BOB, "am", "/Inbox", latin, check=False)
    assert bad.returncode == 1 and "not UTF-8" in bad.stderr, bad.stderr
    assert "latin" not in z.run("zmmailbox", "-z", "-m", BOB, "s", "-t", "message",
                                "subject:latin").stdout
