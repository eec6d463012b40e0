"""DCGM-exporter / Prometheus text scrapes (``dcgm_metrics``) → raw ``gpu_samples`` rows.

The parsing lives in ``collectors.dcgm`` (standard library only); this module finds the files
(local directory, file, glob or ``s3://`` prefix), picks those in the window and returns the same
Arrow schema as the aispend collector (``connectors.gpu_telemetry``), so dbt's GPU models serve
both. File layout and blank-sentinel handling: see ``collectors.dcgm``. Host comes from the
``Hostname`` / ``hostname`` label, else the folder above the file (``<root>/<host>/...``).
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from collectors.dcgm import DcgmParseError, DcgmSemanticError, parse_scrapes, time_from_name, to_records
from connectors import gpu_telemetry
from connectors._files import list_files
from connectors.aws_cur import s3_objects
from connectors.errors import SourceError

SOURCE = "dcgm_metrics"
SCHEMAS = {"gpu_samples": gpu_telemetry.SCHEMAS["gpu_samples"]}
PARTITION_TS_COLUMN = {"gpu_samples": "ts"}
SUFFIXES = (".prom", ".prom.gz", ".txt", ".txt.gz")


def _text(data: bytes, where: str) -> list[str]:
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise SourceError(SOURCE, where, f"cannot read scrape file (truncated or not UTF-8?): {e}") from None


def parse_file(data: bytes, where: str, default_host: str | None) -> list[dict]:
    """One file's records (collector v1 field names); a malformed line raises naming ``file:line``,
    framebuffer figures that contradict each other raise naming the file and the GPU."""
    try:
        return to_records(parse_scrapes(_text(data, where), time_from_name(where.rsplit("/", 1)[-1])), default_host)
    except DcgmParseError as e:
        raise SourceError(SOURCE, f"{where}:{e.line}", e.problem) from None
    except DcgmSemanticError as e:
        raise SourceError(SOURCE, where, str(e)) from None


def _host_from_path(where: str, root: str) -> str | None:
    rel = where[len(root):].strip("/").split("/") if where.startswith(root) else []
    return rel[0] if len(rel) > 1 else None


def read_metrics(uri: str, start: datetime, end: datetime, *, s3_client=None) -> pa.Table:
    """DCGM samples with ts in [start, end) as ``gpu_samples`` rows (``_source_uri`` = file / s3 URI).

    Files whose name carries a time outside [start − 1 h, end) are not opened. A wrong path or an
    empty S3 prefix raises SourceError, as does a malformed line (naming file and line).
    """
    schema = SCHEMAS["gpu_samples"]
    root = uri.rstrip("/")
    if uri.startswith("s3://"):
        store, files = s3_objects(uri, s3_client, SUFFIXES, source=SOURCE)

        def read(f: str) -> bytes:
            try:
                return store.read_bytes(f)
            except SourceError as e:
                raise SourceError(SOURCE, e.where, e.problem) from None
    else:
        # no duplicate-file check: two scrapes of an idle GPU may well hold the same bytes
        files = [f for f in list_files(uri, (".prom", ".txt", ".gz")) if f.endswith(SUFFIXES)]
        if not files:
            raise SourceError(SOURCE, uri, f"no DCGM scrape files ({', '.join(SUFFIXES)}) found")

        def read(f: str) -> bytes:
            return Path(f).read_bytes()
    rows: list[dict] = []
    for f in files:
        at = time_from_name(f.rsplit("/", 1)[-1])
        if at is not None and not start - timedelta(hours=1) <= at < end:
            continue
        for r in parse_file(read(f), f, _host_from_path(f, root)):
            if start <= r["ts"] < end:
                r["_source_uri"] = f
                rows.append(r)
    missing = sorted({r["_source_uri"] for r in rows if not r.get("host")})
    if missing:
        raise SourceError(SOURCE, missing[0], "no Hostname/hostname label and no <host>/ folder above the file")
    return pa.table({fld.name: pa.array([r.get(fld.name) for r in rows], fld.type) for fld in schema}, schema=schema)
