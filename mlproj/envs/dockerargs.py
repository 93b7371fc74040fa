"""Docker options: ``-A/--docker-args``, ``docker_env.volumes`` and ``docker_env.environment``.

MLflow turns ``-A name=value`` into ``docker run --name value`` and ``-A name`` into ``--name``.
mlproj has no ``docker run`` command line: each supported option is checked here, before any run
exists, and mapped onto the keyword argument of the Docker SDK's ``containers.create`` that means
the same (:data:`SUPPORTED` lists them; README.md, "Docker projects", documents them). Anything
else is an error that names what is supported, rather than an option silently dropped.

Environment values never reach a command line: they go into the API's ``environment`` and only
their names are recorded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import EnvError, MlprojError

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmgBKMG]?$")
_MODES = {"ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate"}
_TRUE, _FALSE = ("", "true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True, slots=True)
class Volume:
    """One mount: a bind of an absolute host path, a named volume, or an anonymous volume."""

    source: str
    target: str
    mode: str = "rw"

    @property
    def is_bind(self) -> bool:
        return self.source.startswith("/")

    def spec(self) -> str:
        """The ``source:target:mode`` form the SDK's ``volumes`` list takes."""
        return f"{self.source}:{self.target}:{self.mode}" if self.source else self.target


@dataclass(frozen=True, slots=True)
class DockerArgs:
    """Checked ``-A`` options: SDK keywords, extra volumes and variables, what to record."""

    options: dict[str, object] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    recorded: tuple[str, ...] = ()


def _size(value: str) -> object:
    if not _SIZE.match(value):
        raise ValueError("expected a size like 512m or 2g")
    return value


def _swap(value: str) -> object:
    return -1 if value == "-1" else _size(value)


def _integer(value: str) -> object:
    return int(value)


def _cpus(value: str) -> object:
    cpus = float(value)
    if not 0 < cpus < 1e6:
        raise ValueError("expected a positive number of CPUs like 1.5")
    return int(cpus * 1e9)


def _text(value: str) -> object:
    if not value:
        raise ValueError("expected a value")
    return value


def _gpus(value: str) -> object:
    # docker run --gpus: "all", a count, or "device=0,1"; the SDK takes DeviceRequest fields.
    request: dict[str, object] = {"capabilities": [["gpu"]]}
    if value == "all":
        request["count"] = -1
    elif value.isdigit():
        request["count"] = int(value)
    elif value.startswith("device="):
        request["device_ids"] = [d for d in value.removeprefix("device=").split(",") if d]
    else:
        raise ValueError("expected all, a count, or device=0,1")
    return [request]


def _ulimit(value: str) -> object:
    name, _, limits = value.partition("=")
    soft, _, hard = limits.partition(":")
    return {"name": _text(name), "soft": int(soft), "hard": int(hard or soft)}


#: ``-A`` name -> (``containers.create`` keyword, converter) for options that take one value.
SCALAR: dict[str, tuple[str, Callable[[str], object]]] = {
    "cpu-shares": ("cpu_shares", _integer),
    "cpus": ("nano_cpus", _cpus),
    "cpuset-cpus": ("cpuset_cpus", _text),
    "gpus": ("device_requests", _gpus),
    "hostname": ("hostname", _text),
    "ipc": ("ipc_mode", _text),
    "memory": ("mem_limit", _size),
    "memory-reservation": ("mem_reservation", _size),
    "memory-swap": ("memswap_limit", _swap),
    "name": ("name", _text),
    "network": ("network_mode", _text),
    "pid": ("pid_mode", _text),
    "pids-limit": ("pids_limit", _integer),
    "platform": ("platform", _text),
    "runtime": ("runtime", _text),
    "shm-size": ("shm_size", _size),
    "user": ("user", _text),
}
#: Boolean flags: ``-A privileged`` or ``-A privileged=true|false``.
FLAGS = {
    "init": "init",
    "oom-kill-disable": "oom_kill_disable",
    "privileged": "privileged",
    "read-only": "read_only",
}
#: Repeatable options collected into a list.
LISTS: dict[str, tuple[str, Callable[[str], object]]] = {
    "cap-add": ("cap_add", _text),
    "cap-drop": ("cap_drop", _text),
    "device": ("devices", _text),
    "dns": ("dns", _text),
    "dns-search": ("dns_search", _text),
    "group-add": ("group_add", _text),
    "security-opt": ("security_opt", _text),
    "ulimit": ("ulimits", _ulimit),
}
#: Repeatable ``KEY<sep>VALUE`` options collected into a mapping.
DICTS = {"add-host": ("extra_hosts", ":"), "label": ("labels", "="), "sysctl": ("sysctls", "=")}
#: Handled apart: ``env`` (NAME or NAME=VALUE), ``volume`` (like docker_env.volumes), ``tmpfs``.
SPECIAL = ("env", "tmpfs", "volume")
ALIASES = {"e": "env", "h": "hostname", "l": "label", "m": "memory", "net": "network"}
ALIASES.update({"u": "user", "v": "volume"})
SUPPORTED = tuple(sorted({*SCALAR, *FLAGS, *LISTS, *DICTS, *SPECIAL}))
#: Options people pass to `docker run` that make no sense here, with the reason.
REFUSED = {
    "rm": "containers are always removed after the run (--keep-container keeps them)",
    "detach": "mlproj follows the container to record its exit status",
    "interactive": "entry points run without a terminal or stdin",
    "tty": "entry points run without a terminal; stdout and stderr are kept apart",
    "workdir": "the project folder is the working directory (see README, 'Docker projects')",
    "entrypoint": "the entry point's command is what runs; change the image to change this",
}
REFUSED.update({"d": REFUSED["detach"], "i": REFUSED["interactive"], "t": REFUSED["tty"]})
REFUSED["w"] = REFUSED["workdir"]


def parse_docker_args(
    args: Sequence[str], *, caller_dir: Path, host_env: Mapping[str, str]
) -> DockerArgs:
    """Check ``-A`` items and map them onto ``containers.create`` keyword arguments.

    Raises:
        EnvError: An option is unknown or refused, has a malformed value, is given twice, or
            names a host path or variable that does not exist.
    """
    options: dict[str, object] = {}
    volumes: list[Volume] = []
    environment: dict[str, str] = {}
    recorded: list[str] = []
    for item in args:
        raw_name, has_value, value = item.partition("=")
        name = _option_name(item, raw_name)
        where = f"-A {item.split('=')[0]}"
        if name == "env":
            key, text = _env_arg(where, value, host_env)
            environment[key] = text
            recorded.append(f"env={key}")
            continue
        if name == "volume":
            volumes.append(parse_volume(value, base=caller_dir, where=where, error=EnvError))
        else:
            _set_option(options, name, value if has_value else None, where)
        recorded.append(f"{name}={value}" if has_value else name)
    return DockerArgs(options, tuple(volumes), environment, tuple(recorded))


def _option_name(item: str, raw: str) -> str:
    name = ALIASES.get(raw, raw)
    if name in REFUSED:
        raise EnvError(f"-A {item}: not supported: {REFUSED[name]}")
    if not _NAME.match(name) or name not in SUPPORTED:
        hint = " (write -A NAME=VALUE, without dashes)" if raw.startswith("-") else ""
        raise EnvError(
            f"-A {item}: unsupported docker option '{raw}'{hint}; supported: {', '.join(SUPPORTED)}"
        )
    return name


def _set_option(options: dict[str, object], name: str, value: str | None, where: str) -> None:
    try:
        if name in FLAGS:
            _set_once(options, FLAGS[name], _flag(value), where)
        elif value is None:
            raise ValueError("expected a value: -A NAME=VALUE")
        elif name in SCALAR:
            key, convert = SCALAR[name]
            _set_once(options, key, convert(value), where)
        elif name in LISTS:
            key, convert = LISTS[name]
            current = options.setdefault(key, [])
            assert isinstance(current, list)
            current.append(convert(value))
        else:
            key, sep = DICTS.get(name, ("tmpfs", ":"))
            mapping = options.setdefault(key, {})
            assert isinstance(mapping, dict)
            left, found, right = value.partition(sep)
            if not left or (not found and name != "tmpfs"):
                raise ValueError(f"expected KEY{sep}VALUE")
            mapping[left] = right
    except ValueError as exc:
        raise EnvError(f"{where}={value or ''}: {exc}") from None


def _set_once(options: dict[str, object], key: str, value: object, where: str) -> None:
    if key in options:
        raise EnvError(f"{where} is given twice; keep one")
    options[key] = value


def _flag(value: str | None) -> bool:
    if value is None or value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError("expected true or false")


def _env_arg(where: str, value: str, host_env: Mapping[str, str]) -> tuple[str, str]:
    key, has_value, text = value.partition("=")
    if not _ENV_NAME.match(key):
        raise EnvError(f"{where}: '{key}' is not a variable name; write -A env=NAME[=VALUE]")
    if has_value:
        return key, text
    if key not in host_env:
        raise EnvError(f"{where}={key}: {key} is not set here; export it or give -A env={key}=...")
    return key, host_env[key]


def resolve_environment(
    entries: Sequence[tuple[str, str | None]], host_env: Mapping[str, str]
) -> dict[str, str]:
    """Values of ``docker_env.environment``: ``NAME`` copies the host's, ``[NAME, VALUE]`` sets.

    Raises:
        EnvError: A copied variable is not set on this machine.
    """
    values: dict[str, str] = {}
    for name, value in entries:
        if value is None and name not in host_env:
            raise EnvError(
                f"docker_env.environment: {name} is not set in mlproj's environment, so it "
                f"cannot be copied into the container; export {name}=... or declare [{name}, VALUE]"
            )
        values[name] = host_env[name] if value is None else value
    return values


def parse_volume(text: str, *, base: Path, where: str, error: type[MlprojError]) -> Volume:
    """Parse ``[SOURCE:]TARGET[:MODE]`` as ``docker run -v`` does, resolving host paths.

    A source starting with ``/``, ``.`` or ``~`` is a host path (relative ones resolve against
    ``base``) and must exist; any other source is a named volume.

    Raises:
        error: The text is malformed (``ProjectError`` for the MLproject, ``EnvError`` for -A).
        EnvError: A host path does not exist.
    """
    parts = text.split(":")
    source, target = ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    mode = parts[2] if len(parts) == 3 else "rw"
    problem = _volume_problem(source, target, mode, parts)
    if problem:
        raise error(f"{where}: '{text}' {problem}; expected HOST_PATH:CONTAINER_PATH[:ro]")
    if source.startswith((".", "~", "/")):
        host = Path(os.path.abspath(base / Path(source).expanduser()))
        if not host.exists():
            raise EnvError(
                f"{where}: host path {host} of volume '{text}' does not exist; create it or fix "
                f"the path (relative paths start from {base})"
            )
        source = str(host)
    return Volume(source, target, mode)


def _volume_problem(source: str, target: str, mode: str, parts: list[str]) -> str | None:
    if len(parts) > 3:
        return "has too many ':'"
    if len(parts) > 1 and not source:
        return "has an empty host path or volume name"
    if not target.startswith("/"):
        return "needs an absolute container path"
    if not all(flag in _MODES for flag in mode.split(",")):
        return f"has an unknown mode '{mode}' (ro, rw, z, Z)"
    return None
