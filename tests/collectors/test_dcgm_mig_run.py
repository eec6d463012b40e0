"""DCGM-exporter scrapes of a MIG-enabled 8-GPU A800 host, through `aispend run` (the user's path).

The scrapes are written here in the documented shape of dcgm-exporter's `/metrics` (Prometheus text,
labels gpu / UUID / pci_bus_id / device / modelName / Hostname / DCGM_FI_DRIVER_VERSION, and on MIG
series GPU_I_PROFILE / GPU_I_ID) under its default counters (etc/default-counters.csv of
dcgm-exporter 3.x/4.x): DCGM_FI_PROF_GR_ENGINE_ACTIVE enabled, DCGM_FI_PROF_SM_ACTIVE commented out,
no DCGM_FI_DEV_FB_TOTAL / FB_RESERVED; MIG GPUs report no GPU_UTIL / MEM_COPY_UTIL, their
framebuffer per GPU instance and the device-level fields (power, energy, clocks, temperatures)
repeated on every instance. One VGPU_PER_PROCESS_UTILIZATION sample carries the text real exporters
print for a field they cannot render ("ERROR - FAILED TO CONVERT TO STRING").

61 scrapes a minute apart (10:00 … 11:00 UTC) → 60 one-minute intervals in hour 10 per GPU.
Expected figures are computed by hand below from the fixture's constants and the seeds
(gpu_models A800: 16000 + 10000 server share over 5 years; sites 'default': 0.0834 $/kWh, PUE 1.56,
no colo, ops 150 $/GPU-month; hours_per_month 730).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import duckdb
import pytest

from pipelines.cli import main

HOST = "a800-node-01"
MODEL = "NVIDIA A800-SXM4-80GB"
T0 = int(datetime(2026, 11, 10, 10, tzinfo=timezone.utc).timestamp())
SCRAPES = 61
ERROR_TEXT = "ERROR - FAILED TO CONVERT TO STRING"

# gpu index → (power W, non-MIG (gr_engine_active ratio, gpu_util %, FB used MiB, FB free MiB)
#               or MIG [(profile, GPU_I_ID, gr_engine_active ratio, FB used MiB, FB free MiB)])
GPUS: dict[int, tuple[float, object]] = {
    0: (300.0, (0.50, 80, 40_000, 41_251)),
    1: (200.0, (0.25, 40, 10_000, 71_251)),
    2: (90.0, (0.00, 0, 0, 81_251)),
    3: (400.0, (1.00, 100, 80_000, 1_251)),
    4: (250.0, [("3g.40gb", 1, 0.70, 30_000, 10_192), ("2g.20gb", 5, 0.35, 5_000, 14_968),
                ("1g.10gb", 13, 0.00, 0, 9_728)]),
    5: (300.0, [("7g.80gb", 0, 0.60, 60_000, 20_384)]),
    6: (150.0, [("4g.40gb", 2, 0.50, 20_000, 20_192), ("3g.40gb", 1, 0.00, 1_000, 39_192)]),
    7: (120.0, [("1g.10gb", gi, 0.70 if gi == 7 else 0.0, 9_000 if gi == 7 else 0, 728 if gi == 7 else 9_728)
                for gi in range(7, 14)]),
}

# Hand-computed: memory of a GPU = Σ over its series of FB_USED + FB_FREE (MiB)
MEMORY_MIB = {0: 81_251, 1: 81_251, 2: 81_251, 3: 81_251,
              4: 40_192 + 19_968 + 9_728,        # 69,888 (3g + 2g + 1g instances)
              5: 80_384,
              6: 40_192 + 40_192,                # 80,384
              7: 7 * 9_728}                      # 68,096
# busy = Σ slices × GR_ENGINE_ACTIVE / 7 over a MIG GPU's instances; the ratio itself otherwise
BUSY = {0: 0.5, 1: 0.25, 2: 0.0, 3: 1.0,
        4: (3 * 0.70 + 2 * 0.35 + 1 * 0.0) / 7,  # 0.4
        5: 7 * 0.60 / 7,                         # 0.6
        6: 4 * 0.50 / 7,                         # 0.2857142857…
        7: 1 * 0.70 / 7}                         # 0.1

CAPEX = Decimal("0.5936073059")  # (16000 + 10000) / (5 × 8760), rounded to 1e-10 as stored
OPS = Decimal("0.2054794521")    # 150 / 730


def _hour_cost(power_w: float) -> Decimal:
    kwh = Decimal(str(power_w)) / 1000  # power_w W for 3600 s
    energy = (kwh * Decimal("0.0834")).quantize(Decimal("1e-10"))
    facility = (kwh * Decimal("0.56") * Decimal("0.0834")).quantize(Decimal("1e-10"))
    return CAPEX + energy + facility + OPS


def _labels(g: int, mig: tuple | None = None) -> str:
    lab = (f'gpu="{g}",UUID="GPU-a800-{g}",pci_bus_id="00000000:{0x18 + g:02X}:00.0",device="nvidia{g}",'
           f'modelName="{MODEL}"')
    if mig:
        lab += f',GPU_I_PROFILE="{mig[0]}",GPU_I_ID="{mig[1]}"'
    return lab + f',Hostname="{HOST}",DCGM_FI_DRIVER_VERSION="535.183.06"'


def _scrape(k: int, bad_used_value: bool = False) -> list[str]:
    """One /metrics page at T0 + 60 k s, grouped by metric family as the exporter prints it."""
    fam: dict[str, list[str]] = {}

    def put(metric: str, labels: str, value) -> None:
        fam.setdefault(metric, []).append(f"DCGM_FI_{metric}{{{labels}}} {value}")

    for g, (power, layout) in GPUS.items():
        series = [(None, layout)] if isinstance(layout, tuple) else [((p, gi), (ge, None, u, f))
                                                                     for p, gi, ge, u, f in layout]
        for mig, (gract, util, used, free) in series:
            lab = _labels(g, mig)
            # device-level fields: the same value on every series of the GPU
            put("DEV_SM_CLOCK", lab, 1410)
            put("DEV_MEM_CLOCK", lab, 1593)
            put("DEV_MEMORY_TEMP", lab, 41)
            put("DEV_GPU_TEMP", lab, 35 + g)
            put("DEV_POWER_USAGE", lab, f"{power:.3f}")
            put("DEV_TOTAL_ENERGY_CONSUMPTION", lab, 9_000_000_000 + int(power * 60_000) * k)  # mJ
            put("DEV_PCIE_REPLAY_COUNTER", lab, 0)
            if mig is None:  # MIG GPUs report no utilisation
                util_text = ERROR_TEXT if bad_used_value and g == 2 and k == 1 else util
                put("DEV_GPU_UTIL", lab, util_text)
                put("DEV_MEM_COPY_UTIL", lab, util // 2)
                put("DEV_ENC_UTIL", lab, 0)
                put("DEV_DEC_UTIL", lab, 0)
            put("DEV_XID_ERRORS", lab, 0)
            put("DEV_FB_FREE", lab, free)
            put("DEV_FB_USED", lab, used)
            put("DEV_NVLINK_BANDWIDTH_TOTAL", lab, 0)
            put("DEV_VGPU_LICENSE_STATUS", lab, 0)
            put("DEV_UNCORRECTABLE_REMAPPED_ROWS", lab, 0)
            put("DEV_CORRECTABLE_REMAPPED_ROWS", lab, 0)
            put("DEV_ROW_REMAP_FAILURE", lab, 0)
            put("PROF_GR_ENGINE_ACTIVE", lab, f"{gract:.6f}")
            put("PROF_PIPE_TENSOR_ACTIVE", lab, f"{gract / 2:.6f}")
            put("PROF_DRAM_ACTIVE", lab, f"{gract / 3:.6f}")
            put("PROF_PCIE_TX_BYTES", lab, 1_000_000)
            put("PROF_PCIE_RX_BYTES", lab, 2_000_000)
    if k == 0:  # a field enabled in a custom counters file, unconvertible as the exporter prints it
        put("DEV_VGPU_PER_PROCESS_UTILIZATION", _labels(0), ERROR_TEXT)
    lines = [f"# TS {T0 + 60 * k}"]
    for metric, samples in fam.items():
        kind = "counter" if metric.endswith(("_CONSUMPTION", "_COUNTER", "_TOTAL", "_ROWS")) else "gauge"
        lines += [f"# HELP DCGM_FI_{metric} {metric.lower().replace('_', ' ')}.",
                  f"# TYPE DCGM_FI_{metric} {kind}", *samples]
    return lines


def _write_scrapes(root, bad_used_value: bool = False):
    """All 61 scrapes appended to one file, each after a `# TS` line (the documented many-scrapes layout)."""
    d = root / "dcgm" / HOST
    d.mkdir(parents=True)
    f = d / "scrapes-20261110.prom"
    f.write_text("\n".join(line for k in range(SCRAPES) for line in _scrape(k, bad_used_value)) + "\n")
    return f


def _config(root) -> str:
    cfg = root / "aispend.yaml"
    cfg.write_text(f"home: {root / 'home'}\nstart_date: 2026-11-10\nsources:\n"
                   f"  - {{name: dcgm, type: dcgm_metrics, uri: {root / 'dcgm'}}}\n")
    return str(cfg)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("dcgm_mig")
    _write_scrapes(root)
    assert main(["run", "--config", _config(root), "--home", str(root / "home"), "--end", "2026-11-10"]) == 0
    con = duckdb.connect(str(root / "home" / "warehouse" / "aispend.duckdb"), read_only=True)
    yield con
    con.close()


def test_mig_framebuffer_is_summed_over_instances(warehouse):
    rows = warehouse.execute(
        "select gpu_index, count(*), min(mem_total_bytes), max(mem_total_bytes), bool_and(is_mig_mode), "
        "max(gpu_name) from main.stg_gpu_telemetry__samples group by gpu_index order by gpu_index").fetchall()
    assert [r[0] for r in rows] == list(range(8)) and all(r[1] == SCRAPES for r in rows)
    assert {r[0]: r[2] // 2**20 for r in rows} == MEMORY_MIB  # before: GPU 4 read 45,034 MiB (free slice-averaged)
    assert all(r[2] == r[3] for r in rows) and all(r[5] == MODEL for r in rows)
    assert [r[4] for r in rows] == [False] * 4 + [True] * 4


def test_gr_engine_active_is_the_busy_signal_and_a800_is_priced(warehouse):
    rows = warehouse.execute(
        "select gpu_index, gpu_model, observed_s, busy_fraction, busy_source, unmeasured_s, unmeasured_reason, "
        "energy_kwh, cost_capex_usd, cost_ops_usd, cost_total_usd, cost_idle_usd, cost_busy_usd, "
        "cost_unmeasured_usd, unparsed_values, hour_at from main.fct_gpu_hours order by gpu_index").fetchall()
    assert [r[0] for r in rows] == list(range(8))  # one GPU-hour each
    for (g, model, observed, busy, source, unmeasured_s, reason, kwh, capex, ops, total, idle, busy_usd,
         unmeasured, unparsed, hour_at) in rows:
        power = GPUS[g][0]
        assert hour_at == datetime(2026, 11, 10, 10, tzinfo=timezone.utc)
        assert (model, observed, source, unmeasured_s, reason) == ("A800", 3600, "gr_engine_active", 0, None)
        # before: MIG GPUs 4-7 had no busy reading at all (unmeasured); GPUs 0-3 read GPU_UTIL
        assert busy == pytest.approx(BUSY[g], abs=1e-12)
        assert kwh == pytest.approx(power / 1000, abs=1e-12)
        assert (capex, ops) == (CAPEX, OPS)
        assert total == _hour_cost(power)
        assert float(idle) == pytest.approx(float(total) * (1 - BUSY[g]), abs=1e-9)
        assert busy_usd + idle == total and unmeasured == 0
        assert unparsed == (1 if g == 0 else 0)  # the one VGPU_PER_PROCESS_UTILIZATION sample, skipped
    total = warehouse.execute("select sum(cost_total_usd) from main.fct_gpu_hours").fetchone()[0]
    assert total == sum(_hour_cost(p) for p, _ in GPUS.values())


def test_unparseable_value_of_a_metric_aispend_reads_fails_naming_file_and_line(tmp_path, capsys):
    f = _write_scrapes(tmp_path, bad_used_value=True)
    lines = f.read_text().splitlines()
    line = next(i for i, s in enumerate(lines, 1) if ERROR_TEXT in s and s.startswith("DCGM_FI_DEV_GPU_UTIL"))
    assert main(["run", "--config", _config(tmp_path), "--home", str(tmp_path / "home"), "--end", "2026-11-10"]) != 0
    err = capsys.readouterr().err
    assert f"dcgm_metrics: {f}:{line}: value '{ERROR_TEXT}' is not a number (DCGM_FI_DEV_GPU_UTIL" in err
    assert not (tmp_path / "home" / "warehouse" / "aispend.duckdb").exists()
