"""What blocked a dbt build, in words a user can act on: each failing test's name, the model it
tests and a few of its failing keys (dbt's own console output only says that the CLI failed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import duckdb

# failing rows shown per test: enough to find the lines in the source files, short enough to read
SAMPLE_KEYS = 3
BLOCKING = ("fail", "error")


def _sample(db: Path, compiled_sql: str) -> list[str]:
    """A few rows the test's own compiled SQL returns (its failing keys), as `col=value` lists.

    The build file is read after dbt has exited; a query that cannot run (the build file is gone,
    the SQL is not DuckDB's) gives no sample rather than hiding the test's name.
    """
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            cur = con.execute(f"select * from ({compiled_sql}) as failing limit {SAMPLE_KEYS}")
            cols = [d[0] for d in cur.description]
            return [", ".join(f"{c}={v!r}" for c, v in zip(cols, row)) for row in cur.fetchall()]
    except (duckdb.Error, OSError):
        return []


def _tested_model(node: Mapping[str, Any]) -> str:
    attached = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), "")
    return attached.split(".")[-1] if attached else "?"


def describe(run_results: Path, manifest: Mapping[str, Any], db: Path) -> list[str]:
    """One line per failing test or erroring node of the build in `run_results`, failing keys included.

    Empty when the file is missing or reports nothing blocking (dbt failed before running a node).
    """
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    nodes = manifest.get("nodes", {})
    lines = []
    for r in results:
        if r.get("status") not in BLOCKING:
            continue
        uid = r.get("unique_id", "")
        node = nodes.get(uid, {})
        name = node.get("name") or uid.split(".")[-2 if uid.startswith("test.") else -1]
        message = (r.get("message") or "").strip().splitlines()
        if uid.startswith("test.") and r.get("status") == "fail":
            keys = _sample(db, r["compiled_code"]) if r.get("compiled_code") else []
            lines.append(f"dbt test {name} on model {_tested_model(node)}: {r.get('failures')} failing row(s)"
                         + (f", e.g. {'; '.join(keys)}" if keys else ""))
        else:
            kind = uid.split(".")[0] or "node"
            lines.append(f"dbt {kind} {name}: {r['status']}" + (f": {message[0]}" if message else ""))
    return lines
