"""Downloading ``path`` parameters given as http(s) URLs, before the run (as MLflow does).

Each plan gets a private folder under mlproj's cache (``downloads/``); every URL is fetched into
it as ``<parameter>/<file name>`` and the entry point receives that local path. The folder is
removed when the run ends (:meth:`Downloads.release`). What was fetched is recorded with the
run: the URL stays the parameter's value, and the file's size and SHA-256 become tags.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlproj.errors import SourceError
from mlproj.settings import cache_dir
from mlproj.sources.uri import redact_url

_TIMEOUT = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Downloads:
    """The local copies of a run's remote ``path`` values, and facts to record about them."""

    folder: Path | None = None
    #: parameter name -> local file.
    paths: dict[str, str] = field(default_factory=dict)
    #: tags for the run record (``mlproj.param.<name>.sha256`` and ``.bytes``).
    tags: dict[str, str] = field(default_factory=dict)

    def release(self) -> None:
        """Remove the downloaded files (idempotent)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def download_inputs(
    remote: Mapping[str, str], progress: Callable[[str], None] | None = None
) -> Downloads:
    """Fetch every URL of ``remote`` (parameter name -> URL) into a fresh private folder.

    Raises:
        SourceError: A URL cannot be fetched (the folder is removed again).
    """
    if not remote:
        return Downloads()
    root = cache_dir() / "downloads"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    downloads = Downloads(folder)
    try:
        for name, url in remote.items():
            if progress is not None:
                progress(f"downloading parameter {name}: {redact_url(url)}")
            target = folder / name / _file_name(url)
            target.parent.mkdir(parents=True)
            digest, size = _fetch(name, url, target)
            downloads.paths[name] = str(target)
            downloads.tags[f"mlproj.param.{name}.sha256"] = digest
            downloads.tags[f"mlproj.param.{name}.bytes"] = str(size)
    except BaseException:
        downloads.release()
        raise
    return downloads


def _file_name(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name).lstrip(".")
    return safe or "download"


def _fetch(name: str, url: str, target: Path) -> tuple[str, int]:
    import hashlib
    import urllib.error
    import urllib.request

    shown = redact_url(url)
    digest, size = hashlib.sha256(), 0
    try:
        # S310: only http(s) URLs get here (spec.params.is_download).
        opened = urllib.request.urlopen(url, timeout=_TIMEOUT)  # noqa: S310
        with opened as response, target.open("wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise SourceError(
            f"parameter {name!r}: cannot download {shown}: HTTP {exc.code} {exc.reason}; "
            "check the URL, or download the file and pass its path"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        with contextlib.suppress(OSError):
            target.unlink()
        raise SourceError(
            f"parameter {name!r}: cannot download {shown} ({reason}); check the URL and the "
            "network, or download the file and pass its path"
        ) from None
    return digest.hexdigest(), size
