"""`mlproj rerun` of a virtualenv/uv run installs the run's recorded installed set, for real.

The project's requirement floats (``six``); the first run installed an older six because the
spec said so then. The rerun must install exactly that version again, in an environment of its
own key, unless `--resolve-again` asks for what the requirements give today.
"""

from __future__ import annotations

import pytest

from tests.envs.conftest import cache_entries

pytestmark = pytest.mark.slow

PROBE = "import six; print('six', six.__version__)\n"


def newest(mlproj) -> dict:
    return mlproj("runs", "list", "--json").json()[0]


@pytest.mark.parametrize(("manager", "no_uv"), [("virtualenv", "1"), ("uv", "")])
def test_rerun_installs_the_recorded_set_unless_asked_to_resolve_again(
    mlproj, write_project, cache, store_dir, manager, no_uv
):
    env = {"MLPROJ_NO_UV": no_uv}
    project = write_project({"python_env.yaml": "dependencies: ['six<1.17']\n", "probe.py": PROBE})
    args = ("-e", "probe.py", "--env-manager", manager, "-q")
    first = mlproj("run", str(project), *args, timeout=600, **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "six 1.16.0\n"
    original = newest(mlproj)
    installed = (store_dir / "runs" / original["run_id"] / "installed.txt").read_text()
    assert "six==1.16.0" in installed.splitlines()
    # The spec floats from now on: resolving it again would give the newest six.
    (project / "python_env.yaml").write_text("dependencies: [six]\n")

    pinned = mlproj("rerun", original["run_id"], timeout=600, **env)
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout == "six 1.16.0\n"
    assert f"environment: pinned to the installed set of run {original['run_id'][:12]}" in (
        pinned.stderr
    )
    rerun = newest(mlproj)
    assert rerun["tags"]["mlproj.rerun.env"].startswith("pinned to the installed set")
    assert rerun["env"]["details"]["pinned"].endswith("packages from a recorded installed set")
    assert rerun["env"]["key"] != original["env"]["key"]  # a key of its own
    rerun_set = (store_dir / "runs" / rerun["run_id"] / "installed.txt").read_text()
    assert rerun_set == installed

    floating = mlproj("rerun", original["run_id"], "--resolve-again", timeout=600, **env)
    assert floating.returncode == 0, floating.stderr
    assert floating.stdout.startswith("six 1.")
    assert floating.stdout != "six 1.16.0\n"  # six<1.17 no longer holds
    resolved = newest(mlproj)
    assert resolved["tags"]["mlproj.rerun.env"] == "requirements resolved again (--resolve-again)"
    assert "pinned" not in resolved["env"]["details"]
    assert len({original["env"]["key"], rerun["env"]["key"], resolved["env"]["key"]}) == 3

    # The pinned environment is cached under its key: a rerun of the rerun reuses it.
    again = mlproj("rerun", rerun["run_id"], timeout=300, **env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "six 1.16.0\n"
    assert newest(mlproj)["env"]["key"] == rerun["env"]["key"]
    assert newest(mlproj)["env"]["details"]["created"] == "false"
    assert len(cache_entries(cache)) == 3


def test_rerun_without_a_recorded_set_resolves_and_says_so(mlproj, write_project, store_dir):
    project = write_project({"python_env.yaml": "dependencies: [six]\n", "probe.py": PROBE})
    first = mlproj("run", str(project), "-e", "probe.py", "-q", timeout=600)
    assert first.returncode == 0, first.stderr
    original = newest(mlproj)
    (store_dir / "runs" / original["run_id"] / "installed.txt").unlink()
    result = mlproj("rerun", original["run_id"], timeout=300)
    assert result.returncode == 0, result.stderr
    assert "warning: requirements resolved again: run" in result.stderr
    assert newest(mlproj)["env"]["key"] == original["env"]["key"]  # the same floating env


def test_a_recorded_local_package_that_is_gone_needs_resolve_again(mlproj, tmp_path):
    """A git source's checkout is gone after its run, and the local package path with it."""
    import shutil
    import subprocess

    from tests.conftest import EXAMPLES

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "local_package", repo)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"]):
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e", *args],
            check=True,
        )
    first = mlproj("run", repo.as_uri(), "--env-manager", "uv", "-q", timeout=600)
    assert first.returncode == 0, first.stderr
    original = newest(mlproj)
    # Building greetlib wrote into the checkout, so it was kept; `mlproj cache prune` removes it.
    shutil.rmtree(original["source"]["details"]["workdir"])
    refused = mlproj("rerun", original["run_id"], timeout=300)
    assert refused.returncode == 115
    [line] = refused.stderr.strip().splitlines()
    assert "greetlib, which no longer exists; rerun with --resolve-again" in line
    assert len(mlproj("runs", "list", "--json").json()) == 1
    resolved = mlproj("rerun", original["run_id"], "--resolve-again", "-q", timeout=300)
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.stdout.splitlines()[0] == "Hello, world, from greetlib"
