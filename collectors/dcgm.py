"""DCGM-exporter / Prometheus text exposition → GPU samples in the collector's vocabulary.

Standard library only (runs on a GPU host as well as in the ingest). ``parse_scrapes`` turns one
file's text into ``(ts, labels, metric, value)`` samples; ``to_records`` folds them into one
record per GPU (by UUID) × timestamp with the field names of collector format v1
(``util_gpu_pct``, ``power_w``, ``energy_mj``, ``gpm_sm_activity_pct``, …).

File layout (what ``aispend`` reads as a ``dcgm_metrics`` source):
``<root>/<host>/<name>-YYYYMMDDTHHMMSSZ.prom`` (or ``.prom.gz`` / ``.txt``): one scrape of
``dcgm-exporter``'s ``/metrics`` per file, its time in the name. A file may instead hold many
scrapes, each preceded by a line ``# TS <unix seconds | RFC 3339>`` (what
``while sleep 10; do echo "# TS $(date +%s)"; curl -s host:9400/metrics; done >> scrapes.prom``
writes); a Prometheus sample timestamp (ms) at the end of a line wins over both.

Blank values: DCGM reports a field it could not read as a sentinel (int32 0x7ffffff0..+3,
int64 0x7ffffffffffffff0..+3 such as 9223372036854775794 = NOT_SUPPORTED, fp64 2**47..+3);
they become None, never a number.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Iterable, Iterator

# DCGM metric → (collector field, scale). Percent ratios (PROF_*) are 0..1 in DCGM.
FIELDS: dict[str, tuple[str, float]] = {
    "DCGM_FI_DEV_GPU_UTIL": ("util_gpu_pct", 1.0),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("util_mem_pct", 1.0),
    "DCGM_FI_DEV_FB_USED": ("mem_used_bytes", 1048576.0),   # MiB
    "DCGM_FI_DEV_FB_FREE": ("_fb_free_bytes", 1048576.0),
    "DCGM_FI_DEV_FB_RESERVED": ("_fb_reserved_bytes", 1048576.0),
    "DCGM_FI_DEV_FB_TOTAL": ("mem_total_bytes", 1048576.0),
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1.0),
    "DCGM_FI_DEV_POWER_MGMT_LIMIT": ("power_limit_w", 1.0),
    "DCGM_FI_DEV_ENFORCED_POWER_LIMIT": ("power_limit_w", 1.0),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("energy_mj", 1.0),  # mJ since driver load
    "DCGM_FI_DEV_GPU_TEMP": ("temp_c", 1.0),
    "DCGM_FI_DEV_SM_CLOCK": ("sm_clock_mhz", 1.0),
    "DCGM_FI_PROF_SM_ACTIVE": ("gpm_sm_activity_pct", 100.0),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": ("gpm_tensor_activity_pct", 100.0),
}
# device-level fields are repeated on every MIG instance's series: taken once, never summed
DEVICE_LEVEL = {"power_w", "power_limit_w", "energy_mj", "temp_c", "sm_clock_mhz", "mem_total_bytes"}
INT_FIELDS = {"mem_used_bytes", "mem_total_bytes", "energy_mj"}

_INT32_BLANK, _INT64_BLANK, _FP64_BLANK = 0x7FFFFFF0, 0x7FFFFFFFFFFFFFF0, float(2 ** 47)
_LINE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$')
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_NAME_TS = re.compile(r"(\d{8}T\d{6})Z?")
_MIG_SLICES = re.compile(r"^(\d+)g\.")


class DcgmParseError(ValueError):
    """A line that is not Prometheus text exposition; ``line`` is 1-based."""

    def __init__(self, line: int, problem: str):
        super().__init__(f"line {line}: {problem}")
        self.line, self.problem = line, problem


def is_blank(metric: str, value: float) -> bool:
    """True for DCGM's blank / not-found / not-supported / no-permission sentinels."""
    if value != value or value >= 9.2e18:  # NaN, or int64 blanks (lose precision as floats)
        return True
    if _FP64_BLANK <= value <= _FP64_BLANK + 3:
        return True
    # an energy counter (int64 mJ) legitimately passes 2**31; every other int field stays far below
    return metric != "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" and _INT32_BLANK <= value <= _INT32_BLANK + 3


def time_from_name(name: str) -> datetime | None:
    """``...-YYYYMMDDTHHMMSSZ.prom`` → that UTC time, else None."""
    m = _NAME_TS.search(name)
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc) if m else None


def _parse_ts(text: str, line: int) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DcgmParseError(line, f"'# TS' needs unix seconds or RFC 3339, got {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _labels(text: str, line: int) -> dict[str, str]:
    out, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise DcgmParseError(line, f"bad label set {{{text}}}")
        out[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
    return out


def parse_scrapes(lines: Iterable[str],
                  default_ts: datetime | None) -> Iterator[tuple[datetime, dict, str, float | None]]:
    """(ts, labels, metric, value or None if blank) for every DCGM sample line.

    Comments (``# HELP``/``# TYPE``) are skipped; ``# TS`` starts a scrape. Only ``DCGM_FI_*``
    metrics are returned (an exporter page may also carry its own process metrics). A malformed
    line raises DcgmParseError with its line number; no time at all raises on the first sample.
    """
    ts = default_ts
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("# TS"):
                ts = _parse_ts(line[4:].strip(), n)
            continue
        m = _LINE.match(line)
        if not m:
            raise DcgmParseError(n, f"not a Prometheus sample line: {line[:120]!r}")
        metric, label_text, value_text, ms = m.group(1), m.group(3), m.group(4), m.group(5)
        try:
            value = float(value_text)
        except ValueError:
            raise DcgmParseError(n, f"value {value_text!r} is not a number") from None
        if not metric.startswith("DCGM_FI_"):
            continue
        labels = _labels(label_text, n) if label_text else {}
        at = datetime.fromtimestamp(int(ms) / 1000, timezone.utc) if ms else ts
        if at is None:
            raise DcgmParseError(n, "no sample time: no '# TS' line, no timestamp in the file name or the line")
        yield at, labels, metric, (None if is_blank(metric, value) else value)


def to_records(samples: Iterable[tuple[datetime, dict, str, float | None]], default_host: str | None) -> list[dict]:
    """One record per (GPU UUID, ts) in collector v1 field names; unmapped metrics are ignored.

    Host: label ``Hostname`` (dcgm-exporter) or ``hostname`` (Prometheus relabelling), else
    `default_host` (the file's folder). MIG: series carrying ``GPU_I_ID`` are instances of one GPU;
    device-level fields are taken once, FB used is summed, SM / tensor activity is weighted by the
    instance's slice count (``3g.40gb`` → 3 of 7), and ``mig_mode`` is true.
    """
    recs: dict[tuple[str, datetime], dict] = {}
    mig: dict[tuple[str, datetime], dict[str, list[tuple[float, float]]]] = {}
    for ts, labels, metric, value in samples:
        spec = FIELDS.get(metric)
        uuid = labels.get("UUID") or labels.get("uuid")
        if spec is None or not uuid:
            continue
        key = (uuid, ts)
        r = recs.get(key)
        if r is None:
            gpu = labels.get("gpu")
            r = recs[key] = {
                "ts": ts, "host": labels.get("Hostname") or labels.get("hostname") or default_host,
                "gpu_uuid": uuid, "gpu_index": int(gpu) if gpu and gpu.isdigit() else None,
                "name": labels.get("modelName"), "mig_mode": False,
                "driver_version": labels.get("DCGM_FI_DRIVER_VERSION"), "collector_version": "dcgm-exporter"}
        field, scale = spec
        v = None if value is None else value * scale
        instance = labels.get("GPU_I_ID")
        if instance is not None and instance != "":
            r["mig_mode"] = True
            if field in DEVICE_LEVEL:
                r.setdefault(field, v)
            else:
                m = _MIG_SLICES.match(labels.get("GPU_I_PROFILE", ""))
                mig.setdefault(key, {}).setdefault(field, []).append((float(m.group(1)) if m else 1.0, v))
            continue
        if v is not None or field not in r:
            r[field] = v
    for key, fields in mig.items():
        r = recs[key]
        for field, parts in fields.items():
            vals = [(w, v) for w, v in parts if v is not None]
            if not vals:
                r.setdefault(field, None)
            elif field in ("mem_used_bytes",):
                r[field] = sum(v for _, v in vals)
            else:  # activity of the whole GPU: slices of a 7-slice GPU, idle slices count as 0
                r[field] = sum(w * v for w, v in vals) / max(7.0, sum(w for w, _ in vals))
    for r in recs.values():
        if (r.get("mem_total_bytes") is None and r.get("mem_used_bytes") is not None
                and r.get("_fb_free_bytes") is not None):
            r["mem_total_bytes"] = r["mem_used_bytes"] + r["_fb_free_bytes"] + (r.get("_fb_reserved_bytes") or 0)
        for k in ("_fb_free_bytes", "_fb_reserved_bytes"):
            r.pop(k, None)
        for k in INT_FIELDS:
            if r.get(k) is not None:
                r[k] = int(round(r[k]))
    return sorted(recs.values(), key=lambda r: (r["ts"], r["gpu_uuid"]))
