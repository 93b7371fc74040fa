"""Which journal a new SQLite store gets: WAL on a local disk, a rollback journal on a share.

SQLite's WAL mode keeps its index in shared memory (the ``-shm`` file, mapped by every
connection), which is only coherent between processes of one host: on a filesystem that other
hosts mount too (NFS, SMB, Lustre, GPFS, CephFS...) WAL can corrupt the database, and SQLite's
documentation says not to use it there. That is where a cluster backend's store lives (the
login node and the compute nodes write to it), so a store created on such a filesystem uses a
rollback journal instead, which needs only working file locks between the hosts.

``MLPROJ_STORE_JOURNAL`` (``wal`` or ``delete``) overrides the choice, and also converts an
existing store when it is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlproj.errors import UsageError
from mlproj.tracking.db import JOURNAL_ENV

JOURNALS = ("wal", "delete")
#: Filesystem types (as /proc/self/mountinfo names them) that other hosts may share.
SHARED_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "orangefs",
        "9p",
        "virtiofs",
        "vboxsf",
        "davfs",
    }
)
#: FUSE filesystems (``fuse.NAME``) that reach another host.
SHARED_FUSE = frozenset(
    {"sshfs", "glusterfs", "ceph", "s3fs", "gcsfuse", "rclone", "juicefs", "davfs", "goofys"}
)
MOUNTINFO = Path("/proc/self/mountinfo")


def journal_override() -> str | None:
    """``MLPROJ_STORE_JOURNAL`` when set (``wal`` or ``delete``), else None.

    Raises:
        UsageError: Another value.
    """
    raw = os.environ.get(JOURNAL_ENV, "").strip().lower()
    if not raw:
        return None
    if raw not in JOURNALS:
        raise UsageError(f"{JOURNAL_ENV}={raw!r}: expected wal or delete")
    return raw


def journal_for_new_store(database: Path) -> str:
    """The journal mode for a store created at ``database``: ``delete`` on a shared filesystem."""
    kind = filesystem_type(database)
    return "delete" if kind is not None and is_shared(kind) else "wal"


def is_shared(kind: str) -> bool:
    """True for a filesystem type that other hosts may mount too."""
    if kind.startswith("fuse."):
        return kind.removeprefix("fuse.") in SHARED_FUSE
    return kind in SHARED_FILESYSTEMS


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (the longest mount point above it).

    None where the mount table cannot be read (not Linux, no /proc).
    """
    try:
        table = MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    return mount_type(table, os.path.realpath(path))


def mount_type(table: str, path: str) -> str | None:
    """The filesystem type of ``path`` (absolute, resolved) in a mountinfo ``table``."""
    best, best_type = "", None
    for line in table.splitlines():
        fields = line.split(" ")
        try:
            # "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER"
            mount_point = _unescape(fields[4])
            kind = fields[fields.index("-", 6) + 1]
        except (IndexError, ValueError):
            continue  # a line of another shape: not one mlproj understands
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, kind
    return best_type


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as octal escapes (\040...).
    if "\\" not in field:
        return field
    out, index = [], 0
    while index < len(field):
        chunk = field[index : index + 4]
        if len(chunk) == 4 and chunk[0] == "\\" and chunk[1:].isdigit():
            out.append(chr(int(chunk[1:], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)
