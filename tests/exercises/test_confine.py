"""faultkit.confine: candidate scripts the hidden suite runs reach nothing but their files."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from exercises.faultkit.confine import abi_version, run_confined

PROBE = r"""
const fs = require("fs"), net = require("net");
const [candidate, secret, port] = process.argv.slice(1);
const out = {};
const t = (name, f) => {
  try { f(); out[name] = "allowed"; } catch (e) { out[name] = e.code || String(e); }
};
t("read own file", () => fs.readFileSync(candidate + "/app.js"));
t("read beside it", () => fs.readFileSync(secret));
t("write own dir", () => fs.writeFileSync(candidate + "/forged.json", "{}"));
t("write /tmp", () => fs.writeFileSync("/tmp/faultline-confine-probe", "x"));
t("write /dev/null", () => fs.writeFileSync("/dev/null", "x"));
t("parent's stdout", () => fs.openSync(`/proc/${process.ppid}/fd/1`, "w"));
t("signal parent", () => process.kill(process.ppid, 0));
const s = net.connect(Number(port), "127.0.0.1");
s.on("connect", () => { out.connect = "allowed"; done(); });
s.on("error", (e) => { out.connect = e.code; done(); });
function done() { console.log(JSON.stringify(out)); }
"""


@pytest.fixture
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is required for the frontend checks")
    if abi_version() < 6:
        pytest.fail(f"this kernel's Landlock ABI is {abi_version()}; the check needs 6 or later")
    return path


def test_a_confined_script_reads_its_files_and_nothing_else(node: str, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "app.js").write_text("// the candidate's page\n")
    secret = tmp_path / "hidden_test.py"
    secret.write_text("EXPECTED = 42\n")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        done = run_confined(
            ["node", "-e", PROBE, str(candidate), str(secret), str(port)],
            read_only=[candidate],
            input=b"",
            timeout=30,
        )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen.pop("read own file") == "allowed"
    assert seen.pop("write /dev/null") == "allowed"
    assert seen == {
        "read beside it": "EACCES",
        "write own dir": "EACCES",
        "write /tmp": "EACCES",
        "parent's stdout": "EACCES",
        "signal parent": "EPERM",
        "connect": "EACCES",
    }
    assert not (candidate / "forged.json").exists()
    assert not os.path.exists("/tmp/faultline-confine-probe")
