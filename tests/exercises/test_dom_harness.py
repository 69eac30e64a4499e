"""The node DOM stub that frontend checks run candidate scripts in behaves like a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "exercises" / "faultkit" / "js" / "harness.js"


def _call(tmp_path: Path, script: str, fn: str, *args: object) -> object:
    if shutil.which("node") is None:
        pytest.fail("node is required for the frontend checks")
    app = tmp_path / "app.js"
    app.write_text(script)
    done = subprocess.run(
        ["node", str(HARNESS), str(app)],
        input=json.dumps({"calls": [{"fn": fn, "args": list(args)}]}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result = json.loads(done.stdout)["results"][0]
    assert result["ok"], result
    return result["value"]


def test_text_appended_with_textcontent_is_not_escaped_twice(tmp_path: Path) -> None:
    # A correct page that builds text with `+=` must not be graded as mangling it.
    script = """
    function render(more) {
      const el = document.createElement("p");
      el.textContent = "a < b & c";
      el.textContent += more;
      return {text: el.textContent, html: el.innerHTML};
    }
    """
    value = _call(tmp_path, script, "render", "<img src=x>")
    assert value == {
        "text": "a < b & c<img src=x>",
        "html": "a &lt; b &amp; c&lt;img src=x&gt;",
    }


def test_innerhtml_with_markup_is_seen_as_markup(tmp_path: Path) -> None:
    script = """
    function render(name) {
      const el = document.createElement("p");
      el.innerHTML = "<b>" + name + "</b>";
      return el.innerHTML;
    }
    """
    assert _call(tmp_path, script, "render", "<script>") == "<b><script></b>"
