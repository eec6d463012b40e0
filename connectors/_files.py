"""Shared file helpers for file-based connectors: one way to resolve a uri, one JSON-lines reader,
one CSV / Parquet reader."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from connectors.errors import SourceError


def list_files(uri: str, suffixes: tuple[str, ...]) -> list[str]:
    """A directory (searched recursively for `suffixes`), a single file, or a glob; sorted."""
    p = Path(uri)
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix in suffixes)
    if p.is_file():
        return [str(p)]
    return sorted(glob.glob(uri))


def read_table(f: str) -> pa.Table:
    """A Parquet file as written, or a CSV (plain or gzip) with every column as text (nulls for
    empty cells): the caller casts, so its error can name the column that does not parse."""
    if f.endswith(".parquet"):
        return pq.read_table(f)
    names = pcsv.read_csv(f, read_options=pcsv.ReadOptions(block_size=1 << 16)).schema.names
    return pcsv.read_csv(f, convert_options=pcsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=True))


def json_lines(source: str, files: list[str], what: str = "JSON line",
               object_pairs_hook=None) -> Iterator[tuple[str, int, dict]]:
    """(file, line number, object) for every non-blank line; a bad line raises naming file:line.

    A UTF-8 BOM at the start of a file (Windows exports) is ignored. `object_pairs_hook` is
    `json.loads`'s.
    """
    for f in files:
        with open(f, encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield f, n, json.loads(line, object_pairs_hook=object_pairs_hook)
                except ValueError as e:
                    raise SourceError(source, f"{f}:{n}", f"malformed {what} ({e})") from None
