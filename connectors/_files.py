"""Shared file helpers for file-based connectors: one way to resolve a uri, one JSON-lines reader,
one CSV / Parquet reader, one duplicate-file check."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from connectors.errors import SourceError


def list_files(uri: str, suffixes: tuple[str, ...], *, source: str | None = None) -> list[str]:
    """A directory (searched recursively for `suffixes`), a single file, or a glob; sorted.

    With `source`, two files holding the same bytes (and some rows) are refused, naming both
    (`reject_identical`): for sources whose lines carry no identity of their own.
    """
    p = Path(uri)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix in suffixes)
    elif p.is_file():
        files = [str(p)]
    else:
        files = sorted(glob.glob(uri))
    if source:
        reject_identical(source, files)
    return files


# Why identical files are refused rather than one kept: neither a FOCUS 1.0-1.2 line, a GCP export
# row nor a log record has an identity of its own, so a copy of a file (renamed, or delivered twice)
# is indistinguishable from real spend and would count every line twice. Two files with the same
# bytes are never two real deliveries; which one is the copy only the user knows.
def content_digest(data: bytes | str) -> str:
    """sha256 of an object's bytes, or of a local file's (read in blocks, never whole)."""
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    with open(data, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def duplicate_problem(other: str, where: str = "") -> str:
    return f"same content as {other}{where}: loading both would count each of its lines twice; remove the copy"


class DistinctFiles:
    """Data files read one by one: the second file with the same bytes as an earlier one raises,
    naming both. Files without rows are not recorded (two empty deliveries double nothing)."""

    def __init__(self, source: str, where: str = ""):
        self.source, self.where, self._seen = source, where, {}

    def add(self, f: str, digest: str) -> None:
        other = self._seen.setdefault(digest, f)
        if other != f:
            raise SourceError(self.source, f, duplicate_problem(other, self.where))


def _holds_rows(f: str) -> bool:
    """Whether a file has a data line: a CSV more than its header, anything else a non-blank line."""
    if f.lower().endswith(".parquet"):
        return pq.read_metadata(f).num_rows > 0
    with open(f, "rb") as fb:
        gz = fb.read(2) == b"\x1f\x8b"
    with (gzip.open(f, "rb") if gz else open(f, "rb")) as fh:
        lines = 0
        for line in fh:
            lines += bool(line.strip())
            if lines > (1 if ".csv" in f.lower() else 0):
                return True
    return False


def reject_identical(source: str, files: list[str]) -> None:
    """Refuse a listing in which two files with rows hold the same bytes, naming both.

    Only files of equal size are hashed, so a listing without copies costs one stat per file.
    """
    by_size: dict[int, list[str]] = {}
    for f in files:
        by_size.setdefault(os.path.getsize(f), []).append(f)
    seen = DistinctFiles(source)
    for size, same in by_size.items():
        if size and len(same) > 1:
            for f in same:
                if _holds_rows(f):
                    seen.add(f, content_digest(f))


def reject_repeated(source: str, manifest: str, files: list[str] | tuple[str, ...]) -> None:
    """A manifest listing the same data file twice: refused, naming the manifest and the file."""
    seen: set[str] = set()
    for f in files:
        if f in seen:
            raise SourceError(source, manifest, f"lists data file {f} twice: loading it twice would count each of "
                                                "its lines twice")
        seen.add(f)


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
