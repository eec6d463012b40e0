"""aispend GPU-host collector: samples NVML and writes hourly gzip JSON-lines files (format v1).

Runs on the GPU host itself, so it imports only the standard library and nvidia-ml-py
(``import pynvml``) — no Dagster, dbt, pyarrow or DuckDB. The files it writes are read by
``connectors.gpu_telemetry`` (layout ``<out>/<host>/YYYY-MM-DD/<host>-YYYYMMDDTHH.jsonl.gz``);
every record kind and field is specified in ``collectors/README.md`` and docs/contracts.md.

Why it is built the way it is:
- GPUs are keyed by UUID, never by index (indices follow PCI/enumeration order and can change
  across reboots, driver reloads and CUDA_VISIBLE_DEVICES).
- A field NVML cannot give (NotSupported / NoPermission / FunctionNotFound) is null for that
  field only, logged once per (gpu, field), and not asked again; GpuIsLost marks that GPU lost
  (a ``status`` record) while the other GPUs keep being sampled.
- MIG instances are ``mig`` records with memory/utilisation only: power and energy exist once
  per physical GPU, on its ``gpu`` record, so summing instances never double-counts energy.
- Files are replaced atomically (temp name without ``.jsonl`` in the same folder, fsync, rename),
  so a reader never sees half a file; the gzip stream is compressed incrementally and each flush
  only copies the compressor state, so rewriting the hour file costs O(new lines) of CPU.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import importlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

COLLECTOR_VERSION = "0.2.0"
FORMAT_VERSION = 1
log = logging.getLogger("aispend.gpu_collector")

# errors that mean "this field is not available here": null + log once + stop asking
_FIELD_GONE = ("NVMLError_NotSupported", "NVMLError_NoPermission", "NVMLError_FunctionNotFound")
EXIT_FATAL = 3

_HINTS = {
    "NVMLError_LibraryNotFound": (
        "the NVML library (libnvidia-ml.so.1) was not found. Install the NVIDIA driver on this host "
        "(it ships libnvidia-ml); in a container run with the NVIDIA container toolkit "
        "(docker --gpus all, or Kubernetes runtimeClassName: nvidia) so the library is mounted."),
    "NVMLError_DriverNotLoaded": (
        "the NVIDIA kernel driver is not loaded. Check `nvidia-smi`, `lsmod | grep nvidia` and "
        "`dmesg | grep -i nvrm`; load it (modprobe nvidia) or reinstall the driver matching the kernel."),
    "NVMLError_NoPermission": (
        "no permission to open the NVIDIA devices. Run the collector as a user that can read "
        "/dev/nvidia* (e.g. in the video group) or as root."),
}


class AlreadyRunning(RuntimeError):
    """Another collector holds the lock of this output folder."""


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def binding_version() -> str | None:
    """Version of the installed nvidia-ml-py distribution (None when not installed as a package)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("nvidia-ml-py")
        except PackageNotFoundError:
            return None
    except ImportError:  # pragma: no cover
        return None


# --- /proc/<pid>/cgroup → container, cgroup, systemd unit, Kubernetes pod -----------------------
_CONTAINER = re.compile(r"(?:(docker|cri-containerd|crio|libpod|containerd)[-/:])?([0-9a-f]{64})(?:\.scope)?$")
_POD = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_RUNTIME = {"cri-containerd": "containerd", "containerd": "containerd", "crio": "cri-o", "libpod": "podman",
            "docker": "docker"}


def resolve_cgroup(pid: int, proc_root: str = "/proc") -> dict:
    """Container id, cgroup path, systemd unit and pod uid of a process, from /proc/<pid>/cgroup.

    cgroup v2 (the ``0::`` line) wins; on v1 the ``memory`` (else first non-root) hierarchy is used.
    Only ids are knowable from /proc: names need the container runtime or kubelet, not queried here.
    """
    out = {"cgroup": None, "container": None, "container_runtime": None, "unit": None, "pod": None}
    try:
        text = Path(proc_root, str(pid), "cgroup").read_text()
    except OSError:
        return out  # process exited, or another PID namespace: leave unknown
    path = None
    fallback = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            path = parts[2]
            break
        if "memory" in parts[1].split(","):
            path = parts[2]
        elif fallback is None and parts[2] not in ("", "/"):
            fallback = parts[2]
    path = path or fallback
    if not path:
        return out
    out["cgroup"] = path
    comps = [c for c in path.split("/") if c]
    for c in reversed(comps):
        m = _CONTAINER.search(c)
        if m:
            out["container"] = m.group(2)
            out["container_runtime"] = _RUNTIME.get(m.group(1) or "", None) if m.group(1) else (
                "containerd" if "kubepods" in path else "docker" if "docker" in path else None)
            break
    m = _POD.search(path)
    if m:
        out["pod"] = m.group(1).replace("_", "-")
    for c in reversed(comps):
        if c.endswith(".service"):
            out["unit"] = c
            break
    else:
        if comps and comps[-1].endswith(".scope") and out["container"] is None:
            out["unit"] = comps[-1]
    return out


# --- output files --------------------------------------------------------------------------------
class HourFile:
    """One hour's gzip JSON-lines file, rewritten atomically on each flush.

    Lines go through one zlib compressor (gzip wrapper); a flush writes the compressed bytes so
    far plus the tail of a *copy* of the compressor, so the on-disk file is always a complete gzip
    stream and the live compressor keeps going.
    """

    def __init__(self, path: Path):
        self.path = path
        self._co = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._chunks: list[bytes] = []
        self.lines = 0
        self.dirty = False
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():  # restarted within the hour: keep what the previous run wrote
            try:
                old = gzip.decompress(path.read_bytes())
            except (OSError, EOFError, zlib.error) as e:
                aside = path.with_name(path.name.replace(".jsonl.gz", "") + f".corrupt-{int(time.time())}")
                log.error("existing file %s unreadable (%s); moved aside to %s", path, e, aside.name)
                path.rename(aside)
            else:
                if old:
                    self._chunks.append(self._co.compress(old if old.endswith(b"\n") else old + b"\n"))
                    self.lines += old.count(b"\n")

    def add(self, line: str) -> None:
        self._chunks.append(self._co.compress(line.encode() + b"\n"))
        self.lines += 1
        self.dirty = True

    def size(self) -> int:
        return sum(len(c) for c in self._chunks)

    def flush(self) -> None:
        """Atomically replace the file with everything added so far (temp + fsync + rename)."""
        if not self.dirty:
            return
        data = b"".join(self._chunks) + self._co.copy().flush()
        self._chunks = [b"".join(self._chunks)]
        # temp name has no ".jsonl" so the ingestion glob never picks up a half-written file
        tmp = self.path.with_name(f".{self.path.name.replace('.jsonl.gz', '')}.{os.getpid()}.partial")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)  # make the rename itself durable
        finally:
            os.close(dfd)
        self.dirty = False


def _write_small_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- per-GPU state -------------------------------------------------------------------------------
GPM_METRICS = (("gpm_sm_activity_pct", "NVML_GPM_METRIC_SM_UTIL"),
               ("gpm_tensor_activity_pct", "NVML_GPM_METRIC_ANY_TENSOR_UTIL"),
               ("gpm_sm_occupancy_pct", "NVML_GPM_METRIC_SM_OCCUPANCY"),
               ("gpm_dram_bw_util_pct", "NVML_GPM_METRIC_DRAM_BW_UTIL"))


class _GpmWindow:
    """Two GPM sample buffers used alternately: each take() yields the metrics since the previous one."""
    __slots__ = ("samples", "prev", "mg")

    def __init__(self, nv):
        self.samples = (nv.nvmlGpmSampleAlloc(), nv.nvmlGpmSampleAlloc())
        self.prev = None
        mg = nv.c_nvmlGpmMetricsGet_t()
        mg.version = nv.NVML_GPM_METRICS_GET_VERSION
        mg.numMetrics = len(GPM_METRICS)
        for k, (_, const) in enumerate(GPM_METRICS):
            mg.metrics[k].metricId = getattr(nv, const)
        self.mg = mg

    def next_buffer(self):
        return self.samples[1] if self.prev is self.samples[0] else self.samples[0]

class _Gpu:
    __slots__ = ("uuid", "index", "handle", "name", "mem_total", "skip", "temp_v", "gpm", "gpm_win",
                 "mig_gpm", "mig_mode", "lost", "unsupported", "power_limit")

    def __init__(self, uuid: str):
        self.uuid = uuid
        self.index = None
        self.handle = None
        self.name = None
        self.mem_total = None
        self.skip: set[str] = set()       # fields NVML said it cannot give on this GPU
        self.unsupported: dict[str, str] = {}  # field -> NVML error class (for the meta line)
        self.temp_v = True
        self.gpm = None                   # None: not probed yet; False: unsupported
        self.gpm_win: _GpmWindow | None = None
        self.mig_gpm: dict[int, _GpmWindow] = {}  # GPU instance id -> its GPM window
        self.mig_mode = None
        self.power_limit = None
        self.lost = False


class Collector:
    """Samples every GPU once per :meth:`sample` call; :meth:`write` appends to the current hour file."""

    def __init__(self, nvml, out: Path, *, host: str, interval: float, process_interval: float,
                 max_disk_mb: float, flush_interval: float, proc_root: str = "/proc"):
        self.nvml = nvml
        self.out = Path(out)
        self.host = host
        self.interval = interval
        self.process_interval = process_interval
        self.max_disk_bytes = int(max_disk_mb * 1024 * 1024)
        self.flush_interval = flush_interval
        self.proc_root = proc_root
        self.gpus: dict[str, _Gpu] = {}
        self.index_uuid: dict[int, str] = {}
        self.file: HourFile | None = None
        self.file_hour = None
        self.samples = 0
        self.last_sample_ts = None
        self.last_flush = 0.0
        self.last_process = None
        self._logged: set = set()
        self._pending: list[dict] = []
        self._errcls = {n: getattr(nvml, n) for n in ("NVMLError", "NVMLError_GpuIsLost", "NVMLError_NotFound",
                                                       *_FIELD_GONE)}
        self._gone = tuple(self._errcls[n] for n in _FIELD_GONE)
        self._tempv = getattr(nvml, "nvmlDeviceGetTemperatureV", None)
        self._has_gpm = all(hasattr(nvml, f) for f in ("nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc",
                                                         "nvmlGpmSampleGet", "nvmlGpmMetricsGet"))
        self._has_mig_gpm = self._has_gpm and hasattr(nvml, "nvmlGpmMigSampleGet")
        self.versions = {
            "driver_version": self._sys("nvmlSystemGetDriverVersion"),
            "nvml_version": self._sys("nvmlSystemGetNVMLVersion"),
            "collector_version": COLLECTOR_VERSION,
            "nvml_py_version": binding_version() or getattr(nvml, "__version__", None),
        }
        cuda = self._sys("nvmlSystemGetCudaDriverVersion", text=False)
        self.cuda_driver_version = cuda
        self.host_dir = self.out / host
        self.host_dir.mkdir(parents=True, exist_ok=True)
        # two collectors on one folder would overwrite each other's hour files
        self._lock = open(self.host_dir / ".collector.lock", "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise AlreadyRunning(f"another collector is already writing to {self.host_dir}") from None
        for stale in self.host_dir.rglob(".*.partial"):  # temp files of a crashed run
            stale.unlink(missing_ok=True)

    # -- helpers
    def _sys(self, fn: str, text: bool = True):
        f = getattr(self.nvml, fn, None)
        if f is None:
            return None
        try:
            v = f()
        except self._errcls["NVMLError"] as e:
            log.warning("%s failed: %s", fn, e)
            return None
        return _s(v) if text else v

    def _once(self, key, msg, *args, level=logging.WARNING) -> None:
        if key not in self._logged:
            self._logged.add(key)
            log.log(level, msg, *args)

    def _get(self, g: _Gpu, field: str, fn, *args, who: str | None = None):
        """fn(*args), or None when NVML cannot give this field (logged once); GpuIsLost propagates."""
        if field in g.skip:
            return None
        try:
            return fn(*args)
        except self._errcls["NVMLError_GpuIsLost"]:
            raise
        except self._gone as e:
            g.skip.add(field)
            g.unsupported[field] = type(e).__name__
            self._once((who or g.uuid, field), "%s: %s unavailable (%s); recorded as null from now on",
                       who or g.uuid, field, type(e).__name__)
            return None
        except self._errcls["NVMLError"] as e:
            self._once((who or g.uuid, field, type(e).__name__), "%s: %s failed (%s); null for this sample",
                       who or g.uuid, field, type(e).__name__)
            return None

    def _gpu_for(self, i: int, ts: float, recs: list) -> _Gpu | None:
        nv = self.nvml
        try:
            h = nv.nvmlDeviceGetHandleByIndex(i)
            uuid = _s(nv.nvmlDeviceGetUUID(h))
        except self._errcls["NVMLError_GpuIsLost"] as e:
            uuid = self.index_uuid.get(i)
            g = self.gpus.get(uuid) if uuid else None
            first = (not g.lost) if g is not None else (("lost-index", i) not in self._logged)
            if first:  # one status record per transition, not one per cycle
                recs.append({"record": "status", "ts": _utc(ts), "host": self.host, "gpu_uuid": uuid,
                             "gpu_index": i, "status": "lost", "error": type(e).__name__})
                log.error("GPU %s (index %d) is lost: %s", uuid, i, e)
                if g is not None:
                    g.lost = True
                else:
                    self._logged.add(("lost-index", i))
            return None
        except self._errcls["NVMLError"] as e:
            self._once(("handle", i, type(e).__name__), "GPU index %d: cannot get handle/UUID (%s)", i, e)
            return None
        g = self.gpus.get(uuid)
        if g is None:
            g = self.gpus[uuid] = _Gpu(uuid)
            g.name = _s(self._get(g, "name", nv.nvmlDeviceGetName, h) or "") or None
        g.index, g.handle = i, h
        self.index_uuid[i] = uuid
        return g

    def _gpm_probe(self, g: _Gpu) -> None:
        nv = self.nvml
        g.gpm = False
        if not self._has_gpm:
            self._once((g.uuid, "gpm"), "%s: nvidia-ml-py has no GPM API; GPM activity null", g.uuid)
            return
        sup = self._get(g, "gpm", nv.nvmlGpmQueryDeviceSupport, g.handle)
        if sup is None or not sup.isSupportedDevice:
            if sup is not None:
                g.unsupported["gpm"] = "not a GPM device (pre-Hopper)"
                self._once((g.uuid, "gpm"), "%s: GPM not supported (pre-Hopper); GPM activity null", g.uuid)
            return
        g.gpm_win = _GpmWindow(nv)
        g.gpm = True

    def _gpm_take(self, g: _Gpu, win: _GpmWindow, field: str, rec: dict, sample_fn, *args) -> None:
        """Take a GPM sample into ``win``; fill ``rec`` with the metrics since the previous one.

        The first sample of a window has nothing to compare with (metrics stay null); a failed
        sample restarts the window rather than pairing across the gap.
        """
        cur = win.next_buffer()
        if self._get(g, field, sample_fn, *args, cur) is None:
            win.prev = None
            return
        prev, win.prev = win.prev, cur
        if prev is None:
            return
        mg = win.mg
        mg.sample1, mg.sample2 = prev, cur
        if self._get(g, field, self.nvml.nvmlGpmMetricsGet, mg) is None:
            return
        for k, (name, _) in enumerate(GPM_METRICS):
            m = mg.metrics[k]
            rec[name] = round(m.value, 2) if m.nvmlReturn == 0 else None

    def _gpm_sample(self, g: _Gpu, rec: dict) -> None:
        self._gpm_take(g, g.gpm_win, "gpm", rec, self.nvml.nvmlGpmSampleGet, g.handle)

    def prime(self) -> None:
        """First GPM sample of every GPU, so the first cycle already has an activity window."""
        nv = self.nvml
        for i in range(nv.nvmlDeviceGetCount()):
            g = self._gpu_for(i, time.time(), self._pending)  # status records go out with the first cycle
            if g is None:
                continue
            try:
                if g.gpm is None:
                    self._gpm_probe(g)
                if g.gpm:
                    self._gpm_sample(g, {})
            except self._errcls["NVMLError_GpuIsLost"]:
                pass  # reported by the first cycle

    # -- one sample of every GPU
    def sample(self, ts: float) -> list[dict]:
        """Records of one cycle (gpu, mig, status and, every process_interval, process)."""
        nv = self.nvml
        recs, self._pending = self._pending, []
        t = _utc(ts)
        want_proc = self.process_interval > 0 and (self.last_process is None
                                                   or ts - self.last_process >= self.process_interval - 1e-6)
        try:
            count = nv.nvmlDeviceGetCount()
        except self._errcls["NVMLError"] as e:
            self._once(("count", type(e).__name__), "nvmlDeviceGetCount failed: %s", e, level=logging.ERROR)
            return recs
        seen = set()
        for i in range(count):
            g = self._gpu_for(i, ts, recs)
            if g is None:
                continue
            seen.add(g.uuid)
            try:
                got = self._sample_gpu(g, t, want_proc)
            except self._errcls["NVMLError_GpuIsLost"] as e:
                if not g.lost:  # one status record per transition, not one per cycle
                    g.lost = True
                    recs.append({"record": "status", "ts": t, "host": self.host, "gpu_uuid": g.uuid,
                                 "gpu_index": g.index, "status": "lost", "error": type(e).__name__})
                    log.error("GPU %s (index %d) is lost: %s", g.uuid, g.index, e)
                continue
            if g.lost:
                g.lost = False
                recs.append({"record": "status", "ts": t, "host": self.host, "gpu_uuid": g.uuid,
                             "gpu_index": g.index, "status": "ok", "error": None})
                log.warning("GPU %s is back", g.uuid)
            recs.extend(got)
        for g in self.gpus.values():
            if g.uuid not in seen and not g.lost:  # fell off the bus: no longer enumerated at all
                g.lost = True
                recs.append({"record": "status", "ts": t, "host": self.host, "gpu_uuid": g.uuid,
                             "gpu_index": None, "status": "missing", "error": "not enumerated by NVML"})
                log.error("GPU %s is no longer enumerated by NVML", g.uuid)
        if want_proc:
            self.last_process = ts
        return recs

    def _sample_gpu(self, g: _Gpu, t: str, want_proc: bool) -> list[dict]:
        nv, h, get = self.nvml, g.handle, self._get
        mig = get(g, "mig_mode", nv.nvmlDeviceGetMigMode, h)
        mig_on = bool(mig and mig[0] == 1)
        if g.mig_mode is not None and mig_on != g.mig_mode:
            g.skip.clear()  # what a GPU supports differs in and out of MIG mode: ask again
            g.unsupported.clear()
        g.mig_mode = mig_on
        util = get(g, "util", nv.nvmlDeviceGetUtilizationRates, h)
        mem = get(g, "mem", nv.nvmlDeviceGetMemoryInfo, h)
        power = get(g, "power_w", nv.nvmlDeviceGetPowerUsage, h)
        limit = get(g, "power_limit_w", nv.nvmlDeviceGetEnforcedPowerLimit, h)
        energy = get(g, "energy_mj", nv.nvmlDeviceGetTotalEnergyConsumption, h)
        temp = None
        if self._tempv is not None and "temp_v" not in g.skip:
            temp = get(g, "temp_v", self._tempv, h, nv.NVML_TEMPERATURE_GPU)
        if temp is None:
            temp = get(g, "temp_c", nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
        clock = get(g, "sm_clock_mhz", nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM)
        if mem is not None:
            g.mem_total = mem.total
        if limit is not None:
            g.power_limit = limit / 1000.0
        rec = {"record": "gpu", "ts": t, "host": self.host, "gpu_uuid": g.uuid, "gpu_index": g.index,
               "name": g.name,
               "util_gpu_pct": None if util is None else float(util.gpu),
               "util_mem_pct": None if util is None else float(util.memory),
               "mem_used_bytes": None if mem is None else mem.used,
               "mem_total_bytes": None if mem is None else mem.total,
               "power_w": None if power is None else power / 1000.0,
               "power_limit_w": None if limit is None else limit / 1000.0,
               "energy_mj": energy,
               "temp_c": None if temp is None else float(temp),
               "sm_clock_mhz": None if clock is None else float(clock),
               "gpm_sm_activity_pct": None, "gpm_tensor_activity_pct": None,
               "gpm_sm_occupancy_pct": None, "gpm_dram_bw_util_pct": None,
               "mig_mode": None if mig is None else mig_on, "mig_instances": 0 if not mig_on else None,
               **self.versions}
        if g.gpm is None:
            self._gpm_probe(g)
        if g.gpm:
            self._gpm_sample(g, rec)
        out = [rec]
        if mig_on:
            migs = self._sample_mig(g, t)
            rec["mig_instances"] = len(migs)
            out.extend(migs)
        if want_proc:
            out.extend(self._processes(g, t))
        return out

    def _sample_mig(self, g: _Gpu, t: str) -> list[dict]:
        """One ``mig`` record per MIG device: memory and utilisation only (power/energy are the parent's)."""
        nv, get = self.nvml, self._get
        n = get(g, "mig_count", nv.nvmlDeviceGetMaxMigDeviceCount, g.handle) or 0
        out = []
        done_gi: set[int] = set()  # GPM is per GPU instance; several compute instances may share one
        for k in range(n):
            try:
                mh = nv.nvmlDeviceGetMigDeviceHandleByIndex(g.handle, k)
            except self._errcls["NVMLError_NotFound"]:
                continue  # empty slot
            except self._errcls["NVMLError_GpuIsLost"]:
                raise
            except self._errcls["NVMLError"] as e:
                self._once((g.uuid, "mig", k, type(e).__name__), "%s: MIG slot %d: %s", g.uuid, k, e)
                continue
            mu = get(g, f"mig{k}_uuid", nv.nvmlDeviceGetUUID, mh)
            who = _s(mu) if mu is not None else f"{g.uuid}/mig{k}"
            util = get(g, "mig_util", nv.nvmlDeviceGetUtilizationRates, mh, who="MIG devices of " + g.uuid)
            mem = get(g, f"mig{k}_mem", nv.nvmlDeviceGetMemoryInfo, mh, who=who)
            gi = get(g, f"mig{k}_gi", nv.nvmlDeviceGetGpuInstanceId, mh, who=who)
            ci = get(g, f"mig{k}_ci", nv.nvmlDeviceGetComputeInstanceId, mh, who=who)
            name = get(g, f"mig{k}_name", nv.nvmlDeviceGetName, mh, who=who)
            rec = {"record": "mig", "ts": t, "host": self.host, "gpu_uuid": g.uuid,
                   "mig_uuid": None if mu is None else _s(mu), "mig_index": k,
                   "gpu_instance_id": gi, "compute_instance_id": ci,
                   "name": None if name is None else _s(name),
                   "util_gpu_pct": None if util is None else float(util.gpu),
                   "util_mem_pct": None if util is None else float(util.memory),
                   "mem_used_bytes": None if mem is None else mem.used,
                   "mem_total_bytes": None if mem is None else mem.total,
                   **{f: None for f, _ in GPM_METRICS}}
            # MIG instances have no utilisation counters; GPM per GPU instance is their activity
            if g.gpm and gi is not None and self._has_mig_gpm and gi not in done_gi:
                win = g.mig_gpm.get(gi)
                if win is None:
                    win = g.mig_gpm[gi] = _GpmWindow(nv)
                self._gpm_take(g, win, "mig_gpm", rec, nv.nvmlGpmMigSampleGet, g.handle, gi)
                done_gi.add(gi)
            out.append(rec)
        return out

    def _processes(self, g: _Gpu, t: str) -> list[dict]:
        nv, get = self.nvml, self._get
        seen: dict[int, dict] = {}
        for kind, fn in (("compute", "nvmlDeviceGetComputeRunningProcesses"),
                         ("graphics", "nvmlDeviceGetGraphicsRunningProcesses")):
            f = getattr(nv, fn, None)
            procs = get(g, f"processes_{kind}", f, g.handle) if f else None
            for p in procs or ():
                if p.pid in seen:
                    continue
                gi = getattr(p, "gpuInstanceId", None)
                ci = getattr(p, "computeInstanceId", None)
                na = 0xFFFFFFFF
                rec = {"record": "process", "ts": t, "host": self.host, "gpu_uuid": g.uuid, "pid": p.pid,
                       "used_memory_bytes": p.usedGpuMemory, "process_type": kind,
                       "gpu_instance_id": None if gi in (None, na) else gi,
                       "compute_instance_id": None if ci in (None, na) else ci}
                rec.update(resolve_cgroup(p.pid, self.proc_root))
                seen[p.pid] = rec
        return list(seen.values())

    # -- files
    def _path_for(self, ts: float) -> Path:
        d = datetime.fromtimestamp(ts, timezone.utc)
        return self.host_dir / d.strftime("%Y-%m-%d") / f"{self.host}-{d:%Y%m%dT%H}.jsonl.gz"

    def _meta(self, hour_start: float, started: bool) -> str:
        return json.dumps({
            "record": "meta", "format": "aispend-gpu-collector", "format_version": FORMAT_VERSION,
            "host": self.host, "file_start": _utc(hour_start).replace(".000Z", "Z"),
            "interval_s": self.interval, "process_interval_s": self.process_interval,
            **self.versions, "cuda_driver_version": self.cuda_driver_version,
            "collector_pid": os.getpid(), "restarted_in_hour": started,
            "gpus": [{"index": g.index, "uuid": g.uuid, "name": g.name, "mem_total_bytes": g.mem_total,
                      "power_limit_w": g.power_limit, "gpm_supported": bool(g.gpm), "mig_mode": g.mig_mode,
                      "unsupported": dict(g.unsupported)} for g in self.gpus.values()],
        }, separators=(",", ":"))

    def write(self, ts: float, recs: list[dict]) -> None:
        """Append a cycle's records to the hour file of ``ts``; roll and flush as due."""
        hour = int(ts // 3600)
        if hour != self.file_hour:
            self.close_file()
            self.file = HourFile(self._path_for(ts))
            self.file_hour = hour
            self.file.add(self._meta(hour * 3600, self.file.lines > 0))
            self.enforce_disk_limit()
        dumps = json.dumps
        for r in recs:
            self.file.add(dumps(r, separators=(",", ":")))
        self.samples += 1
        self.last_sample_ts = ts
        if ts - self.last_flush >= self.flush_interval:
            self.flush()
        else:
            self._write_last_sample(flushed=False)

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()
        self.last_flush = self.last_sample_ts or time.time()
        self._write_last_sample(flushed=True)

    def _write_last_sample(self, flushed: bool) -> None:
        if self.last_sample_ts is None:
            return
        self._last_flushed_ts = self.last_sample_ts if flushed else getattr(self, "_last_flushed_ts", None)
        _write_small_atomic(self.host_dir / "last_sample.json", json.dumps({
            "last_sample_ts": _utc(self.last_sample_ts), "last_sample_unix": round(self.last_sample_ts, 3),
            "last_flushed_ts": None if self._last_flushed_ts is None else _utc(self._last_flushed_ts),
            "samples": self.samples, "gpus": len([g for g in self.gpus.values() if not g.lost]),
            "gpus_lost": sorted(g.uuid for g in self.gpus.values() if g.lost), "host": self.host,
            "collector_pid": os.getpid()}) + "\n")

    def close_file(self) -> None:
        if self.file is not None:
            self.flush()
            self.file = None
            self.file_hour = None

    def enforce_disk_limit(self) -> None:
        """Delete the oldest hour files until the host folder fits ``--max-disk-mb`` (current file kept)."""
        files = sorted(self.host_dir.rglob("*.jsonl.gz"), key=lambda p: p.name)
        cur = self.file.path if self.file else None
        sizes = {f: f.stat().st_size for f in files if f != cur}
        total = sum(sizes.values()) + (self.file.size() if self.file else 0)
        for f in files:
            if total <= self.max_disk_bytes:
                break
            if f == cur:
                continue
            f.unlink(missing_ok=True)
            total -= sizes[f]
            log.warning("disk limit %d MB: deleted oldest file %s", self.max_disk_bytes >> 20, f.name)
            try:
                f.parent.rmdir()
            except OSError:
                pass

    def shutdown(self) -> None:
        """Flush and close the hour file, free GPM buffers, release the folder lock."""
        self.close_file()
        self._lock.close()
        for g in self.gpus.values():
            wins = ([g.gpm_win] if g.gpm_win else []) + list(g.mig_gpm.values())
            for s in (x for w in wins for x in w.samples):
                try:
                    self.nvml.nvmlGpmSampleFree(s)
                except self._errcls["NVMLError"]:
                    pass


def _fatal(e: BaseException) -> int:
    name = type(e).__name__
    hint = _HINTS.get(name, "NVML could not be initialised; check `nvidia-smi` on this host.")
    print(f"aispend-gpu-collector: fatal: NVML initialisation failed ({name}: {e}): {hint}", file=sys.stderr)
    return EXIT_FATAL


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``aispend-gpu-collector`` (and ``aispend collect-gpu``)."""
    p = argparse.ArgumentParser(prog="aispend-gpu-collector",
                                description="Sample NVIDIA GPUs via NVML into hourly gzip JSON-lines files.")
    p.add_argument("--out", required=True, help="output folder (files go to OUT/<host>/YYYY-MM-DD/)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between GPU samples (default 10)")
    p.add_argument("--process-interval", type=float, default=60.0,
                   help="seconds between per-process samples (default 60; 0 disables)")
    p.add_argument("--max-disk-mb", type=float, default=1024.0,
                   help="delete the oldest hour files beyond this size (default 1024)")
    p.add_argument("--flush-interval", type=float, default=60.0,
                   help="seconds between atomic rewrites of the current hour file (default 60)")
    p.add_argument("--host", default=None, help="host name recorded (default: this machine's)")
    p.add_argument("--once", action="store_true", help="take one sample of every GPU, write it, exit")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--nvml-module", default=None, help=argparse.SUPPRESS)  # tests: a fake NVML binding
    p.add_argument("--proc-root", default="/proc", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.interval <= 0:
        p.error("--interval must be > 0")

    if args.nvml_module:
        nvml = importlib.import_module(args.nvml_module)
    else:
        try:
            import pynvml as nvml
        except ImportError:
            print("aispend-gpu-collector: fatal: the NVML binding is not installed: "
                  "pip install nvidia-ml-py", file=sys.stderr)
            return EXIT_FATAL
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as e:
        return _fatal(e)

    stop = threading.Event()

    def _on_signal(signum, _frame):
        log.info("signal %d: finishing the current cycle and flushing", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        try:
            c = Collector(nvml, Path(args.out), host=args.host or socket.gethostname().split(".")[0],
                          interval=args.interval, process_interval=args.process_interval,
                          max_disk_mb=args.max_disk_mb, flush_interval=args.flush_interval,
                          proc_root=args.proc_root)
        except AlreadyRunning as e:
            print(f"aispend-gpu-collector: fatal: {e} (stop it first, or use another --out / --host)",
                  file=sys.stderr)
            return EXIT_FATAL
        c.enforce_disk_limit()
        c.prime()
        log.info("collector %s: %d GPU(s), driver %s, NVML %s, nvidia-ml-py %s, every %gs into %s",
                 COLLECTOR_VERSION, len(c.gpus), c.versions["driver_version"], c.versions["nvml_version"],
                 c.versions["nvml_py_version"], args.interval, c.host_dir)
        if args.once:
            stop.wait(min(args.interval, 1.0))  # GPM needs a window between two samples
            ts = time.time()
            c.write(ts, c.sample(ts))
        else:
            # align samples to the interval grid on the wall clock (ts = end of the window)
            nxt = (time.time() // args.interval + 1) * args.interval
            while not stop.wait(max(0.0, nxt - time.time())):
                ts = time.time()
                c.write(ts, c.sample(ts))
                nxt += args.interval
                if nxt <= time.time():  # overran (suspend, slow NVML): skip missed ticks
                    nxt = (time.time() // args.interval + 1) * args.interval
        c.shutdown()
    finally:
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError:
            pass
    log.info("stopped after %d sample(s)", c.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
