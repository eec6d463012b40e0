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


def build_path(home: Path) -> Path:
    return home / "warehouse" / "build" / "aispend.build.duckdb"


def published_path(home: Path) -> Path:
    return home / "warehouse" / "aispend.duckdb"


def publish(home: Path) -> dict[str, int]:
    """Publish the build file; returns {table: rows} of the published `main` schema."""
    src = build_path(home)
    if not src.exists():
        raise FileNotFoundError(f"publish: no build warehouse at {src}; run dbt build first")
    # Fold the WAL into the file so the copy is self-contained.
    con = duckdb.connect(str(src))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    dst = published_path(home)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    return table_counts(dst)


def table_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]
        return {n: con.execute(f'select count(*) from main."{n}"').fetchone()[0] for n in names}
    finally:
        con.close()
