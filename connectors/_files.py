"""Shared file helpers for file-based connectors: one way to resolve a uri, one JSON-lines reader."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Iterator

from connectors.errors import SourceError


def list_files(uri: str, suffixes: tuple[str, ...]) -> list[str]:
    """A directory (searched recursively for `suffixes`), a single file, or a glob; sorted."""
    p = Path(uri)
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix in suffixes)
    if p.is_file():
        return [str(p)]
    return sorted(glob.glob(uri))


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
