"""Legacy AWS Cost and Usage Reports (CUR, CSV with slash headers) → the same raw `aws_cur` table.

Inputs (``uri``):
- ``s3://bucket/prefix/<report>`` or a local directory with the same layout: one folder per
  period, ``<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json`` (``reportKeys``, ``billingPeriod``);
  the period's top-level manifest names the current assembly's files (older assemblies stay in
  ``<assemblyId>/`` folders and are ignored). Its sha256 is the fingerprint, as for CUR 2.0.
- a glob of local CSV files (``/exports/*.csv.gz``) or one file: the billing period is read from each file's
  first ``bill/BillingPeriodStartDate``; the fingerprint hashes the files' names, sizes and mtimes.

Columns are renamed to CUR 2.0's snake_case by a rule (``lineItem/UnblendedCost`` →
``line_item_unblended_cost``: camelCase → snake, ``/`` → ``_``) plus the exceptions listed in
``aws_cur_legacy_columns.csv``. Column families that CUR 2.0 keeps as maps are folded into their
JSON map: ``resourceTags/user:team`` → ``resource_tags`` key ``user_team`` (the key CUR 2.0 writes
and the ``tag_keys`` seed resolves), ``product/*`` → ``product`` (declared top-level
``product_*`` columns are filled too), ``costCategory/*`` → ``cost_category``, ``discount/*`` →
``discount``. Everything else not declared lands in ``_extra`` like any unknown column.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from connectors import aws_cur
from connectors._files import DistinctFiles, content_digest, reject_repeated
from connectors._json import json_object
from connectors.aws_cur import ExportPeriod, _Store
from connectors.errors import SourceError

SOURCE = "aws_cur_legacy"
EXCEPTIONS_FILE = Path(__file__).with_name("aws_cur_legacy_columns.csv")
# the period's own manifest sits directly in <YYYYMMDD-YYYYMMDD>/, not in an <assemblyId>/ below it
_PERIOD_MANIFEST = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}/[^/]+-Manifest\.json$")
# legacy column family → CUR 2.0 map column it folds into
MAP_FAMILIES = {"resourceTags": "resource_tags", "product": "product", "costCategory": "cost_category",
                "discount": "discount"}
_GLOB = re.compile(r"[*?\[]")


def snake(name: str) -> str:
    """``BillingPeriodStartDate`` → ``billing_period_start_date``; ``user:CostCenter`` → ``user_cost_center``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()


@lru_cache(maxsize=1)
def exceptions() -> dict[str, str]:
    with EXCEPTIONS_FILE.open(newline="") as f:
        return {r["legacy_column"]: r["cur2_column"] for r in csv.DictReader(f)}


def cur2_name(header: str) -> str:
    """The CUR 2.0 column a legacy header becomes (map families: ``<map>.<key>``)."""
    if header in exceptions():
        return exceptions()[header]
    family, _, rest = header.partition("/")
    if not rest:
        return snake(header)
    return f"{snake(family)}_{snake(rest)}"


def to_cur2(t: pa.Table, where: str) -> pa.Table:
    """Legacy-named text columns → CUR 2.0 names, map families folded into JSON map columns."""
    declared = set(aws_cur.SCHEMAS["aws_cur"].names)
    plain: dict[str, pa.ChunkedArray] = {}
    maps: dict[str, tuple[list[str], list]] = {m: ([], []) for m in MAP_FAMILIES.values()}
    for header, col in zip(t.column_names, t.columns):
        family, _, rest = header.partition("/")
        if header not in exceptions() and family in MAP_FAMILIES and rest:
            keys, vals = maps[MAP_FAMILIES[family]]
            keys.append(snake(rest))
            vals.append(col)
            top = f"product_{snake(rest)}"
            if family == "product" and top in declared:  # CUR 2.0 also has these as columns
                plain[top] = col
            continue
        name = cur2_name(header)
        if name in plain:
            raise SourceError(SOURCE, where, f"columns '{header}' and another both map to {name}")
        plain[name] = col
    for m, (keys, vals) in maps.items():
        if keys:
            plain[m] = json_object(keys, vals, t.num_rows)
    return pa.table(plain)


def read_file(raw: bytes | str, where: str) -> pa.Table:
    """One legacy CUR CSV (plain or gzip; bytes or a local path) → the declared `aws_cur` schema."""
    return pa.concat_tables([aws_cur.project(to_cur2(t, where), where, SOURCE)
                             for t in aws_cur.read_batches(raw, where, SOURCE)])


def iter_period(p: ExportPeriod, *, s3_client=None):
    """Exactly the files of the period (manifest's reportKeys, or the glob's files), as batches."""
    store = _Store(p.export_uri, s3_client, source=SOURCE)
    distinct = DistinctFiles(SOURCE, f" (both in {p.manifest_uri})")
    for f in p.data_files:
        data, rows = store.fetch(f), 0
        for t in aws_cur.read_batches(data, f, SOURCE):
            rows += t.num_rows
            yield aws_cur.project(to_cur2(t, f), f, SOURCE)
        if rows:
            distinct.add(f, content_digest(data))


def read_period(p: ExportPeriod, *, s3_client=None) -> pa.Table:
    """Exactly the files of the period (manifest's reportKeys, or the glob's files), concatenated."""
    tables = list(iter_period(p, s3_client=s3_client))
    return pa.concat_tables(tables) if tables else aws_cur.SCHEMAS["aws_cur"].empty_table()


def discover(uri: str, *, s3_client=None) -> list[ExportPeriod]:
    """Billing periods on offer, oldest first: per-period manifests, or a glob's files by period."""
    if not uri.startswith("s3://") and (_GLOB.search(uri) or os.path.isfile(uri)):
        return _discover_glob(uri)
    store = _Store(uri, s3_client, source=SOURCE)
    manifests = {}
    for m_uri in store.list_objects():
        match = _PERIOD_MANIFEST.search(m_uri)
        if match:
            manifests[f"{match.group(1)}-{match.group(2)}"] = m_uri
    out = []
    for period, m_uri in sorted(manifests.items()):
        raw = store.read_bytes(m_uri)
        try:
            manifest = json.loads(raw)
        except ValueError:
            raise SourceError(SOURCE, m_uri, "manifest is not valid JSON") from None
        keys = manifest.get("reportKeys") if isinstance(manifest, dict) else None
        if not isinstance(keys, list) or not keys:
            raise SourceError(SOURCE, m_uri, "manifest has no reportKeys (report incomplete?)")
        name = manifest.get("reportName") or Path(uri.rstrip("/")).name
        bucket = manifest.get("bucket") or "unknown-bucket"
        data = tuple(store.resolve_data_file(f"s3://{bucket}/{k.lstrip('/')}", name, m_uri)
                     for k in keys)
        reject_repeated(SOURCE, m_uri, data)
        out.append(ExportPeriod(period, m_uri, hashlib.sha256(raw).hexdigest(), data, uri))
    return out


def _first_period(path: str) -> str:
    """YYYY-MM from the first data row's ``bill/BillingPeriodStartDate`` (reads a few KB)."""
    try:
        with open(path, "rb") as fb:
            gz = fb.read(2) == b"\x1f\x8b"
        f = gzip.open(path, "rt", encoding="utf-8-sig", newline="") if gz else \
            open(path, encoding="utf-8-sig", newline="")
        with f:
            reader = csv.reader(f)
            header = next(reader, [])
            row = next(reader, None)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise SourceError(SOURCE, path, f"unreadable CSV ({type(e).__name__}: {e})") from None
    if "bill/BillingPeriodStartDate" not in header:
        raise SourceError(SOURCE, path, "required column(s) missing: bill/BillingPeriodStartDate")
    if row is None:
        raise SourceError(SOURCE, path, "CSV has no data rows (cannot tell its billing period)")
    value = row[header.index("bill/BillingPeriodStartDate")]
    if not re.match(r"^\d{4}-\d{2}", value):
        raise SourceError(SOURCE, path, f"bill/BillingPeriodStartDate '{value}' is not a date")
    return value[:7]


def _discover_glob(pattern: str) -> list[ExportPeriod]:
    files = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        raise SourceError(SOURCE, pattern, "no files match the glob")
    by_period: dict[str, list[str]] = {}
    for path in files:
        by_period.setdefault(_first_period(path), []).append(path)
    out = []
    for period, paths in sorted(by_period.items()):
        stat = io.StringIO()
        for p in paths:
            st = os.stat(p)
            stat.write(f"{p}\t{st.st_size}\t{st.st_mtime_ns}\n")
        out.append(ExportPeriod(period, pattern, hashlib.sha256(stat.getvalue().encode()).hexdigest(),
                                tuple(paths), pattern))
    return out
