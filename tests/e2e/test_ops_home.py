"""Finding the home and the first-start domain, as a new user meets them: `zmcontrol
status` run from another directory (no ZCS_HOME) reports the server `zmcontrol start`
started, and a first start on a bare host name (`vm`) warns with the commands that set
the real domain, which work as printed."""

import os
import subprocess

from zcs import BIN_DIR, SECRETS, Zcs


def tool(tool_name, *args, cwd, env):
    return subprocess.run([str(BIN_DIR / tool_name), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_zmcontrol_status_from_another_directory_finds_the_started_home(tmp_path):
    started_in = tmp_path / "install"
    elsewhere = tmp_path / "elsewhere"
    started_in.mkdir()
    elsewhere.mkdir()
    zcs = Zcs(started_in / "zcs-data")
    zcs.init()
    # A user's shell: no ZCS_HOME, a private HOME for the remembered home.
    env = {k: v for k, v in zcs.env.items() if k not in ("ZCS_HOME", "XDG_CONFIG_HOME")}
    env["HOME"] = str(tmp_path / "user")
    up = tool("zmcontrol", "start", cwd=started_in, env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        st = tool("zmcontrol", "status", cwd=elsewhere, env=env)
        assert st.returncode == 0, st.stdout + st.stderr
        assert "Running" in st.stdout and "no zcs home" not in st.stderr, st.stdout + st.stderr
        assert not (elsewhere / "zcs-data").exists()
        pointer = tmp_path / "user" / ".config" / "zcs" / "home"
        assert pointer.read_text().strip() == str(started_in / "zcs-data")
        down = tool("zmcontrol", "stop", cwd=elsewhere, env=env)
        assert down.returncode == 0 and "Stopping mailbox...Done." in down.stdout, down.stdout
    finally:
        zcs.run("zmcontrol", "stop", check=False)
    # With nothing remembered and no ./zcs-data, status says where it looked.
    env["HOME"] = str(tmp_path / "nobody")
    st = tool("zmcontrol", "status", cwd=elsewhere, env=env)
    assert st.returncode == 1 and "no zcs home at" in st.stderr, st.stderr
    assert "ZCS_HOME" in st.stderr


def test_first_start_on_a_bare_host_name_warns_and_the_advice_works(tmp_path):
    home = tmp_path / "zcs-data"
    env = dict(os.environ, ZCS_HOME=str(home), HOME=str(tmp_path))
    env.pop("XDG_CONFIG_HOME", None)
    lc = tool("zmlocalconfig", "-e", "zimbra_server_hostname=vm", cwd=tmp_path, env=env)
    assert lc.returncode == 0, lc.stderr
    first = tool("zcs-server", "init", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    pw = first.stdout.split("password: ")[1].split()[0]
    SECRETS.add(pw)
    assert "default domain: vm" in first.stdout
    assert 'the default domain "vm" is this machine\'s bare host name' in first.stderr
    assert "zmprov rd vm example.com" in first.stderr, first.stderr
    assert "zmprov mcf zimbraDefaultDomainName example.com" in first.stderr
    for args in (["rd", "vm", "example.com"],
                 ["mcf", "zimbraDefaultDomainName", "example.com"]):
        done = tool("zmprov", "-l", *args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    ga = tool("zmprov", "-l", "ga", "admin@example.com", "zimbraIsAdminAccount",
              cwd=tmp_path, env=env)
    assert "zimbraIsAdminAccount: TRUE" in ga.stdout, ga.stdout + ga.stderr
    again = tool("zcs-server", "init", cwd=tmp_path, env=env)
    assert "default domain: example.com" in again.stdout, again.stdout
    assert "bare host name" not in again.stderr
