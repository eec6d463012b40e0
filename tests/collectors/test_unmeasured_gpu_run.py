"""A GPU whose NVML utilisation is NotSupported (MIG mode) is 'unmeasured', never 100 % busy.

The user's path end to end: the real collector (``collectors.gpu_collector.Collector``) samples a
fake NVML (only the pynvml boundary is faked: tests/collectors/fake_pynvml.py) holding one GPU in
MIG mode — ``nvmlDeviceGetUtilizationRates`` raises ``NVMLError_NotSupported`` and device GPM is
not supported — beside a normal GPU, for two hours at a 60 s interval; its files plus a model
server's request log go through ``aispend run --config``; the published warehouse is read back.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import duckdb
import pytest

import fake_pynvml
from collectors.gpu_collector import Collector
from pipelines.cli import main

T0 = datetime(2026, 11, 10, tzinfo=timezone.utc).timestamp()  # samples at T0, T0 + 60 s, … T0 + 2 h
STEP_S = 60
HOST = "gpu-node-x"  # not in seed host_sites: site 'default'

# One GPU-hour of an H100 at 300 W (60 intervals × 300 W × 60 s = 1.08 MJ = 0.3 kWh), seeds
# gpu_models (H100 30000 + 12500 server share, 5 years) and sites ('default': 0.0834 $/kWh, PUE
# 1.56, no colo, ops 150 $/GPU-month), hours_per_month 730; each part is rounded to 1e-10 as stored.
CAPEX = Decimal("0.9703196347")   # 42500 / (5 × 8760)
ENERGY = Decimal("0.0250200000")  # 0.3 kWh × 0.0834
FACILITY = Decimal("0.0140112000")  # 0.3 × (1.56 − 1) × 0.0834
OPS = Decimal("0.2054794521")     # 150 / 730
HOUR_COST = CAPEX + ENERGY + FACILITY + OPS  # 1.2148302868


def _collect(out) -> None:
    fake_pynvml.configure({"gpus": [
        # MIG mode: no device utilisation (the fake raises NotSupported as real MIG GPUs do), and
        # device-level GPM unsupported; power and energy exist once for the physical GPU
        {"uuid": "GPU-mig", "power_mw": 300_000, "interval_s": STEP_S, "unsupported": ["nvmlGpmSampleGet"],
         "mig": [{"uuid": "MIG-mig-1", "gi": 1, "ci": 0, "mem_total": 10_000_000_000, "mem_used": 1_000_000_000}]},
        # a normal GPU beside it: SM activity 40 % (GPM), utilisation 50 % (coarse, not used)
        {"uuid": "GPU-ok", "power_mw": 300_000, "interval_s": STEP_S, "gpm_sm": 40.0, "util": 50},
    ]})
    c = Collector(fake_pynvml, out, host=HOST, interval=STEP_S, process_interval=0, max_disk_mb=100,
                  flush_interval=0)
    c.prime()
    for k in range(2 * 3600 // STEP_S + 1):
        ts = T0 + STEP_S * k
        c.write(ts, c.sample(ts))
    c.shutdown()


def _requests(path) -> None:
    """One 10 s request on each GPU in the first hour; the second hour of both GPUs has none."""
    path.mkdir(parents=True)
    lines = [{"request_id": f"req-{g}", "arrival_time": T0 + 600, "finished_time": T0 + 610,
              "model": "llama-3.1-70b-instruct", "prompt_tokens": 1000, "completion_tokens": 100, "status": "ok",
              "host": HOST, "gpus": [f"GPU-{g}"],
              "headers": {"x-task-id": f"task-{g}", "x-application": "internal-chat"}}
             for g in ("mig", "ok")]
    (path / "requests.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("unmeasured")
    _collect(root / "collector")
    _requests(root / "requests")
    cfg = root / "aispend.yaml"
    cfg.write_text(f"home: {root / 'home'}\nstart_date: 2026-11-10\nsources:\n"
                   f"  - {{name: gpus, type: gpu_telemetry, uri: {root / 'collector'}}}\n"
                   f"  - {{name: vllm, type: self_hosted_requests, uri: {root / 'requests'}}}\n")
    assert main(["run", "--config", str(cfg), "--home", str(root / "home"), "--end", "2026-11-10"]) == 0
    con = duckdb.connect(str(root / "home" / "warehouse" / "aispend.duckdb"), read_only=True)
    yield con
    con.close()


def test_collector_wrote_null_utilisation_for_the_mig_gpu(tmp_path):
    _collect(tmp_path)
    from connectors.gpu_telemetry import read_samples
    t = read_samples(str(tmp_path), datetime.fromtimestamp(T0, timezone.utc),
                     datetime.fromtimestamp(T0 + 3 * 3600, timezone.utc)).to_pylist()
    mig = [r for r in t if r["gpu_uuid"] == "GPU-mig"]
    assert len(mig) == 121 and all(r["mig_mode"] is True for r in mig)
    assert all(r["util_gpu_pct"] is None and r["gpm_sm_activity_pct"] is None for r in mig)
    assert all(r["energy_mj"] is not None for r in mig)


def test_mig_gpu_hours_are_unmeasured_not_busy(warehouse):
    rows = warehouse.execute(
        "select gpu_uuid, hour_at, observed_s, busy_fraction, busy_source, unmeasured_s, unmeasured_reason, "
        "energy_kwh, cost_total_usd, cost_busy_usd, cost_idle_usd, cost_unmeasured_usd "
        "from main.fct_gpu_hours order by gpu_uuid, hour_at").fetchall()
    assert [(r[0], r[1].hour) for r in rows] == [("GPU-mig", 0), ("GPU-mig", 1), ("GPU-ok", 0), ("GPU-ok", 1)]
    for uuid, _, observed, busy, source, unmeasured_s, reason, kwh, total, busy_usd, idle, unmeasured in rows:
        assert observed == 3600 and kwh == pytest.approx(0.3, abs=1e-12)
        assert total == HOUR_COST
        if uuid == "GPU-mig":
            # before: least(null, 1.0) = 1.0 → 100 % busy, $0 idle
            assert (busy, source, unmeasured_s, reason) == (None, "unmeasured", 3600, "mig_mode_no_utilisation")
            assert (busy_usd, idle, unmeasured) == (None, None, HOUR_COST)
        else:
            assert busy == pytest.approx(0.4) and (source, unmeasured_s, reason) == ("sm_active", 0, None)
            assert idle == (HOUR_COST * Decimal("0.6")).quantize(Decimal("1e-10"))
            assert busy_usd + idle == HOUR_COST and unmeasured == 0
    busy, idle, unmeasured, total = warehouse.execute(
        "select sum(cost_busy_usd), sum(cost_idle_usd), sum(cost_unmeasured_usd), sum(cost_total_usd) "
        "from main.fct_gpu_hours").fetchone()
    assert total == 4 * HOUR_COST and unmeasured == 2 * HOUR_COST
    assert busy + idle + unmeasured == total


def test_owned_gpu_focus_line_shows_the_unmeasured_part(warehouse):
    billed, details = warehouse.execute(
        "select BilledCost, SkuPriceDetails from main.focus_costs where x_source_type = 'onprem_gpu'").fetchone()
    d = json.loads(details)
    assert billed == 4 * HOUR_COST
    assert Decimal(str(d["cost_unmeasured_usd"])) == 2 * HOUR_COST
    assert Decimal(str(d["cost_idle_usd"])) == 2 * (HOUR_COST * Decimal("0.6")).quantize(Decimal("1e-10"))


def test_request_on_an_unmeasured_gpu_has_no_busy_only_cost(warehouse):
    rows = dict((r[0], r[1:]) for r in warehouse.execute(
        "select task_id, cost_usd, cost_busy_only_usd, cost_idle_usd, cost_unmeasured_usd "
        "from main.fct_cost_per_query order by task_id").fetchall())
    # each request is alone in its GPU-hour: share 1 of the hour's cost
    assert rows["task-ok"][0] == HOUR_COST and rows["task-ok"][3] == 0
    assert rows["task-ok"][2] == (HOUR_COST * Decimal("0.6")).quantize(Decimal("1e-10"))
    assert rows["task-ok"][1] + rows["task-ok"][2] == HOUR_COST
    # unknown stays unknown: neither busy (before: busy-only = fully loaded) nor idle
    assert rows["task-mig"] == (HOUR_COST, None, None, HOUR_COST)


def test_allocation_adds_up_with_an_unallocated_line(warehouse):
    lines = warehouse.execute(
        "select cluster, allocation, application, gpu_hours, requests, cost_usd, cost_idle_usd, cost_unmeasured_usd "
        "from main.fct_gpu_cost_allocation order by allocation").fetchall()
    six_tenths = (HOUR_COST * Decimal("0.6")).quantize(Decimal("1e-10"))
    assert lines == [
        ("default", "allocated", "internal-chat", 2.0, 2, 2 * HOUR_COST, six_tenths, HOUR_COST),
        ("default", "unallocated idle", "unattributed", 2.0, 0, 2 * HOUR_COST, six_tenths, HOUR_COST),
    ]
