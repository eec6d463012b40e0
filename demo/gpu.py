"""On-prem GPU host: NVML collector files (format v1) and the model server's request log.

The two are generated together so they agree: requests to `meta-llama/Llama-3.1-70B-Instruct`
(app `internal-chat`) arrive as a Poisson process with a diurnal x weekday rate (~0.15 req/s
on average), are served by one of two vLLM-style replicas (tensor parallel over GPUs 0-3 and
4-7 of `gpu-node-01`), and a GPU's utilisation in each 10 s sample is the fraction of that
window in which its replica had at least one request in flight. SM/tensor activity (GPM) grow
with the batch size (concurrent requests); power follows SM activity between ~70 W idle and
the 700 W limit of an H100 SXM; the energy counter (mJ) is the running integral of power;
temperature follows power; memory stays at vLLM's preallocation (~90 % of 80 GB).

Near-idle week (2026-10-26 .. 2026-11-01): traffic drops to 2.5 % (the app was moved to a
new region for a migration test), so utilisation is ~2 % and power sits near idle.

Collector format v1 (hourly gzip JSON lines per host, `gpu/<host>/YYYY-MM-DD/<host>-YYYYMMDDTHH.jsonl.gz`):
line 1 `{"record":"meta",...}`, then `{"record":"process",...}` lines (one per GPU process at
the start of the hour), then `{"record":"gpu",...}` every 10 s per GPU.
Request log (`selfhosted/requests-YYYY-MM-DD.jsonl`): contracts.md native line format.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from ._common import (
    GPU_HOST,
    GPU_NAME,
    IDLE_END,
    IDLE_START,
    SELF_HOSTED_MODEL,
    Window,
    child_rng,
    day_start,
    diurnal,
    stable_id,
)

N_GPUS = 8
INTERVAL_S = 10
MEM_TOTAL = 85_520_809_984  # 81559 MiB as NVML reports for H100 80GB HBM3
POWER_LIMIT_W = 700.0
IDLE_POWER_W = 72.0
DRIVER, NVML_VERSION, COLLECTOR_VERSION = "550.90.07", "12.550.90.07", "0.1.0"
BASE_RATE = 0.30  # req/s at the diurnal peak on a weekday (mean over the month ~0.15)
IDLE_TRAFFIC = 0.025


def gpu_uuids() -> list[str]:
    out = []
    for i in range(N_GPUS):
        h = stable_id("gpu-uuid", GPU_HOST, i, n=32)
        out.append(f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}")
    return out


def _requests(rng: np.random.Generator, t0: int, ndays: int, first_day: date) -> dict:
    """Poisson arrivals per second with a diurnal x weekday x idle-week rate."""
    n_sec = ndays * 86400
    sec = np.arange(n_sec)
    day_idx = sec // 86400
    days = [first_day + timedelta(days=int(i)) for i in range(ndays)]
    day_factor = np.array([(0.45 if d.weekday() >= 5 else 1.0)
                           * (IDLE_TRAFFIC if IDLE_START <= d <= IDLE_END else 1.0) for d in days])
    rate = BASE_RATE * diurnal((sec % 86400) / 3600.0) * day_factor[day_idx]
    counts = rng.poisson(rate)
    arr_sec = np.repeat(sec, counts)
    n = arr_sec.size
    arrival = t0 + arr_sec + np.round(rng.random(n), 3)
    prompt = np.clip(rng.lognormal(np.log(900), 0.8, n), 16, 32000).astype(np.int64)
    completion = np.clip(rng.lognormal(np.log(260), 0.7, n), 1, 4096).astype(np.int64)
    status_err = rng.random(n) < 0.003
    completion[status_err] = 0
    # TTFT (prefill ~8k tok/s) + decode at ~32 tok/s per sequence, plus queueing jitter
    duration = 0.04 + prompt / 8000.0 + completion / 32.0
    duration *= rng.lognormal(0, 0.1, n)
    finished = np.round(arrival + duration, 3)
    replica = rng.integers(0, 2, n)
    # ~35 % of requests belong to multi-turn tasks carrying x-task-id
    has_task = rng.random(n) < 0.35
    idx = np.nonzero(has_task)[0]
    sizes = rng.geometric(0.45, size=max(1, idx.size))
    group = np.repeat(np.arange(sizes.size), sizes)[: idx.size]
    n_groups = int(group.max()) + 1 if idx.size else 0
    hexes = rng.bytes(8 * n_groups).hex()
    task_names = [f"task-{hexes[16 * g:16 * g + 16]}" for g in range(n_groups)]
    task_id = np.full(n, None, dtype=object)
    task_id[idx] = [task_names[g] for g in group]
    rid_hex = rng.bytes(12 * n).hex()
    request_id = [f"cmpl-{rid_hex[24 * i:24 * i + 24]}" for i in range(n)]
    return {"arrival": arrival, "finished": finished, "prompt": prompt, "completion": completion,
            "error": status_err, "replica": replica, "task_id": task_id,
            "request_id": request_id}


def _occupancy(req: dict, t0: int, n_sec: int) -> tuple[np.ndarray, np.ndarray]:
    """Busy fraction and mean concurrency per 10 s bin, per replica: shape (bins, 2)."""
    nb = n_sec // INTERVAL_S
    busy = np.zeros((nb, 2))
    conc = np.zeros((nb, 2))
    for r in range(2):
        m = req["replica"] == r
        s = np.floor(req["arrival"][m] - t0).astype(np.int64)
        e = np.ceil(req["finished"][m] - t0).astype(np.int64)
        diff = np.zeros(n_sec + 1, dtype=np.int64)
        np.add.at(diff, np.clip(s, 0, n_sec), 1)
        np.add.at(diff, np.clip(e, 0, n_sec), -1)
        active = np.cumsum(diff)[:n_sec]
        busy[:, r] = (active > 0).reshape(nb, INTERVAL_S).mean(axis=1)
        conc[:, r] = active.reshape(nb, INTERVAL_S).mean(axis=1)
    return busy, conc


def _gpu_frame(rng: np.random.Generator, t0: int, busy: np.ndarray, conc: np.ndarray,
               uuids: list[str]) -> tuple[pl.DataFrame, dict]:
    nb = busy.shape[0]
    rep = np.arange(N_GPUS) // 4
    b = busy[:, rep]  # (nb, 8)
    c = np.minimum(conc[:, rep], 6.0) / 6.0
    noise = lambda s: rng.normal(0, s, (nb, N_GPUS))  # noqa: E731
    util = np.clip(100 * b * rng.uniform(0.93, 1.0, (nb, N_GPUS)) + np.abs(noise(0.3)), 0, 100)
    sm = np.clip(b * (26 + 36 * c) + noise(1.0) * (b > 0), 0, 100)
    tensor = np.clip(sm * 0.55 + noise(0.5) * (b > 0), 0, 100)
    util_mem = np.clip(b * (30 + 32 * c) + noise(1.0) * (b > 0), 0, 100)
    power = np.clip(IDLE_POWER_W + 9.0 * sm + noise(3.0), 60.0, POWER_LIMIT_W)
    temp = 29.0 + 0.058 * power + np.arange(N_GPUS) * 0.6 + noise(0.5)
    clock = np.where(b > 0, np.round((1410 + 570 * np.minimum(1, b * 3)) / 15) * 15, 345.0)
    mem_used = (MEM_TOTAL * 0.9 + rng.integers(-50, 50, (nb, N_GPUS)) * 2**20).astype(np.int64)
    # energy counter since driver load (3.5 days before the first sample at idle power)
    offset = (IDLE_POWER_W * 3.5 * 86400 * 1000 * rng.uniform(0.9, 1.1, N_GPUS)).astype(np.int64)
    power_r = np.round(power, 1)
    energy = offset + np.cumsum(np.round(power_r * INTERVAL_S * 1000).astype(np.int64), axis=0)
    ts = t0 + INTERVAL_S * (np.arange(nb) + 1)  # sample taken at the end of its window
    n = nb * N_GPUS
    df = pl.DataFrame({
        "record": pl.repeat("gpu", n, eager=True),
        "ts": pl.Series(np.repeat(ts, N_GPUS) * 1_000_000).cast(pl.Datetime("us", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": pl.repeat(GPU_HOST, n, eager=True),
        "gpu_uuid": pl.Series(uuids * nb),
        "gpu_index": np.tile(np.arange(N_GPUS, dtype=np.int32), nb),
        "name": pl.repeat(GPU_NAME, n, eager=True),
        "util_gpu_pct": np.round(util, 1).ravel(),
        "util_mem_pct": np.round(util_mem, 1).ravel(),
        "mem_used_bytes": mem_used.ravel(),
        "mem_total_bytes": np.full(n, MEM_TOTAL, dtype=np.int64),
        "power_w": power_r.ravel(),
        "power_limit_w": np.full(n, POWER_LIMIT_W),
        "energy_mj": energy.ravel(),
        "temp_c": np.round(temp).ravel(),
        "sm_clock_mhz": clock.ravel(),
        "gpm_sm_activity_pct": np.round(sm, 1).ravel(),
        "gpm_tensor_activity_pct": np.round(tensor, 1).ravel(),
        "mig_mode": np.zeros(n, dtype=bool),
        "driver_version": pl.repeat(DRIVER, n, eager=True),
        "nvml_version": pl.repeat(NVML_VERSION, n, eager=True),
        "collector_version": pl.repeat(COLLECTOR_VERSION, n, eager=True),
    })
    stats = {"util": util.mean(axis=1), "power": power.mean(axis=1)}
    return df, stats


def _meta_line(uuids: list[str], hour_ts: int) -> str:
    from datetime import datetime, timezone
    return json.dumps({
        "record": "meta", "format": "aispend-gpu-collector", "format_version": 1,
        "host": GPU_HOST, "file_start": datetime.fromtimestamp(hour_ts, timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"), "interval_s": INTERVAL_S,
        "collector_version": COLLECTOR_VERSION, "driver_version": DRIVER,
        "nvml_version": NVML_VERSION, "cuda_driver_version": 12040,
        "gpus": [{"index": i, "uuid": u, "name": GPU_NAME, "mem_total_bytes": MEM_TOTAL,
                  "power_limit_w": POWER_LIMIT_W, "gpm_supported": True, "mig_mode": False}
                 for i, u in enumerate(uuids)],
    }, separators=(",", ":"))


def _process_lines(uuids: list[str], hour_ts: int) -> str:
    from datetime import datetime, timezone
    ts = datetime.fromtimestamp(hour_ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    for i, u in enumerate(uuids):
        r = i // 4
        lines.append(json.dumps({
            "record": "process", "ts": ts, "host": GPU_HOST, "gpu_uuid": u, "pid": 48210 + i,
            "used_memory_bytes": int(MEM_TOTAL * 0.9) - 512 * 2**20,
            "container": f"vllm-llama-3-1-70b-{r}",
            "cgroup": f"/kubepods.slice/kubepods-pod{stable_id('pod', r, n=8)}.slice",
            "unit": None, "pod": f"inference/vllm-llama-3-1-70b-{r}",
        }, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def build_and_write(seed: int, window: Window, out_dir: Path, *, gpu_days: int) -> dict:
    """Write collector files and request logs for the last `gpu_days` days of the window."""
    rng = child_rng(seed, "gpu")
    first_day = window.end - timedelta(days=gpu_days - 1)
    t0 = int(day_start(first_day).timestamp())
    n_sec = gpu_days * 86400
    uuids = gpu_uuids()
    req = _requests(rng, t0, gpu_days, first_day)
    busy, conc = _occupancy(req, t0, n_sec)
    df, stats = _gpu_frame(rng, t0, busy, conc, uuids)

    rows_per_hour = 3600 // INTERVAL_S * N_GPUS
    gpu_root = out_dir / "gpu" / GPU_HOST
    jobs = []
    for h in range(gpu_days * 24):
        hour_ts = t0 + h * 3600
        d = first_day + timedelta(days=h // 24)
        path = gpu_root / d.isoformat() / f"{GPU_HOST}-{d:%Y%m%d}T{h % 24:02d}.jsonl.gz"
        jobs.append((path, hour_ts, h * rows_per_hour))
    for d in {p.parent for p, _, _ in jobs}:
        d.mkdir(parents=True, exist_ok=True)

    def write_hour(job: tuple[Path, int, int]) -> None:
        path, hour_ts, off = job
        body = df.slice(off, rows_per_hour).write_ndjson()
        text = _meta_line(uuids, hour_ts) + "\n" + _process_lines(uuids, hour_ts) + body
        path.write_bytes(gzip.compress(text.encode(), compresslevel=1, mtime=0))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write_hour, jobs))

    # model-server request log, one file per UTC day
    sh_root = out_dir / "selfhosted"
    sh_root.mkdir(parents=True, exist_ok=True)
    gpus_of = [uuids[:4], uuids[4:]]
    n = req["arrival"].size
    log = pl.DataFrame({
        "request_id": req["request_id"],
        "arrival_time": req["arrival"],
        "finished_time": req["finished"],
        "model": pl.repeat(SELF_HOSTED_MODEL, n, eager=True),
        "prompt_tokens": req["prompt"],
        "completion_tokens": req["completion"],
        "status": np.where(req["error"], "error", "ok"),
        "host": pl.repeat(GPU_HOST, n, eager=True),
        "gpus": pl.Series([gpus_of[r] for r in req["replica"]], dtype=pl.List(pl.String)),
        "headers": pl.DataFrame({
            "x-task-id": pl.Series(list(req["task_id"]), dtype=pl.String),
            "x-application": pl.repeat("internal-chat", n, eager=True),
        }).to_struct(),
    })
    day_of = ((req["arrival"] - t0) // 86400).astype(np.int64)
    bounds = np.searchsorted(day_of, np.arange(gpu_days + 1))
    req_counts = {}
    for i in range(gpu_days):
        d = first_day + timedelta(days=i)
        part = log.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
        (sh_root / f"requests-{d.isoformat()}.jsonl").write_text(part.write_ndjson())
        req_counts[d.isoformat()] = part.height

    # facts for the manifest
    bins_per_day = 86400 // INTERVAL_S
    day_util = stats["util"].reshape(gpu_days, bins_per_day).mean(axis=1)
    day_power = stats["power"].reshape(gpu_days, bins_per_day).mean(axis=1)
    idle = np.array([IDLE_START <= first_day + timedelta(days=i) <= IDLE_END
                     for i in range(gpu_days)])
    facts = {
        "first_day": first_day.isoformat(), "gpu_rows": df.height, "gpu_files": len(jobs),
        "requests": int(n), "requests_with_task_id": int(sum(t is not None for t in req["task_id"])),
        "mean_util_pct": round(float(day_util.mean()), 2),
        "mean_util_pct_outside_idle_week": round(float(day_util[~idle].mean()), 2)
        if (~idle).any() else None,
        "idle_week_mean_util_pct": round(float(day_util[idle].mean()), 2) if idle.any() else None,
        "idle_week_mean_power_w": round(float(day_power[idle].mean()), 1) if idle.any() else None,
        "mean_power_w_outside_idle_week": round(float(day_power[~idle].mean()), 1)
        if (~idle).any() else None,
        "energy_kwh_total": round(float(stats["power"].sum() * N_GPUS * INTERVAL_S / 3.6e6), 1),
        "gpu_uuids": uuids,
        "requests_per_day": req_counts,
    }
    return facts
