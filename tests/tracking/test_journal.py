"""The store's journal: WAL on a local disk, a rollback journal on a filesystem hosts share."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from mlproj.errors import ExitCode, UsageError
from mlproj.tracking import filesystems
from mlproj.tracking.filesystems import filesystem_type, is_shared, mount_type
from mlproj.tracking.store import Store
from tests.tracking.conftest import BASE_RUN

MOUNTINFO = """\
22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:25 / /home rw,relatime shared:2 master:3 - nfs4 server:/export/home rw,vers=4.2
31 30 0:26 / /home/ada/my\\040data rw - cifs //nas/data rw
32 22 0:27 / /scratch rw - lustre 10.0.0.1@tcp:/fs rw,flock
33 22 0:28 / /mnt/remote rw - fuse.sshfs ada@host:/ rw
34 22 0:29 / /mnt/local rw - fuse.bindfs /srv rw
35 22 0:30 / /scratch rw - tmpfs tmpfs rw
a line of another shape
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "ext4"),
        ("/var/lib", "ext4"),
        ("/home", "nfs4"),
        ("/home/ada/runs", "nfs4"),
        ("/homeless", "ext4"),  # a prefix of the name, not of the path
        ("/home/ada/my data/mlruns", "cifs"),  # \\040 is a space
        ("/scratch/x", "tmpfs"),  # mounted over the lustre mount: the last one counts
        ("/mnt/remote/store", "fuse.sshfs"),
        ("/mnt/local", "fuse.bindfs"),
    ],
)
def test_mount_type_is_the_longest_mount_point_above_the_path(path, kind):
    assert mount_type(MOUNTINFO, path) == kind


@pytest.mark.parametrize(
    ("kind", "shared"),
    [
        ("nfs", True),
        ("nfs4", True),
        ("cifs", True),
        ("lustre", True),
        ("gpfs", True),
        ("ceph", True),
        ("fuse.sshfs", True),
        ("ext4", False),
        ("xfs", False),
        ("tmpfs", False),
        ("overlay", False),
        ("fuse.bindfs", False),
    ],
)
def test_which_filesystems_other_hosts_may_share(kind, shared):
    assert is_shared(kind) is shared


def test_the_type_read_here_is_what_findmnt_says(tmp_path):
    findmnt = subprocess.run(
        ["findmnt", "--noheadings", "--output", "FSTYPE", "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert filesystem_type(tmp_path) == findmnt.stdout.strip()


def value_of(store_dir: Path, sql: str) -> object:
    """The one value ``sql`` reads from the store's database, on a connection of its own."""
    database = sqlite3.connect(store_dir / "mlproj.db")
    try:
        return database.execute(sql).fetchone()[0]
    finally:
        database.close()


def journal_of(store_dir: Path) -> str:
    return str(value_of(store_dir, "PRAGMA journal_mode"))


def use(store_dir: Path) -> int:
    """Record a run in the store and read it back; returns the store's ``synchronous`` setting
    (per connection, so read on the store's own)."""
    with Store.open(str(store_dir)) as store:
        run = store.create_run(BASE_RUN)
        assert store.get_run(run.run_id).run_id == run.run_id
        with store._db.read() as tx:
            return int(tx.rows("PRAGMA synchronous")[0][0])


def test_a_new_store_on_a_local_disk_uses_wal(store_dir, monkeypatch):
    monkeypatch.delenv(filesystems.JOURNAL_ENV, raising=False)
    assert use(store_dir) == 1  # synchronous NORMAL
    assert journal_of(store_dir) == "wal"


def test_a_new_store_on_a_shared_filesystem_uses_a_rollback_journal(store_dir, monkeypatch):
    # This machine has no NFS: its own filesystem's type is declared shared for the test.
    monkeypatch.delenv(filesystems.JOURNAL_ENV, raising=False)
    here = filesystem_type(store_dir.parent)
    assert here is not None
    monkeypatch.setattr(filesystems, "SHARED_FILESYSTEMS", frozenset({here}))
    assert use(store_dir) == 2  # synchronous FULL: NORMAL is not safe with a rollback journal
    assert journal_of(store_dir) == "delete"
    assert not (store_dir / "mlproj.db-wal").exists()
    # Opened again later (the type no longer matters: the file keeps its journal).
    monkeypatch.setattr(filesystems, "SHARED_FILESYSTEMS", frozenset())
    use(store_dir)
    assert value_of(store_dir, "SELECT COUNT(*) FROM runs") == 2
    assert journal_of(store_dir) == "delete"


def test_the_variable_converts_an_existing_store_both_ways(store_dir, monkeypatch):
    monkeypatch.delenv(filesystems.JOURNAL_ENV, raising=False)
    use(store_dir)
    assert journal_of(store_dir) == "wal"
    monkeypatch.setenv(filesystems.JOURNAL_ENV, "delete")
    use(store_dir)
    assert journal_of(store_dir) == "delete"
    monkeypatch.setenv(filesystems.JOURNAL_ENV, "WAL")
    use(store_dir)
    assert journal_of(store_dir) == "wal"


def test_a_wrong_value_is_a_usage_error(store_dir, monkeypatch):
    monkeypatch.setenv(filesystems.JOURNAL_ENV, "memory")
    with pytest.raises(UsageError) as caught:
        use(store_dir)
    assert caught.value.exit_code is ExitCode.USAGE
    assert caught.value.message == "MLPROJ_STORE_JOURNAL='memory': expected wal or delete"
