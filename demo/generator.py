"""`generate()` and `apply_restatement()`: the synthetic organisation, end to end.

Determinism: every source draws from its own named numpy stream (`child_rng(seed, name)`),
ids come from those streams or from hashes of stable keys, gzip headers carry mtime=0 and no
file name, and nothing time-of-run-dependent (clock, absolute paths, hostnames) is written. The
same (seed, end, days) therefore gives byte-identical files in any directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from . import aws_cur, gcp_billing, gpu, llm_apis, otel
from ._common import (
    DEFAULT_END,
    GPU_WINDOW_DAYS,
    IDLE_END,
    IDLE_START,
    RUNAWAY_CALLS,
    RUNAWAY_DAY,
    SPIKE_DAY,
    SPIKE_FACTOR,
    SPIKE_TEAM,
    Window,
    month_key,
)

CUR_ROOT = Path("aws/cur2") / aws_cur.EXPORT_NAME
MANIFEST_FILE = "demo-manifest.json"


@dataclass
class DemoManifest:
    """What `generate()` wrote and what the pipeline is expected to find.

    `paths` are relative to `out_dir`. `events` has one entry per injected event
    (`runaway_loop`, `cost_spike`, `idle_gpu_week`, `restatement`), each with `in_window`
    (False when the window does not cover it; the other keys are then absent) and its
    expected values. `totals` are source-level money totals for reconciliation checks.
    """

    out_dir: Path
    seed: int
    start: date
    end: date
    days: int
    paths: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, object] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("out_dir")
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        return d


def _prev_month(d: date) -> str:
    first = d.replace(day=1)
    return month_key(first - timedelta(days=1))


def generate(out_dir: Path | str, *, seed: int = 7, end: date = DEFAULT_END,
             days: int = 90) -> DemoManifest:
    """Write every source of the demo organisation under `out_dir` in its native format.

    Window: `days` days ending on `end` inclusive (default 2026-08-18 .. 2026-11-15). GPU
    telemetry and the model-server log cover the last min(30, days) days. Injected events
    whose date falls outside the window are omitted (manifest: `in_window: false`).
    Layout and formats: see contracts.md §Demo organisation and demo/README.md.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    window = Window(end - timedelta(days=days - 1), end)
    m = DemoManifest(out_dir=out, seed=seed, start=window.start, end=end, days=days)
    m.paths = {
        "aws_cur": str(CUR_ROOT), "gcp_billing": "gcp/billing_export", "api": "api",
        "otel_traces": "otel", "gpu_telemetry": "gpu", "self_hosted_requests": "selfhosted",
        "config": "aispend.yaml",
    }

    # AWS CUR 2.0 -----------------------------------------------------------------------
    restate_period = _prev_month(end)
    tables, spike = aws_cur.build(seed, window, last_closed=restate_period)
    for period, tbl in tables.items():
        aws_cur.write_period(out / CUR_ROOT, period, tbl)
    m.row_counts["aws_cur"] = sum(t.num_rows for t in tables.values())
    m.totals["aws_cur_by_period"] = {p: aws_cur.total(t) for p, t in sorted(tables.items())}

    # GCP --------------------------------------------------------------------------------
    months = gcp_billing.build(seed, window)
    gcp_counts = gcp_billing.write(out / "gcp/billing_export", months)
    m.row_counts["gcp_billing"] = sum(gcp_counts.values())
    m.totals["gcp_net_by_invoice_month"] = gcp_billing.total(months)

    # OTel traces + LLM APIs ---------------------------------------------------------------
    traced, span_counts, runaway = otel.build_and_write(seed, window, out / "otel")
    m.row_counts["otel_spans"] = span_counts["spans"]
    m.row_counts["otel_traces"] = span_counts["traces"]
    api = llm_apis.build(seed, window, traced)
    for name, n in llm_apis.write(out / "api", api).items():
        m.row_counts[f"api_{name}"] = n
    m.totals.update(llm_apis.totals(api))

    # GPU host -----------------------------------------------------------------------------
    gpu_days = min(GPU_WINDOW_DAYS, days)
    g = gpu.build_and_write(seed, window, out, gpu_days=gpu_days)
    m.row_counts["gpu_samples"] = g["gpu_rows"]
    m.row_counts["gpu_files"] = g["gpu_files"]
    m.row_counts["self_hosted_requests"] = g["requests"]
    m.totals["gpu_energy_kwh"] = g["energy_kwh_total"]
    m.totals["gpu_window"] = {"start": g["first_day"], "end": end.isoformat()}

    # Injected events ----------------------------------------------------------------------
    m.events["runaway_loop"] = ({"in_window": True, **runaway} if runaway else
                                {"in_window": False, "day": RUNAWAY_DAY.isoformat(),
                                 "llm_calls": RUNAWAY_CALLS})
    m.events["cost_spike"] = (
        {"in_window": True, "day": SPIKE_DAY.isoformat(), "team": SPIKE_TEAM,
         "application": "eval-harness", "service_code": "AmazonBedrock",
         "service_name": "Amazon Bedrock", "factor": SPIKE_FACTOR, **spike}
        if spike else {"in_window": False, "day": SPIKE_DAY.isoformat()})
    idle_in = IDLE_START >= date.fromisoformat(g["first_day"]) and IDLE_END <= end
    m.events["idle_gpu_week"] = (
        {"in_window": True, "start": IDLE_START.isoformat(), "end": IDLE_END.isoformat(),
         "host": "gpu-node-01",
         "mean_util_pct": g["idle_week_mean_util_pct"],
         "mean_power_w": g["idle_week_mean_power_w"],
         "normal_mean_util_pct": g["mean_util_pct_outside_idle_week"],
         "normal_mean_power_w": g["mean_power_w_outside_idle_week"]}
        if idle_in else {"in_window": False, "start": IDLE_START.isoformat(),
                         "end": IDLE_END.isoformat()})
    if restate_period in tables:
        old = tables[restate_period]
        new = aws_cur.restate(old, restate_period)
        m.events["restatement"] = {
            "in_window": True, "billing_period": restate_period,
            "old_total_usd": aws_cur.total(old), "new_total_usd": aws_cur.total(new),
            "delta_usd": round(aws_cur.total(new) - aws_cur.total(old), 2),
            "old_rows": old.num_rows, "new_rows": new.num_rows,
            "old_execution_id": aws_cur.execution_id(restate_period, 0),
            "new_execution_id": aws_cur.execution_id(restate_period, 1),
            "changes": ["S3 TimedStorage-ByteHrs of aispend-search-index on the 14th-16th x1.8",
                        "added Credit line -1250.00 USD (AmazonBedrock, apps-prod)"],
        }
    else:
        m.events["restatement"] = {"in_window": False, "billing_period": restate_period}

    _write_config(out, m.start)
    (out / MANIFEST_FILE).write_text(json.dumps(m.to_json(), indent=2, sort_keys=True) + "\n")
    return m


CONFIG_TEMPLATE = """\
# aispend configuration for the synthetic demo organisation (written by demo.generate).
# Keys:
#   home     - where the lake and warehouse live; not set here: AISPEND_HOME or ./data.
#   sources  - list of {name, type, uri, ...}; `type` as in DESIGN.md; a relative `uri` is
#              relative to this file's directory; `${VAR}` is expanded from the environment
#              (the demo runner sets AISPEND_EMULATOR_URL to demo.emulator.ApiEmulator.base_url);
#              `*_env` keys name the env var holding a secret (the emulator's fake admin keys:
#              demo.emulator.OPENAI_ADMIN_KEY / ANTHROPIC_ADMIN_KEY).
#   start_date - the first day of the generated window: the first partition to ingest.
start_date: "{start}"
sources:
  - name: aws_cur2
    type: aws_cur
    uri: aws/cur2/aispend-demo-cur
  - name: gcp_billing
    type: gcp_billing
    uri: gcp/billing_export
  - name: openai
    type: openai
    uri: ${AISPEND_EMULATOR_URL}
    admin_key_env: OPENAI_ADMIN_KEY
  - name: anthropic
    type: anthropic
    uri: ${AISPEND_EMULATOR_URL}
    admin_key_env: ANTHROPIC_ADMIN_KEY
  - name: otel_traces
    type: otel_traces
    uri: otel
  - name: gpu_telemetry
    type: gpu_telemetry
    uri: gpu
  - name: self_hosted_requests
    type: self_hosted_requests
    uri: selfhosted
"""


def _write_config(out: Path, start: date) -> None:
    (out / "aispend.yaml").write_text(CONFIG_TEMPLATE.replace("{start}", start.isoformat()))


def load_manifest(out_dir: Path | str) -> dict:
    """The JSON form of the DemoManifest that `generate()` saved in `out_dir`."""
    return json.loads((Path(out_dir) / MANIFEST_FILE).read_text())


def apply_restatement(out_dir: Path | str) -> None:
    """Re-deliver the previous month's CUR 2.0 export, as AWS does ~2 weeks after month end.

    Rewrites `data/BILLING_PERIOD=<prev month>/...parquet` in place with changed contents
    (see `aws_cur.restate`) and a new Manifest.json (same path, new executionId). Idempotent:
    a second call finds the new executionId and does nothing. Raises ValueError if the
    generated window does not include that billing period.
    """
    out = Path(out_dir)
    info = load_manifest(out)["events"]["restatement"]
    period = info["billing_period"]
    if not info["in_window"]:
        raise ValueError(f"restatement: billing period {period} is not in the generated window")
    root = out / CUR_ROOT
    if aws_cur.read_manifest(root, period)["executionId"] == aws_cur.execution_id(period, 1):
        return
    new = aws_cur.restate(aws_cur.read_period(root, period), period)
    aws_cur.write_period(root, period, new, revision=1)
