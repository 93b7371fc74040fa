"""Start-up stays cheap: `--help` and `runs list` import none of the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mlproj.parentdeath import _setpriv
from tests.importprobe import run_probed

HEAVY = ("yaml", "git", "docker", "rich", "jsonschema", "virtualenv")


@pytest.mark.parametrize("args", [["--help"], ["runs", "list"], ["runs", "list", "--json"]])
def test_fast_paths_do_not_import_heavy_modules(args, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "MLPROJ_TRACKING_URI": str(tmp_path / "s"),
        "PYTHONPATH": os.environ["PYTHONPATH"],  # this checkout's code, not an installed one
    }
    loaded, _ = run_probed(HEAVY, args, env=env, cwd=tmp_path)
    assert loaded == []


#: What `mlproj run` of a local folder with `--env-manager local` does not need: GitPython and the
#: git URL machinery, the other environment kinds, the filter language, the MLflow REST handler,
#: the log record parser (nothing is logged), the HTTP server, the IDNA codec, OpenSSL's hashes.
NOT_ON_THE_LOCAL_RUN_PATH = (
    *(name for name in HEAVY if name != "yaml"),
    "mlproj.sources.remote",
    "mlproj.sources.cache",
    "mlproj.sources.gitrepo",
    "mlproj.sources.workdir",
    "mlproj.sources.localrepo",
    "mlproj.envs.venv",
    "mlproj.envs.conda",
    "mlproj.envs.docker",
    "mlproj.backends",
    "mlproj.tracking.filters",
    "mlproj.tracking.lexer",
    "mlproj.tracking.sqlgen",
    "mlproj.tracking.mlflow_api",
    "mlproj.tracking.records",
    "mlproj.tracking.artifacts",
    "mlproj.tracking.history",
    "mlproj.reproduce",
    "http.server",
    "encodings.idna",
    "hashlib",
    # What only a project with a problem, declared environments, shell templates, --reuse need.
    "mlproj.spec.problems",
    "mlproj.spec.envmodel",
    "mlproj.spec.shellscan",
    "mlproj.tracking.matching",
    # The entry point's parent-death signal is set by setpriv, not through ctypes (~3 ms).
    *(("ctypes",) if _setpriv() is not None else ()),
    # What dataclasses' `inspect` would import: it stays a placeholder (mlproj/deferred.py).
    *(("ast", "dis", "tokenize") if sys.version_info < (3, 12) else ()),
    # The MLflow bridge listens through `_socket`; `socket` loads at the first MLflow call.
    "socket",
    # Nothing on the way writes or reads JSON (the child's log writer is the child's).
    "json",
    "mlproj.logwriter",
)
#: ... and what only a folder in a git work tree needs: git itself, and helper-process results.
NOT_IN_A_PLAIN_FOLDER = (
    "mlproj.sources.local",
    "mlproj.sources.gitcli",
    "mlproj.sources.giturl",
    "mlproj.toolresults",
)


@pytest.mark.parametrize("in_git", [False, True], ids=["folder", "git-work-tree"])
def test_local_run_path_imports_only_what_it_uses(tmp_path, in_git):
    """`mlproj run <folder> --env-manager local`, run before: not even yaml is imported."""
    project = tmp_path / "project"
    project.mkdir()
    command = f"{sys.executable} -c pass {{alpha}}"
    (project / "MLproject").write_text(
        "name: trivial\nentry_points:\n  main:\n    parameters:\n"
        f"      alpha: {{type: float, default: 0.5}}\n    command: {json.dumps(command)}\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "MLPROJ_TRACKING_URI": str(tmp_path / "store"),
        "PYTHONPATH": os.environ["PYTHONPATH"],
    }
    if in_git:  # provenance comes from the git program, never from GitPython
        for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *argv]
            subprocess.run(git, cwd=project, check=True, env=env)
    args = ["run", str(project), "--env-manager", "local", "-q"]
    # The first run composes the MLproject with PyYAML and caches its nodes (spec/nodecache.py).
    warm = [sys.executable, "-m", "mlproj", *args]
    assert subprocess.run(warm, cwd=tmp_path, env=env, check=False).returncode == 0
    unwanted = (*NOT_ON_THE_LOCAL_RUN_PATH, "yaml", *(() if in_git else NOT_IN_A_PLAIN_FOLDER))
    loaded, _ = run_probed(unwanted, args, env=env, cwd=tmp_path)
    assert loaded == []


def test_a_git_source_read_before_does_not_import_yaml(tmp_path):
    """A new commit is read in a new checkout folder; its MLproject is the same text as before."""
    source, bare = tmp_path / "source", tmp_path / "repo.git"
    source.mkdir()
    (source / "MLproject").write_text("name: t\nentry_points:\n  main:\n    command: 'true'\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "MLPROJ_TRACKING_URI": str(tmp_path / "store"),
        "MLPROJ_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.environ["PYTHONPATH"],
    }

    def git(*argv: str) -> None:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *argv]
        subprocess.run(command, cwd=source, check=True, env=env)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "first")
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True, env=env)
    args = ["run", bare.as_uri(), "-q"]
    warm = [sys.executable, "-m", "mlproj", *args]
    assert subprocess.run(warm, cwd=tmp_path, env=env, check=False).returncode == 0
    (source / "train.py").write_text("print('changed')\n")
    git("add", "-A")
    git("commit", "-qm", "second")
    git("push", "-q", str(bare), "HEAD")
    loaded, _ = run_probed(["yaml"], args, env=env, cwd=tmp_path)
    assert loaded == []


def test_import_mlproj_is_light(tmp_path):
    """`import mlproj` (for the logging API) loads no submodule and none of the CLI's libraries."""
    probe = (
        "import json, sys\n"
        "import mlproj\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('mlproj', 'typer', 'click', *json.loads(sys.argv[1])))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(done.stdout) == ["mlproj"]


def test_mlproj_log_inside_a_run_only_appends(tmp_path):
    """`mlproj log` in a shell loop: no store, no runner, none of the heavy libraries."""
    log = tmp_path / "records.jsonl"
    args = ["log", "metric", "loss", "0.5", "--step", "3"]
    env = {
        "PATH": "/usr/bin:/bin",
        "MLPROJ_RUN_ID": "0" * 32,
        "MLPROJ_LOG_FILE": str(log),
        "PYTHONPATH": os.environ["PYTHONPATH"],
    }
    loaded, _ = run_probed([*HEAVY, "sqlite3"], args, env=env, cwd=tmp_path)
    assert loaded == []
    assert json.loads(log.read_text())["step"] == 3


#: Dataclasses a plain folder run creates (each costs ~1 ms at import on 3.11): the request and
#: plan, the source, the project model, the parameters, the run records, the environment's
#: answers, the supervised process, live tracking. Records only other runs need (docker_env and
#: env files, git provenance, helper results, --reuse, log batches, problems, experiments, metrics,
#: bulk inserts) live in modules that load when needed; lower this when one more goes, raise it
#: only with a reason.
MAX_DATACLASSES_ON_THE_LOCAL_RUN_PATH = 17
#: Named tuples it creates (~0.2 ms each): one function's answers that are not records (the
#: parsed MLproject and its declared environment, the parsed source URI, the store's location,
#: a run's row). Counted too, so records do not come back as named tuples unnoticed.
MAX_NAMED_TUPLES_ON_THE_LOCAL_RUN_PATH = 5

DATACLASS_PROBE = """
import collections, dataclasses, json, sys
made, tuples = [], []
process_class, namedtuple = dataclasses._process_class, collections.namedtuple
def counted(cls, *args, **kwargs):
    made.append(f"{cls.__module__}.{cls.__qualname__}")
    return process_class(cls, *args, **kwargs)
def counted_tuple(name, fields, **kwargs):
    tuples.append(f"{kwargs.get('module')}.{name}")
    return namedtuple(name, fields, **kwargs)
dataclasses._process_class = counted  # what @dataclass calls for every class it makes
collections.namedtuple = counted_tuple  # what typing.NamedTuple calls for every class it makes
from mlproj.cli.commands import run_command
code = run_command(
    uri=".", entry_point="main", param=[], version=None, env_manager="local",
    experiment_name=None, run_name=None, tracking_uri=None, strict_params=False, quiet=True,
)
mine = sorted(name for name in made if name.startswith("mlproj."))
my_tuples = sorted(name for name in tuples if name.startswith("mlproj."))
sys.stderr.write("MADE=" + json.dumps({"code": code, "made": mine, "tuples": my_tuples}) + "\\n")
"""


def test_local_run_path_creates_few_dataclasses(tmp_path):
    """A plain folder run makes only the dataclasses it uses, so start-up cannot creep back."""
    command = f"{sys.executable} -c pass {{alpha}}"
    (tmp_path / "MLproject").write_text(
        "name: trivial\nentry_points:\n  main:\n    parameters:\n"
        f"      alpha: {{type: float, default: 0.5}}\n    command: {json.dumps(command)}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", DATACLASS_PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "MLPROJ_TRACKING_URI": str(tmp_path / "store"),
            "PYTHONPATH": os.environ["PYTHONPATH"],
        },
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("MADE="))
    report = json.loads(line.removeprefix("MADE="))
    assert report["code"] == 0
    assert len(report["made"]) <= MAX_DATACLASSES_ON_THE_LOCAL_RUN_PATH, report["made"]
    assert len(report["tuples"]) <= MAX_NAMED_TUPLES_ON_THE_LOCAL_RUN_PATH, report["tuples"]


FREEZE_PROBE = """
import atexit, gc, json, sys
atexit.register(lambda: sys.stderr.write(f"FROZEN={gc.get_freeze_count()}\\n"))
call, sys.argv = json.loads(sys.argv[1]), ["mlproj", "runs", "list"]
from mlproj.cli.main import main
main(*call)
"""


def test_only_the_command_itself_exits_without_a_last_collection(tmp_path):
    """`mlproj` freezes the collector before exiting (~15 ms less); a caller passing argv not."""
    env = {
        "PATH": "/usr/bin:/bin",
        "MLPROJ_TRACKING_URI": str(tmp_path / "s"),
        "PYTHONPATH": os.environ["PYTHONPATH"],
    }
    frozen = {}
    for name, call in {"command": [], "caller": [["runs", "list"]]}.items():
        done = subprocess.run(
            [sys.executable, "-c", FREEZE_PROBE, json.dumps(call)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stderr.splitlines() if x.startswith("FROZEN="))
        frozen[name] = int(line.removeprefix("FROZEN="))
    assert frozen["command"] > 1000
    assert frozen["caller"] == 0
