"""Real GPU telemetry: the Alibaba GenAI serving trace (GenTD26; 143 pods, ~23 h of ~57 s duty-cycle
samples) loaded by `aispend run` (conftest.real_run) as a `gpu_telemetry` source (option format:
alibaba_gentd26) into fct_gpu_hours of the published warehouse, the run's only GPU source. The
fleet's mean duty cycle is computed independently from the CSV inside the tar.gz; with ~7 % busy,
idle time must be most of the owned-GPU cost.
"""
from __future__ import annotations

import csv
import io
import tarfile

import pytest

from real_data import GENTD26 as TRACE


def _independent_duty(shared_data) -> tuple[int, int, float, float, int]:
    """(samples, pods, Σ value / n in %, interval-weighted busy fraction as the dbt model weighs it:
    each interval takes its end sample's value, gaps bounded at 3 × the pod's median interval; GPU-hours with an
    interval)."""
    with tarfile.open(shared_data / TRACE / "pod_gpu_duty_cycle_anon.tar.gz") as tf:
        f = tf.extractfile(tf.getmembers()[0])
        rows = [(r["container_ip"], float(r["timestamp_anon"]), float(r["value"]))
                for r in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))]
    by_pod: dict[str, list[tuple[float, float]]] = {}
    for pod, t, v in rows:
        by_pod.setdefault(pod, []).append((t, v))
    busy = seconds = 0.0
    gpu_hours = set()
    for pod, series in by_pod.items():
        series.sort()
        gaps = sorted(b[0] - a[0] for a, b in zip(series, series[1:]))
        nominal = (gaps[(len(gaps) - 1) // 2] + gaps[len(gaps) // 2]) / 2
        for (t0, _), (t1, v) in zip(series, series[1:]):
            s = min(t1 - t0, 3 * nominal)
            busy += v / 100 * s
            gpu_hours.add((pod, int(t0 // 3600)))
            seconds += s
    return len(rows), len(by_pod), sum(v for _, _, v in rows) / len(rows), busy / seconds, len(gpu_hours)


@pytest.fixture(scope="module")
def built(real_run):
    con = real_run.connect()
    yield con
    con.close()


def test_trace_read_whole(built, shared_data):
    n, pods, _, _, _ = _independent_duty(shared_data)
    rows, gpus, no_power, with_memory = built.execute(
        "select count(*), count(distinct gpu_uuid), count(*) filter (where power_w is null), count(mem_used_bytes) "
        "from stg_gpu_telemetry__samples").fetchone()
    assert (rows, n, pods) == (157_417, 157_417, 143)
    assert gpus == 143
    assert no_power == rows and with_memory > 0


def test_fleet_duty_cycle_and_idle_cost(built, shared_data):
    con = built
    _, _, sample_mean, weighted, gpu_hours = _independent_duty(shared_data)
    assert sample_mean == pytest.approx(7.0252, abs=1e-4)  # % (SOURCE.md: 7.0 %)
    busy, observed, total, idle, energy, modelled, sources, hours = con.execute(
        "select sum(busy_fraction * observed_s) / sum(observed_s), sum(observed_s), sum(cost_total_usd), "
        "sum(cost_idle_usd), sum(energy_kwh), sum(energy_modelled_s), string_agg(distinct busy_source), "
        "count(*) from fct_gpu_hours").fetchone()
    # the mart's fleet busy fraction is the interval-weighted mean computed above, and ≈ 7 %
    assert busy == pytest.approx(weighted, rel=1e-9)
    assert busy == pytest.approx(sample_mean / 100, abs=0.002)
    assert sources == "gpu_util" and modelled == pytest.approx(observed)  # no power in the trace: modelled
    # no power in the trace: energy modelled from the A100 seed (idle 50 W, TDP 400 W) and busy time
    assert energy == pytest.approx((50 + 350 * busy) * observed / 3.6e6, rel=1e-9)
    assert float(idle) / float(total) == pytest.approx(1 - busy, abs=0.01)
    assert float(idle) / float(total) > 0.9  # idle is most of the cost
    assert hours == gpu_hours  # one row per pod × hour with an interval starting in it
