"""AWS Data Exports — CUR 2.0 Parquet or gzip CSV, manifest-driven, from S3 or a local copy of the layout.

Layout: ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` lists the period's
``dataFiles`` (``s3://bucket/prefix/<export>/data/BILLING_PERIOD=YYYY-MM/...parquet``). Only
periods with a manifest are offered; its sha256 is the fingerprint (an unchanged manifest is
skipped; a changed one — the open month's refresh, the previous month's rewrite — replaces the
period). Map columns (``product``, ``resource_tags``, ``cost_category``, ``discount``) become JSON
strings (Parquet MAP columns are serialised; in CSV exports they already are JSON text). Columns
outside the declared schema are kept, not fatal: one ``_extra`` JSON object per row holds them
(null when the file has none), so a new AWS column never breaks a load and is not lost; declared
columns absent from a file → null; a missing *required* column (`REQUIRED`) is an error.

Delivery modes: "overwrite" keeps one manifest per period
(``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``); "create new" writes one per delivery
under ``metadata/BILLING_PERIOD=YYYY-MM/<date-time>-<execution-id>/`` — the latest (greatest
path, the folder name starts with the delivery time) is the one read.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connectors._files import DistinctFiles, content_digest, reject_repeated
from connectors._json import json_object, map_to_json
from connectors.errors import SourceError

SOURCE = "aws_cur"
TS = pa.timestamp("us", tz="UTC")
_PERIOD = re.compile(r"BILLING_PERIOD=(\d{4}-\d{2})")
MAP_COLUMNS = ("product", "resource_tags", "cost_category", "discount")
_STR = ["bill_payer_account_id", "bill_invoice_id", "bill_billing_entity", "bill_bill_type", "identity_line_item_id",
        "identity_time_interval", "line_item_line_item_type"]
_F = pa.float64()
SCHEMAS = {"aws_cur": pa.schema(
    [("bill_billing_period_start_date", TS), ("bill_billing_period_end_date", TS)]
    + [(c, pa.string()) for c in _STR]
    + [("line_item_usage_start_date", TS), ("line_item_usage_end_date", TS)]
    + [(c, pa.string()) for c in ("line_item_usage_account_id", "line_item_usage_account_name",
                                  "line_item_product_code", "line_item_usage_type", "line_item_operation",
                                  "line_item_resource_id", "line_item_availability_zone")]
    + [("line_item_usage_amount", _F), ("line_item_unblended_rate", pa.string()), ("line_item_unblended_cost", _F),
       ("line_item_blended_cost", _F), ("line_item_net_unblended_cost", _F), ("line_item_currency_code", pa.string()),
       ("line_item_line_item_description", pa.string()), ("line_item_legal_entity", pa.string()),
       ("pricing_public_on_demand_cost", _F), ("pricing_public_on_demand_rate", pa.string()),
       ("pricing_unit", pa.string()), ("pricing_term", pa.string())]
    + [(c, pa.string()) for c in ("product_servicecode", "product_product_family", "product_instance_type",
                                  "product_instance_family", "product_region_code", "product_sku")]
    + [("savings_plan_savings_plan_effective_cost", _F), ("reservation_effective_cost", _F)]
    # commitment columns: FOCUS commitment semantics (ids, unused fees) in dbt
    + [("savings_plan_savings_plan_a_r_n", pa.string()), ("savings_plan_total_commitment_to_date", _F),
       ("savings_plan_used_commitment", _F), ("reservation_reservation_a_r_n", pa.string()),
       ("reservation_unused_amortized_upfront_fee_for_billing_period", _F), ("reservation_unused_recurring_fee", _F)]
    + [(c, pa.string()) for c in MAP_COLUMNS]
    + [("_extra", pa.string()), ("_source_uri", pa.string())])}
# money and quantity columns under a plausible-range check (connectors.plausible), per source
PLAUSIBLE = {"cost": ("line_item_unblended_cost", "line_item_blended_cost", "line_item_net_unblended_cost",
                      "pricing_public_on_demand_cost", "savings_plan_savings_plan_effective_cost",
                      "reservation_effective_cost", "savings_plan_total_commitment_to_date",
                      "savings_plan_used_commitment", "reservation_unused_amortized_upfront_fee_for_billing_period",
                      "reservation_unused_recurring_fee"),
             "quantity": ("line_item_usage_amount",)}
# A line item is useless without these (the GE suite's not_null keys): a file lacking one is rejected.
REQUIRED = ("identity_line_item_id", "line_item_line_item_type", "line_item_usage_start_date",
            "line_item_usage_account_id", "line_item_product_code", "line_item_unblended_cost")
EXTRA = "_extra"


@dataclass(frozen=True)
class ExportPeriod:
    """One billing period of an export, as its (latest) manifest describes it."""

    billing_period: str
    manifest_uri: str
    fingerprint: str
    data_files: tuple[str, ...]  # resolved onto the store: s3:// URIs, or local paths for a local copy
    export_uri: str  # the `uri` given to discover (read_period needs it to open the same store)


class _Store:
    """Reads objects from s3://bucket/prefix or a local directory with the same layout."""

    def __init__(self, uri: str, s3_client=None, *, source: str = SOURCE):
        self.uri = uri.rstrip("/")
        self.source = source
        self.is_s3 = uri.startswith("s3://")
        if self.is_s3:
            parts = urlsplit(self.uri)
            self.bucket, self.prefix = parts.netloc, parts.path.lstrip("/")
            if s3_client is None:
                import boto3
                s3_client = boto3.client("s3")
            self.s3 = s3_client

    def _s3_call(self, what: str, fn, **kw):
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return fn(**kw)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "ClientError")
            raise SourceError(self.source, what,
                              f"S3 {code}: {e.response.get('Error', {}).get('Message', '')}") from None
        except BotoCoreError as e:
            raise SourceError(self.source, what, f"S3 error: {e}") from None

    def list_objects(self, sub: str = "") -> list[str]:
        """Every object (s3:// URI) or file (local path) under ``<uri>/<sub>``, sorted."""
        if self.is_s3:
            keys, token = [], None
            prefix = f"{self.prefix}/{sub}" if self.prefix else sub
            while True:
                kw = {"Bucket": self.bucket, "Prefix": prefix}
                if token:
                    kw["ContinuationToken"] = token
                resp = self._s3_call(f"s3://{self.bucket}/{prefix}", self.s3.list_objects_v2, **kw)
                keys += [f"s3://{self.bucket}/{o['Key']}" for o in resp.get("Contents", [])]
                if not resp.get("IsTruncated"):
                    return sorted(keys)
                token = resp["NextContinuationToken"]
        root = Path(self.uri)
        if not root.is_dir():
            raise SourceError(self.source, self.uri, "export directory not found")
        return sorted(str(p) for p in (root / sub).rglob("*") if p.is_file())

    def list_manifests(self) -> list[str]:
        if self.is_s3:
            return [k for k in self.list_objects("metadata/") if k.endswith("-Manifest.json") and _PERIOD.search(k)]
        root = Path(self.uri)
        if not root.is_dir():
            raise SourceError(self.source, self.uri, "export directory not found")
        # `**`: "create new" deliveries put each manifest one folder deeper
        return sorted(str(p) for p in root.glob("metadata/BILLING_PERIOD=*/**/*-Manifest.json"))

    def read_bytes(self, uri: str) -> bytes:
        if uri.startswith("s3://"):
            parts = urlsplit(uri)
            resp = self._s3_call(uri, self.s3.get_object, Bucket=parts.netloc, Key=parts.path.lstrip("/"))
            return resp["Body"].read()
        try:
            return Path(uri).read_bytes()
        except FileNotFoundError:
            raise SourceError(self.source, uri, "file listed in the manifest is missing") from None

    def fetch(self, uri: str) -> bytes | str:
        """An object's bytes (S3), or a local file's path to read in place (never loaded whole)."""
        if uri.startswith("s3://"):
            return self.read_bytes(uri)
        if not Path(uri).is_file():
            raise SourceError(self.source, uri, "file listed in the manifest is missing")
        return uri

    def resolve_data_file(self, data_file: str, export_name: str, manifest: str) -> str:
        """Map a manifest's data file (an s3 URI) onto this store, confined to the export root.

        The part after ``/<export-name>/`` is relative to the export root, so a copy of the export
        (another bucket or prefix, or a local directory) reads its own files, not the original's.
        A manifest is data: an entry that would leave the root (``..`` or ``.`` segments, an
        absolute path, another bucket or prefix) is an error naming only the manifest and the entry,
        and is never opened (a local ``../../etc/passwd`` used to be read, and its CSV parse error
        printed a line of it).
        """
        if not isinstance(data_file, str):
            raise SourceError(self.source, manifest, f"manifest lists a data file that is not a string: {data_file!r}")
        marker = f"/{export_name}/"
        root = self.uri + "/"
        if marker in data_file:
            rel = data_file.split(marker, 1)[1]
        elif self.is_s3:
            # no export name in the entry: it must already lie under this source's bucket/prefix
            rel = data_file[len(root):] if data_file.startswith(root) else None
        else:
            rel = "data/" + data_file.split("/data/", 1)[-1]
        if rel is None or not rel or rel.startswith("/") or "\0" in rel \
                or any(part in (".", "..") for part in rel.split("/")):
            raise SourceError(self.source, manifest,
                              f"manifest lists a data file outside the export root {self.uri}: {data_file}")
        return root + rel if self.is_s3 else str(Path(self.uri) / rel)


def s3_objects(uri: str, s3_client=None, suffixes: tuple[str, ...] = (), *, source: str = SOURCE,
               none_found: str | None = None) -> tuple[_Store, list[str]]:
    """(store, every object under an s3:// prefix whose name ends in `suffixes`, sorted).

    The one listing of a prefix for every file-based source on S3 (FOCUS files, GPU telemetry,
    DCGM scrapes). None at all is an error (`none_found`): a wrong prefix must not look like an
    empty export or a quiet day.
    """
    store = _Store(uri, s3_client, source=source)
    keys = [k for k in store.list_objects() if k.lower().endswith(suffixes)]
    if not keys:
        raise SourceError(source, uri, none_found or f"no files ({', '.join(suffixes)}) under this S3 prefix")
    return store, keys


def discover(uri: str, *, s3_client=None) -> list[ExportPeriod]:
    """Billing periods that have a manifest (i.e. a complete delivery), oldest first.

    `uri` is ``s3://bucket/prefix/<export-name>`` (boto3 default credential chain, or `s3_client`)
    or a local directory holding the same layout. Where a period has several manifests ("create
    new" delivery) the latest one wins. The fingerprint is the sha256 of the manifest bytes.
    """
    store = _Store(uri, s3_client)
    latest: dict[str, str] = {}
    for m_uri in store.list_manifests():  # sorted: a later delivery's folder sorts after
        match = _PERIOD.search(m_uri)
        if not match:
            raise SourceError(SOURCE, m_uri, "cannot tell the billing period from the manifest path")
        latest[match.group(1)] = m_uri
    out = []
    for period, m_uri in sorted(latest.items()):
        raw = store.read_bytes(m_uri)
        try:
            manifest = json.loads(raw)
        except ValueError:
            raise SourceError(SOURCE, m_uri, "manifest is not valid JSON") from None
        if not isinstance(manifest, dict):
            raise SourceError(SOURCE, m_uri, "manifest is not a JSON object")
        files = manifest.get("dataFiles")
        if not isinstance(files, list) or not files:
            raise SourceError(SOURCE, m_uri, "manifest has no dataFiles (export incomplete?)")
        name = manifest.get("exportName") or Path(uri.rstrip("/")).name
        data = tuple(store.resolve_data_file(f, name, m_uri) for f in files)
        reject_repeated(SOURCE, m_uri, data)
        out.append(ExportPeriod(period, m_uri, hashlib.sha256(raw).hexdigest(), data, uri))
    return out


# ---- reading: one reader per format, one projection onto the declared schema -------------------

# Parquet rows per batch (~75 MiB of projected Arrow): small enough for the ingest's 64 MiB
# validation groups to bound memory, large enough to amortise per-batch kernels; CSV: CSV_BLOCK bytes
BATCH_ROWS = 65_536
# CSV text per batch: a 4 MiB block keeps a legacy CUR ingest (hundreds of columns) near 1 GiB peak
# (16 MiB: 1.5 GiB, no faster)
CSV_BLOCK = 4 << 20


def _head(data: bytes | str, n: int = 4) -> bytes:
    if isinstance(data, bytes):
        return data[:n]
    with open(data, "rb") as f:
        return f.read(n)


def read_batches(data: bytes | str, where: str, source: str = SOURCE) -> Iterator[pa.Table]:
    """A data file's rows, batch by batch, under the file's own column names (CSV: all text).

    `data` is the file's bytes (S3) or a local path, read in place. Batches keep peak memory to
    one batch of raw text plus the projected output, whatever the file size. CSV is read as text
    (plain or gzip, by magic bytes): type inference on a first block guesses wrong for ids and
    sparse columns, and the declared schema is the one place types are decided. At least one
    (possibly empty) table is yielded.
    """
    head = _head(data)
    parquet = file_format(where, head) == "parquet"
    gz = head[:2] == b"\x1f\x8b"
    kind = "Parquet" if parquet else "gzip CSV" if gz else "CSV"
    try:
        if parquet:
            pf = pq.ParquetFile(data if isinstance(data, str) else io.BytesIO(data))
            empty = True
            for b in pf.iter_batches(batch_size=BATCH_ROWS):
                empty = False
                yield pa.Table.from_batches([b])
            if empty:
                yield pf.schema_arrow.empty_table()
            return
        src = data if isinstance(data, str) else io.BytesIO(data)
        with (gzip.open(src, "rb") if gz else (open(src, "rb") if isinstance(src, str) else src)) as f:
            first = f.readline()
        names = next(csv.reader([first.decode("utf-8-sig")]), [])
        if not names:
            raise SourceError(source, where, f"{kind} has no header row")
        stream = pa.input_stream(data if isinstance(data, str) else pa.py_buffer(data),
                                 compression="gzip" if gz else None)
        reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
                                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                     strings_can_be_null=True))
        empty = True
        for b in reader:
            empty = False
            yield pa.Table.from_batches([b])
        if empty:
            yield reader.schema.empty_table()
    except SourceError:
        raise
    except Exception as e:  # truncated Parquet/gzip (OSError/EOFError/ArrowInvalid), ragged rows, bad UTF-8 …
        raise SourceError(source, where, f"unreadable {kind} ({type(e).__name__}: {str(e)[:160]})") from None


def project(t: pa.Table, where: str, source: str = SOURCE) -> pa.Table:
    """Columns named as in CUR 2.0 → exactly the declared schema, unknown columns into `_extra`."""
    schema = SCHEMAS["aws_cur"]
    missing = [c for c in REQUIRED if c not in t.column_names]
    if missing:
        raise SourceError(source, where, f"required column(s) missing: {', '.join(missing)}")
    declared = set(schema.names)
    unknown = [c for c in t.column_names if c not in declared]
    n = t.num_rows
    cols = []
    for f in schema:
        if f.name == "_source_uri":
            cols.append(pa.array([where] * n, pa.string()))
        elif f.name == EXTRA:
            cols.append(json_object(unknown, [t.column(c) for c in unknown], n) if unknown
                        else pa.nulls(n, pa.string()))
        elif f.name not in t.column_names:
            cols.append(pa.nulls(n, f.type))
        elif f.name in MAP_COLUMNS:
            cols.append(map_to_json(t.column(f.name)))
        else:
            try:
                cols.append(t.column(f.name).cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise SourceError(source, where, f"column {f.name}: cannot read as {f.type}: {e}") from None
    return pa.Table.from_arrays(cols, schema=schema)


def file_format(where: str, raw: bytes) -> str:
    """'parquet' or 'csv', by the name the manifest gives, else by the content's magic bytes."""
    name = where.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".gz")):
        return "csv"
    return "parquet" if raw[:4] == b"PAR1" else "csv"


def read_file(raw: bytes | str, where: str) -> pa.Table:
    """One CUR 2.0 data file (Parquet, or CSV plain/gzip; bytes or a local path) → the declared schema."""
    return pa.concat_tables([project(t, where) for t in read_batches(raw, where)])


def iter_period(p: ExportPeriod, *, s3_client=None) -> Iterator[pa.Table]:
    """Exactly the files the period's manifest lists, as batches of the declared schema.

    One batch in memory at a time: a multi-million-row period streams through (local files are
    read in place; an S3 object is fetched one file at a time).
    """
    store = _Store(p.export_uri, s3_client)
    distinct = DistinctFiles(SOURCE, f" (both listed by {p.manifest_uri})")
    keys = _LineKeys(p.manifest_uri)
    for f in p.data_files:
        data, rows = store.fetch(f), 0
        for t in read_batches(data, f):
            rows += t.num_rows
            t = project(t, f)
            keys.add(t, f)
            yield t
        if rows:  # raised before the ingest commits anything: the period keeps its previous rows
            distinct.add(f, content_digest(data))
        keys.file_done(f)


# CUR's line key, as dbt builds focus_costs.x_line_id from it (int_focus__aws.line_key)
LINE_KEY = ("identity_line_item_id", "identity_time_interval", "line_item_usage_start_date", "line_item_line_item_type")


class _LineKeys:
    """Refuses a line key already delivered by another data file of the period (a part re-delivered as
    CSV beside its Parquet, under other bytes): dbt's uniqueness test on x_line_id would block every
    publish instead. Kept per earlier file as 64-bit hashes (16 B a line with its file: 80 MB for 5M
    lines); a false hit needs a hash collision (~1e-6 for two 5M-line files)."""

    def __init__(self, manifest: str):
        import numpy as np

        self.np, self.manifest = np, manifest
        self.files: list[str] = []
        self.seen = np.empty(0, np.uint64)  # sorted hashes of the earlier files
        self.owner = np.empty(0, np.int64)  # index in `files` of each hash in `seen`
        self.current: list = []
        self.error: SourceError | None = None  # raised when the file ends: a byte-identical copy is named first

    def add(self, t: pa.Table, f: str) -> None:
        import pandas as pd

        text = pc.binary_join_element_wise(*[pc.fill_null(t.column(c).cast(pa.string()), "") for c in LINE_KEY], "|")
        h = pd.util.hash_array(text.to_numpy(zero_copy_only=False).astype(object))
        self.current.append(h)
        if not len(self.seen):
            return
        hit = self.np.isin(h, self.seen)
        if hit.any() and self.error is None:
            i = int(self.np.argmax(hit))
            owner = self.files[int(self.owner[self.np.searchsorted(self.seen, h[i])])]
            key = ", ".join(f"{c}={t.column(c)[i].as_py()}" for c in LINE_KEY if t.column(c)[i].is_valid)
            self.error = SourceError(SOURCE, f, f"line {key} is also in {owner} (both listed by {self.manifest}): "
                                                "the same line item delivered twice under other bytes; nothing of "
                                                "the period loaded")

    def file_done(self, f: str) -> None:
        if self.error is not None:
            raise self.error
        np = self.np
        if self.current:
            h = np.concatenate(self.current)
            idx = np.full(len(h), len(self.files), np.int64)
            seen, owner = np.concatenate([self.seen, h]), np.concatenate([self.owner, idx])
            order = np.argsort(seen, kind="stable")
            self.seen, self.owner = seen[order], owner[order]
        self.files.append(f)
        self.current = []


def read_period(p: ExportPeriod, *, s3_client=None) -> pa.Table:
    """Exactly the files the period's manifest lists, concatenated."""
    tables = list(iter_period(p, s3_client=s3_client))
    return pa.concat_tables(tables) if tables else SCHEMAS["aws_cur"].empty_table()


def s3_client(*, profile: str | None = None, role_arn: str | None = None, endpoint_url: str | None = None,
              region: str | None = None, source: str = SOURCE, session_name: str = "aispend-ingest"):
    """An S3 client: boto3's default credential chain, or a named `profile`, then optionally
    `role_arn` assumed through STS (cross-account billing buckets). `endpoint_url` serves
    S3-compatible stores and tests. Credential problems raise SourceError naming the profile/role.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as e:
        raise SourceError(source, f"profile '{profile}'", f"AWS profile unusable: {e}") from None
    if role_arn:
        try:
            creds = session.client("sts", endpoint_url=endpoint_url).assume_role(
                RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        except ClientError as e:
            err = e.response.get("Error", {})
            raise SourceError(source, role_arn, f"STS AssumeRole {err.get('Code')}: {err.get('Message', '')}") from None
        except BotoCoreError as e:
            raise SourceError(source, role_arn, f"STS AssumeRole failed: {e}") from None
        # temporary credentials (1 h by default): a client per ingest run, so they never go stale mid-run
        session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"], region_name=session.region_name)
    return session.client("s3", endpoint_url=endpoint_url)
