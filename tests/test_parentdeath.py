"""How a child is started so that it gets SIGTERM if mlproj dies: setpriv, else the ctypes hook."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlproj.parentdeath import NO_SETPRIV_VARIABLE, _setpriv, with_parent_death

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@linux_only
def test_setpriv_is_there_on_debian():
    """util-linux is Essential on Debian (CI's machine): runs take the fast path there."""
    if not Path("/etc/debian_version").exists():
        pytest.skip("not Debian: setpriv may be missing, and the hook is used then")
    assert _setpriv() == "/usr/bin/setpriv"


@linux_only
def test_a_program_that_starts_goes_through_setpriv(monkeypatch, tmp_path):
    monkeypatch.delenv(NO_SETPRIV_VARIABLE, raising=False)
    setpriv = _setpriv()
    if setpriv is None:
        pytest.skip("no setpriv with --pdeathsig here")
    argv, hook = with_parent_death([sys.executable, "-c", "pass"], tmp_path, None)
    assert (argv, hook) == (
        [setpriv, "--pdeathsig", "TERM", "--", sys.executable, "-c", "pass"],
        None,
    )
    # Found as Popen finds it: on the child's PATH, and relative to the child's folder.
    tools = tmp_path / "tools"
    tools.mkdir()
    script = tools / "tool"
    script.write_text(f"#!{sys.executable}\n")
    script.chmod(0o755)
    assert with_parent_death(["tool"], tmp_path, {"PATH": str(tools)})[1] is None
    assert with_parent_death(["tools/tool"], tmp_path, {})[1] is None
    assert with_parent_death(["tool"], tmp_path, {"PATH": "/nowhere"})[1] is not None


@linux_only
@pytest.mark.parametrize(
    ("name", "text", "mode"),
    [
        ("missing", None, 0),
        ("not-executable", "#!/bin/sh\n", 0o644),
        ("no-format", "echo hi\n", 0o755),
        ("missing-interpreter", "#!/no/such/interpreter\n", 0o755),
        ("empty-shebang", "#!\n", 0o755),
    ],
)
def test_a_program_that_cannot_start_goes_through_the_hook(tmp_path, name, text, mode):
    """So that Popen raises the OSError mlproj reports, not setpriv's own message."""
    if text is not None:
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(mode)
    argv, hook = with_parent_death([f"./{name}", "x"], tmp_path, None)
    assert argv == [f"./{name}", "x"]
    assert callable(hook)


@linux_only
def test_the_variable_forces_the_hook(monkeypatch, tmp_path):
    monkeypatch.setenv(NO_SETPRIV_VARIABLE, "1")
    argv, hook = with_parent_death([sys.executable, "-c", "pass"], tmp_path, None)
    assert argv == [sys.executable, "-c", "pass"]
    assert callable(hook)
