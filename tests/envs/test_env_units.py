"""The pieces of environment handling that need no build: versions, keys, interpreters, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlproj.envs import cache as env_cache
from mlproj.envs.cache import Entry, Marker
from mlproj.envs.interpreters import find_interpreter
from mlproj.envs.inventory import list_envs, parse_duration, prune_envs
from mlproj.envs.requirements import install_args, referenced_paths
from mlproj.envs.versions import parse_python_request
from mlproj.errors import EnvError, UsageError
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("request_text", "accepted", "refused"),
    [
        ("3.10", [(3, 10, 0), (3, 10, 13)], [(3, 1, 0), (3, 11, 0), (3, 100, 1)]),
        ("3.10.13", [(3, 10, 13)], [(3, 10, 1), (3, 10, 130)]),
        ("=3.11", [(3, 11, 7)], [(3, 12, 0)]),
        ("3.11.*", [(3, 11, 0)], [(3, 1, 1)]),
        (">=3.9,<3.12", [(3, 9, 0), (3, 11, 9)], [(3, 8, 18), (3, 12, 0)]),
        ("3.9|3.11", [(3, 9, 1), (3, 11, 2)], [(3, 10, 0)]),
        ("==3.11", [(3, 11, 0)], [(3, 11, 7)]),
        ("~=3.10", [(3, 10, 0), (3, 12, 1)], [(3, 9, 9), (4, 0, 0)]),
        ("3", [(3, 13, 0)], [(2, 7, 18)]),
    ],
)
def test_python_requests(request_text, accepted, refused):
    parsed = parse_python_request(request_text)
    assert all(parsed.accepts(v) for v in accepted)
    assert not any(parsed.accepts(v) for v in refused)


@pytest.mark.parametrize("bad", ["", "three", "3.10.x", ">=3.10.*", "3.10rc1", "3..1"])
def test_malformed_python_requests_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match=r"expected e\.g\. 3\.10"):
        parse_python_request(bad)


def test_the_running_interpreter_is_found_first():
    version = ".".join(map(str, sys.version_info[:2]))
    found = find_interpreter(parse_python_request(version), where="x", uv=None)
    assert found.path == sys.executable


def test_no_matching_interpreter_names_every_place_searched(tmp_path, monkeypatch):
    fake_pyenv = tmp_path / "pyenv" / "versions" / "3.4.1" / "bin"
    fake_pyenv.mkdir(parents=True)
    (fake_pyenv / "python").write_text("#!/bin/sh\nexit 1\n")
    (fake_pyenv / "python").chmod(0o755)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    with pytest.raises(EnvError) as caught:
        find_interpreter(parse_python_request("2.1"), where="python_env.yaml: python", uv=None)
    message = caught.value.message
    assert message.startswith("python_env.yaml: python: no Python matching '2.1'")
    for place in ("mlproj's own", "PATH:", "pyenv: 3.4.1", "uv: none", "uv python install 2.1"):
        assert place in message


def test_interpreter_on_path_is_probed_not_trusted_by_name(tmp_path, monkeypatch):
    # A `python3.99` that is really this interpreter (a lying shim) must not satisfy 3.99.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3.99").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    with pytest.raises(EnvError, match=r"PATH: .*3\.\d+"):
        find_interpreter(parse_python_request("3.99"), where="x", uv=None)


@pytest.mark.parametrize(
    ("request_text", "promised", "could"),
    [
        ("3.12", (3, 12), True),
        ("3.12.1", (3, 12), True),
        ("3.12", (3, 10), False),
        (">=3.11,<3.13", (3, 12), True),
        (">=3.11,<3.13", (3, 13), False),
        ("3.12.1", (3, 12, 1), True),
        ("3.12.1", (3, 12, 2), False),
    ],
)
def test_what_a_name_promises_decides_whether_it_is_run(request_text, promised, could):
    assert parse_python_request(request_text).could_accept(promised) is could


def fake_python(path: Path, version: str, ran: Path) -> None:
    """A `python` that answers the probe with ``version`` and notes in ``ran`` that it ran."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {path} >> {ran}\necho {version}\n")
    path.chmod(0o755)


def test_names_that_promise_another_version_and_pyenv_shims_are_not_run(tmp_path, monkeypatch):
    ran = tmp_path / "ran.txt"
    ran.touch()
    pyenv = tmp_path / "pyenv"
    fake_python(pyenv / "shims" / "python3.12", "3.12.9", ran)  # a shim: slow, never run
    fake_python(tmp_path / "bin" / "python3.10", "3.12.8", ran)  # promises 3.10: not run
    fake_python(tmp_path / "bin" / "python3", "3.12.7", ran)  # promises nothing: run
    monkeypatch.setenv("PYENV_ROOT", str(pyenv))
    monkeypatch.setenv("PATH", f"{pyenv / 'shims'}:{tmp_path / 'bin'}")
    found = find_interpreter(parse_python_request("3.12"), where="x", uv=None)
    assert (found.path, found.version) == (str(tmp_path / "bin" / "python3"), (3, 12, 7))
    assert ran.read_text().splitlines() == [str(tmp_path / "bin" / "python3")]


def test_requirement_lines_become_installer_arguments():
    lines = ("six>=1.0", "-r requirements.txt", "# comment", "", "--index-url=https://x/simple")
    args = install_args((*lines, 'attrs; python_version > "3"'))
    assert args == [
        "six>=1.0",
        "-r",
        "requirements.txt",
        "--index-url=https://x/simple",
        'attrs; python_version > "3"',
    ]


def test_referenced_files_are_followed(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "requirements.txt").write_text("six\n-r sub/more.txt\n")
    (tmp_path / "sub" / "more.txt").write_text("-c constraints.txt\n./pkg\n")
    (tmp_path / "sub" / "constraints.txt").write_text("six<2\n")
    found = referenced_paths(("-r requirements.txt", "-e ./editable", "numpy"), tmp_path)
    assert found == [
        ("file", tmp_path / "requirements.txt"),
        ("file", tmp_path / "sub" / "more.txt"),
        ("file", tmp_path / "sub" / "constraints.txt"),
        ("path", tmp_path / "sub" / "pkg"),
        ("editable", tmp_path / "editable"),
    ]


def test_a_missing_requirement_file_is_named(tmp_path):
    with pytest.raises(EnvError, match=r"requirement file 'nope\.txt'"):
        referenced_paths(("-r nope.txt",), tmp_path)


KEY_SCRIPT = """
import json, sys
from pathlib import Path
from mlproj.spec.load import load_project
from mlproj.envs import select_environment
env = select_environment(load_project(Path(sys.argv[1])), sys.argv[2])
key = env.key()
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pip', 'virtualenv', 'rattler'))
print(json.dumps({"key": key, "heavy": heavy}))
"""


def compute_key(project: Path, manager: str = "virtualenv") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", KEY_SCRIPT, str(project), manager],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout)


def test_key_follows_content_and_never_imports_installers(write_project):
    project = write_project(
        {
            "MLproject": "python_env: python_env.yaml\nentry_points: {main: {command: ls}}\n",
            "python_env.yaml": "dependencies: [-r requirements.txt, ./pkg]\n",
            "requirements.txt": "six\n",
            "pkg/pyproject.toml": "[project]\nname = 'pkg'\n",
            "pkg/pkg/__init__.py": "",
        }
    )
    first = compute_key(project)
    assert first["heavy"] == []
    assert compute_key(project)["key"] == first["key"]
    assert compute_key(project, "uv")["key"] != first["key"]  # the manager decides too
    (project / "requirements.txt").write_text("six==1.17.0\n")
    second = compute_key(project)["key"]
    assert second != first["key"]
    (project / "pkg" / "pkg" / "extra.py").write_text("X = 1\n")
    assert compute_key(project)["key"] != second  # the local package changed


def test_durations():
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 12 * 3600
    assert parse_duration("2w") == 14 * 86400
    assert parse_duration("1.5") == 1.5 * 86400
    with pytest.raises(UsageError, match="30d, 12h"):
        parse_duration("soon")


def fake_env(root: Path, key: str, *, complete: bool = True) -> Entry:
    entry = Entry(root, key)
    (entry.prefix / "bin").mkdir(parents=True)
    (entry.prefix / "bin" / "tool").write_text("x" * 1000)
    if complete:
        marker = Marker(key, "virtualenv", "uv", "3.11.7", 0.0, 1.0, 1, "0" * 64)
        entry.publish(marker, ("six==1.17.0",), "log\n")
    return entry


def test_prune_removes_leftovers_by_default_and_skips_envs_in_use(cache):
    root = env_cache.envs_root()
    used = fake_env(root, "a" * 16)
    idle = fake_env(root, "b" * 16)
    leftover = fake_env(root, "c" * 16, complete=False)
    states = {info.key: info.state for info in list_envs()}
    assert states == {"a" * 16: "ready", "b" * 16: "ready", "c" * 16: "incomplete"}
    assert prune_envs().removed == (("c" * 16, 1000),)
    assert not leftover.folder.exists()
    holder = used.lock(shared=True)  # a run using it
    try:
        assert {info.key: info.state for info in list_envs()}["a" * 16] == "in use"
        result = prune_envs(everything=True)
    finally:
        holder.release()
    assert [key for key, _ in result.removed] == ["b" * 16]
    assert result.in_use == ("a" * 16,)
    assert used.marker() is not None
    assert not idle.folder.exists()
    assert not idle.lock_path.exists()


def test_prune_older_than_uses_last_use(cache):
    root = env_cache.envs_root()
    old = fake_env(root, "d" * 16)
    fresh = fake_env(root, "e" * 16)
    stamp = old.folder / env_cache.LAST_USED
    os.utime(stamp, (1_000_000, 1_000_000))
    result = prune_envs(older_than=parse_duration("30d"))
    assert [key for key, _ in result.removed] == ["d" * 16]
    assert fresh.marker() is not None


def test_envs_commands(mlproj, cache):
    root = env_cache.envs_root()
    fake_env(root, "f" * 16)
    fake_env(root, "0" * 16, complete=False)
    listed = mlproj("envs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "KEY",
        "MANAGER",
        "TOOL",
        "PYTHON",
        "SIZE",
        "LAST",
        "USED",
        "STATE",
        "PROJECTS",
    ]
    assert any(line.startswith("f" * 16) and "virtualenv" in line for line in lines)
    assert any(line.startswith("0" * 16) and "incomplete" in line for line in lines)
    pruned = mlproj("envs", "prune")
    assert pruned.returncode == 0
    assert f"removed env {'0' * 16}" in pruned.stderr
    assert "removed 1 environment(s)" in pruned.stderr
    assert mlproj("envs", "prune", "--all").returncode == 0
    assert mlproj("envs", "list").stdout.startswith("no cached environments in ")
    bad = mlproj("envs", "prune", "--older-than", "soon")
    assert bad.returncode == 112
    assert "not a duration" in bad.stderr


def test_unwritable_cache_is_an_environment_error(mlproj, write_project, tmp_path):
    project = write_project({"python_env.yaml": "dependencies: []\n", "main.py": ""})
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = mlproj("run", str(project), "-e", "main.py", MLPROJ_CACHE_DIR=str(blocker / "cache"))
    assert result.returncode == 115
    assert "environment cache: Not a directory" in result.stderr
    assert "MLPROJ_CACHE_DIR" in result.stderr
    assert mlproj("runs", "list", "--json").json()[0]["status"] == "FAILED"
