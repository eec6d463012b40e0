"""Benchmark: OTLP JSON lines (collector file exporter) → raw zone `otel_spans`, spans per second.

Target (issue "Every token is ingested…"): at least 200k spans/s through the aispend path — the
`otel` connector (parse, id/enum normalisation, token-count checks; the attribute lists are kept
as OTLP gives them, staging extracts the keys), the Great Expectations suite and the atomic
raw-zone write. Measured side by side with a floor that does
no work beyond decoding: ``json.loads`` of every line and counting its spans, in the same run;
the ratio says how much of the time is the connector's own work.

Both sides run as child processes under the same measuring wrapper as bench_cur_focus.py (wall
time, peak RSS). Input: N GenAI spans (agent span + 9 chat spans per trace, 10 attributes each,
100 spans per line as the file exporter batches them).

    python tests/benchmarks/bench_otel_ingest.py [--spans 200000,1000000] [--dir /tmp/aispend-bench-otel] \
        [--python-path]

Two sizes by default: each load pays a fixed ~0.4 s (the GE suite is built and its column-level
checks run once per process; the raw-zone file is opened and closed), a third of a 200k-span
load and a tenth of a 1M-span one (a busy service's day), so the larger is the throughput figure.

`ingest_spans_per_s` (the target's figure) is spans over connector + GE + raw-zone write time;
`spans_per_s_wall` also counts interpreter start and importing Dagster / Great Expectations
(seconds, paid once per process). `cpu_s` is the child's CPU time: on a shared machine it is the
steadier figure.

Not a test: timings vary by machine. Results are printed and written to
``<dir>/results-otel-ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

SPANS_PER_LINE = 100
DAY = "2026-11-10"

_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                  "peak_rss_mib": round(ru.ru_maxrss / 1024, 1), "rc": rc}))
"""

_BASELINE = r"""
import json, sys
n = 0
with open(sys.argv[1]) as fh:
    for line in fh:
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                n += len(ss["spans"])
print(n, file=sys.stderr)
"""

_AISPEND = r"""
import json, sys, time
from datetime import datetime, timezone
c = time.monotonic()
sys.path.insert(0, sys.argv[3])
import great_expectations  # imported once per process (a Dagster code server): timed apart
from connectors import otel, rawzone
from pipelines.quality.ge import validate
from pipelines.ingest._factory import _with_partition
start = datetime(2026, 11, 10, tzinfo=timezone.utc)
end = datetime(2026, 11, 11, tzinfo=timezone.utc)
c0 = time.monotonic()
t = otel.read_spans(sys.argv[1], start, end, fast=sys.argv[6] == "fast")
c1 = time.monotonic()
schema = otel.SCHEMAS["otel_spans"]
out = validate("otel_spans", _with_partition({"2026-11-10": t}), schema)
assert out.success, out.summary()
c2 = time.monotonic()
rawzone.write_partitions(sys.argv[2], "otel_spans", "bench", "day", {"2026-11-10": t}, schema, "bench", None)
c3 = time.monotonic()
with open(sys.argv[5], "w") as fh:
    json.dump({"imports_s": round(c0 - c, 3), "connector_s": round(c1 - c0, 3), "ge_suite_s": round(c2 - c1, 3),
               "rawzone_write_s": round(c3 - c2, 3)}, fh)
assert t.num_rows == int(sys.argv[4]), (t.num_rows, sys.argv[4])
"""


def _kv(key, value):
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def generate(path: Path, n: int) -> None:
    """n spans: traces of one invoke_agent span + 9 chat spans, 100 spans per OTLP line."""
    t0 = int(datetime(2026, 11, 10, 12, tzinfo=timezone.utc).timestamp()) * 10**9
    with path.open("w") as fh:
        for b in range(n // SPANS_PER_LINE):
            spans = []
            for i in range(SPANS_PER_LINE):
                agent = i % 10 == 0
                attrs = {"gen_ai.operation.name": "invoke_agent" if agent else "chat",
                         "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                         "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 1000 + i,
                         "gen_ai.usage.output_tokens": 100 + i, "gen_ai.usage.cache_read.input_tokens": 200,
                         "gen_ai.conversation.id": f"conv-{b}", "server.address": "api.openai.com",
                         "gen_ai.response.id": f"chatcmpl-{b}-{i}"}
                spans.append({
                    "traceId": f"{b:016x}{i // 10:016x}", "spanId": f"{b * SPANS_PER_LINE + i:016x}",
                    "parentSpanId": "" if agent else f"{b * SPANS_PER_LINE + (i // 10) * 10:016x}",
                    "name": "chat gpt-4o", "kind": 1 if agent else 3, "flags": 256,
                    "startTimeUnixNano": str(t0 + i * 1000), "endTimeUnixNano": str(t0 + i * 1000 + 10**9),
                    "attributes": [_kv(k, v) for k, v in attrs.items()], "status": {}})
            fh.write(json.dumps({"resourceSpans": [{
                "resource": {"attributes": [_kv("service.name", "bench-agent")]},
                "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"},
                                "spans": spans}]}]}) + "\n")


def measure(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"benchmark step failed: {out.stderr[-2000:]}")
    return res


def run_size(work: Path, spans: int, python_path: bool) -> dict:
    """The bench at one input size: aispend's ingest (and the Python path if asked) vs the json.loads floor."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src = work / "traces.jsonl"
    generate(src, spans)
    n = (spans // SPANS_PER_LINE) * SPANS_PER_LINE
    base = measure([sys.executable, "-c", _BASELINE, str(src)])

    def aispend(path: str) -> dict:
        res = measure([sys.executable, "-c", _AISPEND, str(src), str(work / "home"), str(REPO), str(n),
                       str(work / "stages.json"), path])
        stages = json.loads((work / "stages.json").read_text())
        ingest_s = stages["connector_s"] + stages["ge_suite_s"] + stages["rawzone_write_s"]
        return {**res, "stages": stages, "spans_per_s_wall": round(n / res["wall_s"]),
                # the ingest itself (connector + GE suite + raw-zone write), without interpreter
                # start and library imports, which a long-lived code server pays once
                "ingest_spans_per_s": round(n / ingest_s),
                "connector_spans_per_s": round(n / stages["connector_s"])}

    ours = aispend("fast")
    result = {
        "spans": n, "input_mib": round(src.stat().st_size / 2**20, 1), "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg()[0],
        "aispend": ours,
        "baseline_json_loads": {**base, "spans_per_s": round(n / base["wall_s"])},
        "ratio_wall_aispend_over_baseline": round(ours["wall_s"] / base["wall_s"], 2),
        "ratio_connector_over_baseline": round(ours["stages"]["connector_s"] / base["wall_s"], 2),
        "target_spans_per_s": 200_000,
    }
    if python_path:  # the per-span Python path the fast path falls back to, same input
        result["python_path"] = aispend("python")
    result["meets_target"] = ours["ingest_spans_per_s"] >= 200_000
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", default=os.environ.get("BENCH_SPANS", "200000,1000000"),
                    help="input sizes, comma-separated (each a separate file and process)")
    ap.add_argument("--dir", default="/tmp/aispend-bench-otel")
    ap.add_argument("--python-path", action="store_true", help="also time the Python fallback path")
    a = ap.parse_args()
    results = [run_size(Path(a.dir) / f"spans-{n}", int(n), a.python_path) for n in a.spans.split(",")]
    print(json.dumps(results, indent=2))
    print(f"{'spans':>10}{'ingest spans/s':>16}{'connector s':>13}{'GE s':>7}{'write s':>9}"
          f"{'floor spans/s':>15}  target")
    for r in results:
        st = r["aispend"]["stages"]
        print(f"{r['spans']:>10,}{r['aispend']['ingest_spans_per_s']:>16,}{st['connector_s']:>13.2f}"
              f"{st['ge_suite_s']:>7.2f}{st['rawzone_write_s']:>9.2f}{r['baseline_json_loads']['spans_per_s']:>15,}"
              f"  {'met' if r['meets_target'] else 'NOT met'}")
    (Path(a.dir) / "results-otel-ingest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
