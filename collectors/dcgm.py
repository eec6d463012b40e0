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

Unconvertible values: dcgm-exporter prints a field it cannot render as a number as text, e.g.
``DCGM_FI_DEV_VGPU_PER_PROCESS_UTILIZATION{...} ERROR - FAILED TO CONVERT TO STRING`` (array and
string fields such as ``COMPUTE_PIDS``, ``VGPU_INSTANCE_IDS``, ``CUDA_VISIBLE_DEVICES_STR``). Such a
sample of a metric aispend does not read (not in ``FIELDS``) is skipped and counted in the record's
``unparsed_values`` (the GPU of its ``UUID`` label at that scrape); in a metric aispend reads it is
an error naming the line, as is any line that is not a sample at all.

Semantic check: where a series carries ``FB_TOTAL`` as well as ``FB_USED`` and ``FB_FREE``,
used + free (+ reserved) must equal the total within ``FB_IDENTITY_TOLERANCE`` — a changed meaning
of one of them (a version reporting the device's memory on every MIG instance, other units) stops
the load with ``DcgmSemanticError`` instead of publishing wrong memory figures.
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
    # enabled in dcgm-exporter's default counters (SM_ACTIVE is commented out there) and reported
    # per MIG instance, where GPU_UTIL is not: the busy signal of a MIG GPU under the defaults
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("gr_engine_active_pct", 100.0),
}
# device-level fields are repeated on every MIG instance's series: taken once, never summed
DEVICE_LEVEL = {"power_w", "power_limit_w", "energy_mj", "temp_c", "sm_clock_mhz"}
# framebuffer fields are per MIG instance (DCGM >= 3.1.3 reports FB_USED/FREE/TOTAL per MIG
# device): the GPU's figure is the sum over its instances
FB_FIELDS = {"mem_used_bytes", "_fb_free_bytes", "_fb_reserved_bytes", "mem_total_bytes"}
INT_FIELDS = {"mem_used_bytes", "mem_total_bytes", "energy_mj"}
# |used + free + reserved − total| / total above this stops the load (rounding of MiB values only)
FB_IDENTITY_TOLERANCE = 0.01
# a sample of a metric not in FIELDS whose value is not a number (counted, not read)
UNPARSED = object()

_INT32_BLANK, _INT64_BLANK, _FP64_BLANK = 0x7FFFFFF0, 0x7FFFFFFFFFFFFFF0, float(2 ** 47)
_LINE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S.*?)\s*$')
_VALUE = re.compile(r'^(\S+)(?:\s+(-?\d+))?$')
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_NAME_TS = re.compile(r"(\d{8}T\d{6})Z?")
_MIG_SLICES = re.compile(r"^(\d+)g\.")


class DcgmParseError(ValueError):
    """A line that is not Prometheus text exposition; ``line`` is 1-based."""

    def __init__(self, line: int, problem: str):
        super().__init__(f"line {line}: {problem}")
        self.line, self.problem = line, problem


class DcgmSemanticError(ValueError):
    """Values that parse but contradict each other (e.g. FB used + free ≠ total)."""


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
                  default_ts: datetime | None) -> Iterator[tuple[datetime, dict, str, float | None | object]]:
    """(ts, labels, metric, value or None if blank) for every DCGM sample line.

    Comments (``# HELP``/``# TYPE``) are skipped; ``# TS`` starts a scrape. Only ``DCGM_FI_*``
    metrics are returned (an exporter page may also carry its own process metrics). A malformed
    line raises DcgmParseError with its line number; no time at all raises on the first sample.
    A non-numeric value of a metric that aispend does not read is returned as ``UNPARSED``
    (counted by ``to_records``); in a metric it reads it raises DcgmParseError.
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
        metric, label_text, rest = m.group(1), m.group(3), m.group(4)
        v = _VALUE.match(rest)
        value_text, ms = (v.group(1), v.group(2)) if v else (rest, None)
        try:
            value = float(value_text) if v else None
        except ValueError:
            value = None
        if value is None and metric in FIELDS:
            raise DcgmParseError(n, f"value {rest!r} is not a number ({metric} is read by aispend)")
        if value is not None and not metric.startswith("DCGM_FI_"):
            continue
        labels = _labels(label_text, n) if label_text else {}
        at = datetime.fromtimestamp(int(ms) / 1000, timezone.utc) if ms else ts
        if at is None:
            raise DcgmParseError(n, "no sample time: no '# TS' line, no timestamp in the file name or the line")
        yield at, labels, metric, (UNPARSED if value is None else None if is_blank(metric, value) else value)


def to_records(samples: Iterable[tuple[datetime, dict, str, float | None | object]],
               default_host: str | None) -> list[dict]:
    """One record per (GPU UUID, ts) in collector v1 field names; unmapped metrics are ignored.

    Host: label ``Hostname`` (dcgm-exporter) or ``hostname`` (Prometheus relabelling), else
    `default_host` (the file's folder). MIG: series carrying ``GPU_I_ID`` are instances of one GPU;
    device-level fields (power, energy, temperature, clock) are taken once, framebuffer fields
    (used, free, reserved, total) are summed over the instances, SM / tensor / graphics-engine
    activity is weighted by the instance's slice count (``3g.40gb`` → 3 of 7), and ``mig_mode`` is
    true. ``unparsed_values`` counts the ``UNPARSED`` samples of that GPU and scrape (ones without a
    ``UUID`` label go to the scrape's first GPU). Raises DcgmSemanticError when FB used + free
    (+ reserved) and FB total disagree.
    """
    recs: dict[tuple[str, datetime], dict] = {}
    mig: dict[tuple[str, datetime], dict[str, list[tuple[float, float]]]] = {}
    unparsed: dict[tuple[str | None, datetime], int] = {}
    for ts, labels, metric, value in samples:
        uuid = labels.get("UUID") or labels.get("uuid")
        if value is UNPARSED:
            unparsed[(uuid, ts)] = unparsed.get((uuid, ts), 0) + 1
            continue
        spec = FIELDS.get(metric)
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
                if r.get(field) is None:
                    r[field] = v
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
            elif field in FB_FIELDS:
                r[field] = sum(v for _, v in vals)
            else:  # activity of the whole GPU: slices of a 7-slice GPU, idle slices count as 0
                r[field] = sum(w * v for w, v in vals) / max(7.0, sum(w for w, _ in vals))
    first_at: dict[datetime, dict] = {}
    for (_, ts), r in sorted(recs.items()):
        first_at.setdefault(ts, r)
    for (uuid, ts), n in unparsed.items():
        r = recs.get((uuid, ts)) if uuid else None
        r = r or first_at.get(ts)
        if r is not None:
            r["unparsed_values"] = r.get("unparsed_values", 0) + n
    for r in recs.values():
        used, free, reserved, total = (r.get("mem_used_bytes"), r.get("_fb_free_bytes"),
                                       r.get("_fb_reserved_bytes"), r.get("mem_total_bytes"))
        if used is not None and free is not None:
            parts = used + free + (reserved or 0)
            if total is None:
                r["mem_total_bytes"] = parts
            elif abs(parts - total) > FB_IDENTITY_TOLERANCE * total:
                mib = 1048576
                raise DcgmSemanticError(
                    f"GPU {r['gpu_uuid']} at {r['ts'].isoformat()}: FB_USED + FB_FREE + FB_RESERVED = "
                    f"{parts / mib:,.0f} MiB but FB_TOTAL = {total / mib:,.0f} MiB: the exporter's framebuffer "
                    "fields no longer mean what aispend reads (see connectors/README.md, dcgm)")
        for k in ("_fb_free_bytes", "_fb_reserved_bytes"):
            r.pop(k, None)
        r.setdefault("unparsed_values", 0)
        for k in INT_FIELDS:
            if r.get(k) is not None:
                r[k] = int(round(r[k]))
    return sorted(recs.values(), key=lambda r: (r["ts"], r["gpu_uuid"]))
