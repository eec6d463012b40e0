"""GPU collector against a fake NVML (only the pynvml boundary is faked; errors are pynvml's real classes).

In-process scenarios drive ``Collector`` cycle by cycle; the subprocess tests run the real
``aispend-gpu-collector`` entry point, stop it with SIGTERM and read its files back with the
ingestion connector ``connectors.gpu_telemetry``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pynvml
import pytest

import fake_pynvml
from collectors.gpu_collector import AlreadyRunning, Collector, resolve_cgroup
from connectors.gpu_telemetry import read_samples

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def gpu(uuid: str, **kw) -> dict:
    return {"uuid": uuid, **kw}


def run_cycles(tmp_path: Path, scenario: dict, n: int, **kw) -> tuple[Collector, list[dict]]:
    fake_pynvml.configure(scenario)
    c = Collector(fake_pynvml, tmp_path, host="node-a", interval=10, process_interval=kw.pop("process_interval", 60),
                  max_disk_mb=kw.pop("max_disk_mb", 100), flush_interval=0, **kw)
    c.prime()
    for k in range(n):
        ts = T0 + 10 * (k + 1)
        c.write(ts, c.sample(ts))
    c.shutdown()
    return c, records(tmp_path)


def records(root: Path) -> list[dict]:
    out = []
    for f in sorted(root.rglob("*.jsonl.gz")):
        out.extend(json.loads(line) for line in gzip.open(f, "rt"))
    return out


def of(recs, kind):
    return [r for r in recs if r["record"] == kind]


def test_basic_fields_versions_and_gpm(tmp_path):
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a", power_mw=312_500, temp=51, gpm_sm=40.0),
                                            gpu("GPU-b", gpm=False)]}, 3)
    meta = of(recs, "meta")
    assert len(meta) == 1 and recs[0]["record"] == "meta"
    assert meta[0]["driver_version"] == "550.90.07" and meta[0]["nvml_version"] == "12.550.90.07"
    assert meta[0]["nvml_py_version"] == pynvml_version()
    g = of(recs, "gpu")
    assert len(g) == 6
    a = [r for r in g if r["gpu_uuid"] == "GPU-a"]
    assert [r["energy_mj"] for r in a] == [1_000_000_000 + 3_125_000 * k for k in (1, 2, 3)]
    assert a[0]["power_w"] == 312.5 and a[0]["power_limit_w"] == 700.0 and a[0]["temp_c"] == 51.0
    assert a[0]["sm_clock_mhz"] == 1980.0 and a[0]["util_gpu_pct"] == 50.0 and a[0]["mig_mode"] is False
    # GPM: window between two samples; tensor = half of SM in the fake
    assert ((a[0]["gpm_sm_activity_pct"], a[0]["gpm_tensor_activity_pct"], a[0]["gpm_sm_occupancy_pct"])
            == (40.0, 20.0, 30.0))
    b = [r for r in g if r["gpu_uuid"] == "GPU-b"]
    assert all(r["gpm_sm_activity_pct"] is None for r in b)
    assert all(r["driver_version"] == "550.90.07" and r["nvml_py_version"] == pynvml_version() for r in g)


def pynvml_version():
    from importlib.metadata import version
    return version("nvidia-ml-py")


def test_mig_power_and_energy_once_per_physical_gpu(tmp_path):
    migs = [{"uuid": f"MIG-{k}", "gi": k + 1, "ci": 0, "mem_total": 10 * 2**30, "mem_used": k * 2**30}
            for k in range(3)]
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-m", mig=migs, power_mw=400_000), gpu("GPU-n")]}, 2)
    g = of(recs, "gpu")
    assert len(g) == 4  # one gpu record per physical GPU per cycle, MIG or not
    m = [r for r in g if r["gpu_uuid"] == "GPU-m"]
    assert all(r["mig_mode"] is True and r["mig_instances"] == 3 and r["power_w"] == 400.0 for r in m)
    mig = of(recs, "mig")
    assert len(mig) == 6 and {r["mig_uuid"] for r in mig} == {"MIG-0", "MIG-1", "MIG-2"}
    assert all("power_w" not in r and "energy_mj" not in r for r in mig)
    assert sorted(r["mem_used_bytes"] for r in mig if r["ts"] == mig[0]["ts"]) == [0, 2**30, 2 * 2**30]
    assert {(r["gpu_instance_id"], r["compute_instance_id"]) for r in mig} == {(1, 0), (2, 0), (3, 0)}
    # per-instance activity from GPM per GPU instance (first cycle has no window yet)
    assert [r["gpm_sm_activity_pct"] for r in mig] == [None, None, None, 10.0, 20.0, 30.0]
    assert [r["gpm_tensor_activity_pct"] for r in mig[3:]] == [5.0, 10.0, 15.0]


def test_unsupported_fields_null_and_logged_once(tmp_path, caplog):
    sc = {"gpus": [gpu("GPU-a", unsupported=["nvmlDeviceGetClockInfo", "nvmlDeviceGetTotalEnergyConsumption"],
                       no_permission=["nvmlDeviceGetEnforcedPowerLimit"]), gpu("GPU-b")]}
    with caplog.at_level(logging.WARNING, logger="aispend.gpu_collector"):
        _, recs = run_cycles(tmp_path, sc, 4)
    a = [r for r in of(recs, "gpu") if r["gpu_uuid"] == "GPU-a"]
    b = [r for r in of(recs, "gpu") if r["gpu_uuid"] == "GPU-b"]
    assert len(a) == 4 and all(r["sm_clock_mhz"] is None and r["energy_mj"] is None and r["power_limit_w"] is None
                               for r in a)
    assert all(r["power_w"] == 300.0 and r["temp_c"] == 45.0 for r in a)  # the others still there
    assert all(r["sm_clock_mhz"] == 1980.0 and r["energy_mj"] is not None for r in b)
    msgs = [r.getMessage() for r in caplog.records]
    for field, err in (("sm_clock_mhz", "NotSupported"), ("energy_mj", "NotSupported"),
                       ("power_limit_w", "NoPermission")):
        hits = [m for m in msgs if m.startswith(f"GPU-a: {field} unavailable") and err in m]
        assert len(hits) == 1, (field, msgs)
    assert not any(m.startswith("GPU-b") for m in msgs)


@pytest.mark.parametrize("at_handle", [False, True])
def test_gpu_lost_mid_run_others_continue(tmp_path, at_handle):
    # cycle 0 is the GPM prime; lost from the 3rd sample on
    x = gpu("GPU-x", lost_from_cycle=3, lost_at_handle=at_handle)
    c, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a"), x, gpu("GPU-c")]}, 5)
    g = of(recs, "gpu")
    assert sum(r["gpu_uuid"] == "GPU-x" for r in g) == 2
    assert sum(r["gpu_uuid"] == "GPU-a" for r in g) == 5 and sum(r["gpu_uuid"] == "GPU-c" for r in g) == 5
    st = of(recs, "status")
    assert len(st) == 1 and st[0]["gpu_uuid"] == "GPU-x" and st[0]["status"] == "lost"
    assert st[0]["error"] == "NVMLError_GpuIsLost"
    last = json.loads((tmp_path / "node-a" / "last_sample.json").read_text())
    assert last["gpus_lost"] == ["GPU-x"] and last["gpus"] == 2 and last["samples"] == 5


def test_gpu_lost_then_back(tmp_path):
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a"), gpu("GPU-x", lost_from_cycle=2, lost_until_cycle=4)]}, 5)
    assert sum(r["gpu_uuid"] == "GPU-x" for r in of(recs, "gpu")) == 3  # samples 1, 4, 5
    assert [(r["gpu_uuid"], r["status"], r["ts"][14:19]) for r in of(recs, "status")] == [
        ("GPU-x", "lost", "13:40"), ("GPU-x", "ok", "14:00")]


def test_gpu_lost_before_its_uuid_was_known(tmp_path):
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a"), gpu("GPU-x", lost_from_cycle=0, lost_at_handle=True)]}, 3)
    assert [r["gpu_uuid"] for r in of(recs, "gpu")] == ["GPU-a"] * 3
    assert [(r["gpu_uuid"], r["gpu_index"], r["status"]) for r in of(recs, "status")] == [(None, 1, "lost")]


def test_gpu_no_longer_enumerated_gets_one_missing_status(tmp_path):
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a"), gpu("GPU-b", gone_from_cycle=2)]}, 4)
    assert sum(r["gpu_uuid"] == "GPU-b" for r in of(recs, "gpu")) == 1
    assert sum(r["gpu_uuid"] == "GPU-a" for r in of(recs, "gpu")) == 4
    st = of(recs, "status")
    assert [(r["gpu_uuid"], r["status"]) for r in st] == [("GPU-b", "missing")]


def test_energy_counter_reset_recorded_as_is(tmp_path):
    _, recs = run_cycles(tmp_path, {"gpus": [gpu("GPU-a", energy_reset_at_cycle=3)]}, 5)
    assert [r["energy_mj"] for r in of(recs, "gpu")] == [1_003_000_000, 1_006_000_000, 0, 3_000_000, 6_000_000]


def test_uuid_order_changing_between_cycles(tmp_path):
    gpus = [gpu(f"GPU-{k}", power_mw=100_000 * (k + 1), temp=40 + k) for k in range(3)]
    _, recs = run_cycles(tmp_path, {"gpus": gpus, "rotate_order": True}, 4)
    g = of(recs, "gpu")
    assert len(g) == 12
    for r in g:  # every value follows its UUID wherever its index went
        k = int(r["gpu_uuid"][-1])
        assert r["power_w"] == 100.0 * (k + 1) and r["temp_c"] == 40 + k
    assert {r["gpu_index"] for r in g if r["gpu_uuid"] == "GPU-0"} == {0, 1, 2}
    # GPM windows pair samples of the same GPU (the fake refuses mixed pairs)
    assert all(r["gpm_sm_activity_pct"] == 40.0 for r in g)


def test_old_driver_falls_back(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="aispend.gpu_collector"):
        _, recs = run_cycles(tmp_path, {"old_driver": True, "driver": "470.57.02", "gpus": [gpu("GPU-a", temp=61)]}, 3)
    g = of(recs, "gpu")
    assert [r["temp_c"] for r in g] == [61.0] * 3  # legacy nvmlDeviceGetTemperature
    assert all(r["gpm_sm_activity_pct"] is None and r["gpm_tensor_activity_pct"] is None for r in g)
    assert all(r["driver_version"] == "470.57.02" for r in g)
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("temp_v unavailable (NVMLError_FunctionNotFound)" in m for m in msgs) == 1
    assert sum("gpm unavailable (NVMLError_FunctionNotFound)" in m for m in msgs) == 1


def test_mig_lost_reset_and_nulls_survive_ingestion(tmp_path):
    migs = [{"uuid": "MIG-0", "gi": 1, "ci": 0, "mem_total": 2**30, "mem_used": 0}]
    sc = {"gpus": [gpu("GPU-m", mig=migs, energy_reset_at_cycle=2), gpu("GPU-x", lost_from_cycle=2),
                   gpu("GPU-o", unsupported=["nvmlDeviceGetClockInfo"], gpm=False)]}
    run_cycles(tmp_path, sc, 3)
    start = datetime.fromtimestamp(T0, timezone.utc)
    t = read_samples(str(tmp_path), start, start + timedelta(hours=1))
    assert t.num_rows == 3 + 1 + 3  # mig and status records are not gpu samples
    rows = t.to_pylist()
    m = [r for r in rows if r["gpu_uuid"] == "GPU-m"]
    assert [r["energy_mj"] for r in m] == [1_003_000_000, 0, 3_000_000] and all(r["mig_mode"] for r in m)
    assert all(r["util_gpu_pct"] is None and r["power_w"] == 300.0 for r in m)
    o = [r for r in rows if r["gpu_uuid"] == "GPU-o"]
    assert all(r["sm_clock_mhz"] is None and r["gpm_sm_activity_pct"] is None and r["temp_c"] == 45.0 for r in o)
    assert all(r["_source_uri"].endswith("node-a-20260921T14.jsonl.gz") for r in rows)


def test_processes_resolved_from_proc_cgroup(tmp_path):
    proc = tmp_path / "proc"
    cg = {
        101: "0::/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-pod1b2c3d4e_aaaa_bbbb_cccc_0123456789ab.slice/"
             "cri-containerd-" + "a" * 64 + ".scope\n",
        102: "0::/system.slice/vllm.service\n",
        103: "12:memory:/docker/" + "b" * 64 + "\n11:cpu,cpuacct:/docker/" + "b" * 64 + "\n",
    }
    for pid, text in cg.items():
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cgroup").write_text(text)
    procs = [{"pid": 101, "mem": 1000}, {"pid": 102, "mem": 2000}, {"pid": 103, "mem": None}, {"pid": 999, "mem": 5}]
    _, recs = run_cycles(tmp_path / "out", {"gpus": [gpu("GPU-a", processes=procs)]}, 7, process_interval=30,
                         proc_root=str(proc))
    p = of(recs, "process")
    assert len(p) == 4 * 3  # samples 1, 4, 7 at a 30 s process interval over 10 s samples
    by = {r["pid"]: r for r in p}
    assert by[101]["container"] == "a" * 64 and by[101]["container_runtime"] == "containerd"
    assert by[101]["pod"] == "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab" and by[101]["unit"] is None
    assert by[102]["unit"] == "vllm.service" and by[102]["container"] is None
    assert by[102]["cgroup"] == "/system.slice/vllm.service"
    assert by[103]["container"] == "b" * 64 and by[103]["container_runtime"] == "docker"
    assert by[103]["used_memory_bytes"] is None
    assert by[999]["cgroup"] is None  # exited process: unknown, not an error
    assert by[101]["used_memory_bytes"] == 1000 and by[101]["gpu_uuid"] == "GPU-a"


def test_disk_limit_deletes_oldest_hours(tmp_path):
    root = tmp_path / "node-a"
    pad = gzip.compress((json.dumps({"record": "pad", "x": os.urandom(150_000).hex()}) + "\n").encode(),
                        compresslevel=0)
    for h in range(5):  # five old hours of ~300 kB each (stored, not compressed)
        d = root / "2026-09-20"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"node-a-20260920T{h:02d}.jsonl.gz").write_bytes(pad)
    run_cycles(tmp_path, {"gpus": [gpu("GPU-a")]}, 2, max_disk_mb=1.0)
    left = sorted(p.name for p in root.rglob("*.jsonl.gz"))
    assert left == ["node-a-20260920T02.jsonl.gz", "node-a-20260920T03.jsonl.gz", "node-a-20260920T04.jsonl.gz",
                    "node-a-20260921T14.jsonl.gz"]


def test_restart_within_the_hour_keeps_earlier_samples(tmp_path):
    run_cycles(tmp_path, {"gpus": [gpu("GPU-a")]}, 2)
    fake_pynvml.configure({"gpus": [gpu("GPU-a")]})
    c = Collector(fake_pynvml, tmp_path, host="node-a", interval=10, process_interval=60, max_disk_mb=100,
                  flush_interval=0)
    c.write(T0 + 100, c.sample(T0 + 100))
    c.shutdown()
    recs = records(tmp_path)
    assert [r["record"] for r in recs].count("gpu") == 3 and [r["record"] for r in recs].count("meta") == 2
    assert recs[0]["record"] == "meta" and of(recs, "meta")[1]["restarted_in_hour"] is True


def test_resolve_cgroup_v1_pod_path(tmp_path):
    d = tmp_path / "7"
    d.mkdir()
    (d / "cgroup").write_text("4:memory:/kubepods/besteffort/pod0f1e2d3c-1111-2222-3333-444455556666/"
                              + "c" * 64 + "\n")
    r = resolve_cgroup(7, str(tmp_path))
    assert r["pod"] == "0f1e2d3c-1111-2222-3333-444455556666" and r["container"] == "c" * 64
    assert r["container_runtime"] == "containerd"


# --- the real command, as a subprocess --------------------------------------------------------------
def _env(scenario: dict, tmp_path: Path) -> dict:
    sc = tmp_path / "scenario.json"
    sc.write_text(json.dumps(scenario))
    env = dict(os.environ, AISPEND_FAKE_NVML=str(sc))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    return env


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "collectors.gpu_collector", "--out", str(out), "--host", "node-a",
            "--nvml-module", "fake_pynvml", *extra]


def test_subprocess_sigterm_leaves_complete_files_readable_by_ingestion(tmp_path):
    out = tmp_path / "out"
    sc = {"gpus": [gpu("GPU-a", power_mw=250_000, processes=[{"pid": os.getpid(), "mem": 4096}]),
                   gpu("GPU-b", power_mw=500_000)]}
    p = subprocess.Popen(_cmd(out, "--interval", "0.2", "--process-interval", "0.4", "--flush-interval", "0.4"),
                         env=_env(sc, tmp_path), stderr=subprocess.PIPE, text=True)
    last = out / "node-a" / "last_sample.json"
    deadline = time.time() + 20
    while time.time() < deadline:
        if last.exists() and json.loads(last.read_text())["samples"] >= 6:
            break
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    files = sorted(x for x in (out / "node-a").rglob("*") if x.is_file())
    assert not [x for x in files if x.name.endswith(".partial")]
    hour_files = [x for x in files if x.name.endswith(".jsonl.gz")]
    assert hour_files and all(x.name.startswith("node-a-") for x in hour_files)
    recs = records(out)  # every file is a complete gzip stream (gzip raises on a truncated one)
    n = json.loads(last.read_text())["samples"]
    assert n >= 6 and len(of(recs, "gpu")) == 2 * n
    assert json.loads(last.read_text())["last_flushed_ts"] == json.loads(last.read_text())["last_sample_ts"]
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    t = read_samples(str(out), start, start + timedelta(hours=6))
    assert t.num_rows == 2 * n
    rows = t.to_pylist()
    assert {r["gpu_uuid"] for r in rows} == {"GPU-a", "GPU-b"}
    assert {r["power_w"] for r in rows if r["gpu_uuid"] == "GPU-b"} == {500.0}
    assert all(r["host"] == "node-a" and r["driver_version"] == "550.90.07" and r["mig_mode"] is False for r in rows)
    assert all(r["gpm_sm_activity_pct"] == 40.0 for r in rows)
    assert len(of(recs, "process")) >= 2 and of(recs, "process")[0]["pid"] == os.getpid()


def test_subprocess_once_then_ingested(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run(_cmd(out, "--once", "--interval", "0.1"),
                       env=_env({"gpus": [gpu("GPU-a"), gpu("GPU-b"), gpu("GPU-c")]}, tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = records(out)
    assert [x["record"] for x in recs].count("meta") == 1 and len(of(recs, "gpu")) == 3
    assert len(of(recs, "process")) == 0  # no processes in this scenario, but they were sampled
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    assert read_samples(str(out), start, start + timedelta(hours=4)).num_rows == 3


@pytest.mark.parametrize("err, words", [("LibraryNotFound", "libnvidia-ml.so.1"),
                                        ("DriverNotLoaded", "lsmod | grep nvidia")])
def test_subprocess_fatal_without_nvml(tmp_path, err, words):
    r = subprocess.run(_cmd(tmp_path / "out", "--once"), env=_env({"init_error": err, "gpus": []}, tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert f"NVMLError_{err}" in r.stderr and words in r.stderr and "fatal" in r.stderr
    assert not list((tmp_path / "out").rglob("*.jsonl.gz"))


def test_imports_only_stdlib_and_pynvml(tmp_path):
    """Copy the collector package and pynvml alone into a folder; run it in an isolated interpreter (-I -S)."""
    iso = tmp_path / "iso"
    shutil.copytree(REPO / "collectors", iso / "collectors", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(pynvml.__file__, iso / "pynvml.py")
    shutil.copy(HERE / "fake_pynvml.py", iso / "fake_pynvml.py")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import collectors.gpu_collector as m; "
            "bad = sorted(k for k in sys.modules if k.split('.')[0] not in sys.stdlib_module_names "
            "and k.split('.')[0] not in ('collectors', 'pynvml', 'fake_pynvml', '__main__')); print('BAD', bad); "
            "sys.argv = ['x', '--out', sys.argv[2], '--once', '--interval', '0.05', '--nvml-module', 'fake_pynvml', "
            "'--host', 'iso']; "
            "rc = m.main(); "
            "bad = sorted(k for k in sys.modules if k.split('.')[0] not in sys.stdlib_module_names "
            "and k.split('.')[0] not in ('collectors', 'pynvml', 'fake_pynvml', '__main__')); print('BAD', bad); "
            "sys.exit(rc)")
    env = {"AISPEND_FAKE_NVML": str(tmp_path / "s.json"), "PATH": "/usr/bin:/bin"}
    (tmp_path / "s.json").write_text(json.dumps({"gpus": [gpu("GPU-a")]}))
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(iso), str(tmp_path / "out")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["BAD []", "BAD []"]
    assert len(of(records(tmp_path / "out"), "gpu")) == 1


def test_aispend_collect_gpu_delegates(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "collect-gpu", "--out", str(out), "--host", "node-a",
                        "--once", "--interval", "0.05", "--nvml-module", "fake_pynvml"],
                       env=_env({"gpus": [gpu("GPU-a"), gpu("GPU-b")]}, tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(of(records(out), "gpu")) == 2


def test_single_file_runs_as_a_script_beside_pynvml_only(tmp_path):
    """The install path of collectors/README.md: gpu_collector.py copied next to pynvml, no package."""
    iso = tmp_path / "opt"
    iso.mkdir()
    for f in (REPO / "collectors" / "gpu_collector.py", Path(pynvml.__file__), HERE / "fake_pynvml.py"):
        shutil.copy(f, iso / f.name)
    (tmp_path / "s.json").write_text(json.dumps({"gpus": [gpu("GPU-a"), gpu("GPU-b")]}))
    r = subprocess.run([sys.executable, "-S", "-E", "-s", str(iso / "gpu_collector.py"), "--out", str(tmp_path / "out"),
                        "--once", "--interval", "0.05", "--host", "h", "--nvml-module", "fake_pynvml"],
                       env={"AISPEND_FAKE_NVML": str(tmp_path / "s.json"), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(of(records(tmp_path / "out"), "gpu")) == 2


def test_second_collector_on_the_same_folder_refused(tmp_path):
    fake_pynvml.configure({"gpus": [gpu("GPU-a")]})
    kw = dict(host="node-a", interval=10, process_interval=60, max_disk_mb=100, flush_interval=0)
    c = Collector(fake_pynvml, tmp_path, **kw)
    with pytest.raises(AlreadyRunning, match="already writing to"):
        Collector(fake_pynvml, tmp_path, **kw)
    c.shutdown()
    Collector(fake_pynvml, tmp_path, **kw).shutdown()  # released on shutdown


def test_hour_roll_two_complete_files(tmp_path):
    fake_pynvml.configure({"gpus": [gpu("GPU-a"), gpu("GPU-b")]})
    c = Collector(fake_pynvml, tmp_path, host="node-a", interval=10, process_interval=0, max_disk_mb=100,
                  flush_interval=60)
    c.prime()
    hour = 1_790_002_800.0  # 2026-09-21T15:00:00Z
    for k in range(-3, 3):  # 14:59:30 .. 15:00:20
        c.write(hour + 10 * k, c.sample(hour + 10 * k))
    c.shutdown()
    files = sorted(tmp_path.rglob("*.jsonl.gz"))
    assert [f.name for f in files] == ["node-a-20260921T14.jsonl.gz", "node-a-20260921T15.jsonl.gz"]
    for f in files:
        lines = [json.loads(x) for x in gzip.open(f, "rt")]
        assert lines[0]["record"] == "meta" and len(of(lines, "gpu")) == 6
    assert json.loads(gzip.open(files[1], "rt").readline())["file_start"] == "2026-09-21T15:00:00Z"
    start = datetime.fromtimestamp(hour - 3600, timezone.utc)
    assert read_samples(str(tmp_path), start, start + timedelta(hours=2)).num_rows == 12
