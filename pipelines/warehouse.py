"""Build-file → published warehouse, atomically (no Dagster here: callable from the CLI and tests).

dbt writes into a build file; publishing replaces `$AISPEND_HOME/warehouse/aispend.duckdb` with
a checkpointed copy via rename. On POSIX a reader holding the old file open (an analyst's
read-only DuckDB shell, the dashboard) keeps reading the old inode undisturbed, and the next
open sees the new one: readers never block a run and never see a half-built state.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from connectors.rawzone import fsync_dir


def build_path(home: Path) -> Path:
    return home / "warehouse" / "build" / "aispend.build.duckdb"


def published_path(home: Path) -> Path:
    return home / "warehouse" / "aispend.duckdb"


def publish(home: Path) -> dict[str, int]:
    """Publish the build file; returns {table: rows} of the published `main` schema."""
    src = build_path(home)
    if not src.exists():
        raise FileNotFoundError(f"publish: no build warehouse at {src}; run dbt build first")
    dst = published_path(home)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    # Fold the WAL into the file so the copy is self-contained, and copy while the connection is
    # still open: it holds DuckDB's write lock on the build file, so no other process (a dbt build
    # of another run) can change it between the checkpoint and the end of the copy.
    con = duckdb.connect(str(src))
    try:
        con.execute("checkpoint")
        shutil.copyfile(src, tmp)
    finally:
        con.close()
    # The copy's bytes reach the disk before the rename makes it the warehouse, and the rename
    # itself (the directory entry) before publish returns: after a power loss the warehouse is the
    # old file or the new one, never a name pointing at unwritten blocks.
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    fsync_dir(dst.parent)
    return table_counts(dst)


def remove_temp_files(home: Path) -> list[Path]:
    """Delete publish temp copies (`.aispend.duckdb.<pid>.tmp`) left by a process killed while publishing.

    Only call this holding the home lock (no publish can be under way)."""
    dst = published_path(home)
    gone = sorted(dst.parent.glob(f".{dst.name}.*.tmp"))
    for p in gone:
        p.unlink()
    return gone


def table_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]
        return {n: con.execute(f'select count(*) from main."{n}"').fetchone()[0] for n in names}
    finally:
        con.close()
