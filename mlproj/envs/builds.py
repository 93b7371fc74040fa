"""Build-or-reuse of a cached environment, safe when many `mlproj run` start at once.

A run first looks for the completion marker without any lock (the fast path of a warm run). To
build, it takes the key's exclusive lock, looks again (another process may have built it while
this one waited), clears whatever a killed build left, builds, publishes the marker and turns its
lock into a shared one, which it keeps until it exits: `mlproj envs prune` never deletes an
environment a run is using. N parallel runs of a new environment therefore build it once.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.envs.base import OutputSink, Prepared
from mlproj.envs.cache import Entry, KeyLock, Marker, envs_root
from mlproj.errors import EnvError


@dataclass(frozen=True, slots=True)
class Built:
    """What a build function reports: the installed set and facts for the run record."""

    installed: tuple[str, ...]
    tool: str
    python: str
    #: A folder (relative to the prefix) whose entries change when packages change.
    watch: str = ""
    details: dict[str, str] = field(default_factory=dict)


#: Builds the environment into the given (empty) prefix, sending output to the sink.
BuildFunction = Callable[[Path, OutputSink], Built]
#: Captures the installed set of an existing prefix again (when a run changed it).
FreezeFunction = Callable[[Path], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """One environment to build or reuse."""

    key: str
    manager: str
    project_dir: Path
    build: BuildFunction
    freeze: FreezeFunction
    #: True when an existing prefix still works (its interpreter's target exists...).
    healthy: Callable[[Path], bool]
    #: Lines shown before every use (e.g. conda packages a virtualenv cannot install).
    notes: tuple[str, ...] = ()


class CachedEnv:
    """Prepares one cache entry and holds its shared lock for the rest of the process."""

    def __init__(self, key: str) -> None:
        self.entry = Entry(envs_root(), key)
        self._lock: KeyLock | None = None

    @property
    def prefix(self) -> Path:
        return self.entry.prefix

    def prepare(self, request: CacheRequest, output: OutputSink) -> Prepared:
        """Reuse the cached environment or build it (see the module docstring).

        Raises:
            EnvError: The build failed, or the cache folder cannot be written.
        """
        try:
            return self._prepare(request, output)
        except OSError as exc:
            where = exc.filename or self.entry.root
            raise EnvError(
                f"environment cache: {exc.strerror or exc} ({where}); free some space or set "
                "MLPROJ_CACHE_DIR to a writable folder"
            ) from None

    def _prepare(self, request: CacheRequest, output: OutputSink) -> Prepared:
        started = time.monotonic()
        for note in request.notes:
            output(f"mlproj: {note}\n")
        if self._reusable(request):
            lock = self.entry.lock(shared=True)
            marker = self.entry.marker()
            if marker is not None and request.healthy(self.prefix):
                return self._reused(request, marker, lock, started)
            lock.release()

        waited: list[float] = []

        def waiting() -> None:
            waited.append(time.time())
            output(f"mlproj: waiting for another mlproj to finish building env {request.key}\n")

        lock = self.entry.lock(shared=False, on_wait=waiting)
        try:
            marker = self.entry.marker()
            if marker is not None and request.healthy(self.prefix):
                lock.downgrade()
                return self._reused(request, marker, lock, started)
            failed = self.entry.failure_since(waited[0]) if waited else None
            if failed is not None:
                # The build this run waited for failed: the same inputs would fail again now.
                raise EnvError(
                    f"{failed} (the same environment just failed to build in another mlproj "
                    "run; not retried)"
                )
            built = self._build(request, output, started)
            lock.downgrade()
        except BaseException:
            lock.release()
            raise
        self._lock = lock
        return built

    def _reusable(self, request: CacheRequest) -> bool:
        return self.entry.marker() is not None and request.healthy(self.prefix)

    def _reused(
        self, request: CacheRequest, marker: Marker, lock: KeyLock, started: float
    ) -> Prepared:
        self._lock = lock
        self.entry.touch(request.project_dir)
        installed = self.entry.installed()
        if marker.watch and folder_signature(self.prefix / marker.watch) != marker.watch_signature:
            # Something installed into the cached environment since it was built: record what is
            # there now, not what the build left.
            installed = request.freeze(self.prefix)
        details = _details(marker.tool, marker.python, installed, created=False)
        return Prepared(False, time.monotonic() - started, installed, details)

    def _build(self, request: CacheRequest, output: OutputSink, started: float) -> Prepared:
        self.entry.clear()  # whatever a killed build left behind
        self.entry.folder.mkdir(parents=True)
        log: list[str] = []

        def tee(text: str) -> None:
            log.append(text)
            output(text)

        try:
            built = request.build(self.prefix, tee)
            seconds = time.monotonic() - started
            details = _details(built.tool, built.python, built.installed, created=True)
            marker = Marker(
                key=request.key,
                manager=request.manager,
                tool=built.tool,
                python=built.python,
                created=time.time(),
                build_seconds=round(seconds, 3),
                installed_count=len(built.installed),
                installed_sha256=details["installed_sha256"],
                watch=built.watch,
                watch_signature=folder_signature(self.prefix / built.watch) if built.watch else "",
            )
            self.entry.publish(marker, built.installed, "".join(log))
            self.entry.forget_failure()
            self.entry.touch(request.project_dir)
        except EnvError as exc:
            self.entry.clear()  # nothing half-built stays in the cache
            self.entry.record_failure(exc.message)
            raise
        except BaseException:
            self.entry.clear()
            raise
        details.update(built.details)
        return Prepared(True, time.monotonic() - started, built.installed, details)


def _details(
    tool: str, python: str, installed: tuple[str, ...], *, created: bool
) -> dict[str, str]:
    text = "".join(f"{line}\n" for line in installed)
    return {
        "tool": tool,
        "python": python,
        "created": "true" if created else "false",
        "installed": str(sum(1 for line in installed if not line.startswith(("#", "@")))),
        "installed_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def folder_signature(folder: Path) -> str:
    """A digest of a folder's entry names (site-packages, conda-meta): it changes when a package
    is installed or removed, and not when Python writes bytecode caches."""
    try:
        entries = os.listdir(folder)
        names = sorted(n for n in entries if n != "__pycache__" and not n.startswith("."))
    except OSError:
        return ""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


class PrefixEnvironment:
    """What every cached-prefix environment (virtualenv, uv, conda) shares.

    Subclasses provide :meth:`key`; the prefix, its interpreter and the PATH that puts its
    ``bin/`` first follow from it.
    """

    def __init__(self) -> None:
        self._key: str | None = None
        self._cache: CachedEnv | None = None

    def key(self) -> str:
        raise NotImplementedError

    def _cached(self) -> CachedEnv:
        if self._cache is None:
            self._cache = CachedEnv(self.key())
        return self._cache

    @property
    def prefix(self) -> Path:
        return self._cached().prefix

    def python(self) -> str:
        return str(self.prefix / "bin" / "python")

    def wrap(self, argv: Sequence[str]) -> list[str]:
        return list(argv)  # PATH puts the environment's bin/ first; nothing to wrap

    def _path_first(self) -> str:
        """PATH with the environment's ``bin/`` in front, as activation would set it."""
        return f"{self.prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
