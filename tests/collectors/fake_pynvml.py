"""A fake NVML binding: the pynvml functions the collector calls, over a scripted fleet of GPUs.

Only the boundary is faked: errors are the REAL classes of the installed nvidia-ml-py
(``pynvml.NVMLError_NotSupported`` …), GPM structures are pynvml's own ctypes types, constants
are pynvml's. The scenario is a dict given to :func:`configure` (in-process) or a JSON file named
by ``AISPEND_FAKE_NVML`` (subprocess; read at ``nvmlInit``). Time is counted in cycles: each
``nvmlDeviceGetCount()`` call is one (the collector calls it once per cycle, and once to prime).

Scenario keys: ``init_error`` (e.g. "LibraryNotFound"), ``driver``, ``nvml``, ``old_driver``
(no nvmlDeviceGetTemperatureV in the library → FunctionNotFound; no GPM), ``rotate_order``
(the UUID order at each index changes every cycle), ``gpus``: list of {uuid, name, mem_total,
power_mw, limit_mw, energy0, gpm (bool), lost_until_cycle (reset: back),
gone_from_cycle (no longer enumerated),
lost_at_handle (GpuIsLost already from nvmlDeviceGetHandleByIndex), unsupported: [fn names → NotSupported],
no_permission: [fn names → NoPermission], lost_from_cycle, energy_reset_at_cycle, mig: [{uuid, gi, ci, mem_total,
mem_used}], processes: [{pid, mem}]}.
"""

from __future__ import annotations

import ctypes
import json
import os
from types import SimpleNamespace

import pynvml as _real
from pynvml import (  # noqa: F401  (re-exported: the collector takes them from this module)
    NVML_CLOCK_SM,
    NVML_GPM_METRIC_ANY_TENSOR_UTIL,
    NVML_GPM_METRIC_DRAM_BW_UTIL,
    NVML_GPM_METRIC_SM_OCCUPANCY,
    NVML_GPM_METRIC_SM_UTIL,
    NVML_GPM_METRICS_GET_VERSION,
    NVML_TEMPERATURE_GPU,
    NVMLError,
    NVMLError_DriverNotLoaded,
    NVMLError_FunctionNotFound,
    NVMLError_GpuIsLost,
    NVMLError_LibraryNotFound,
    NVMLError_NoPermission,
    NVMLError_NotFound,
    NVMLError_NotSupported,
    c_nvmlGpmMetricsGet_t,
    struct_c_nvmlGpmSample_t,
)

__version__ = "fake"
_S: dict = {}
_state = SimpleNamespace(cycle=-1, samples={}, calls=0)


def configure(scenario: dict) -> None:
    """Install a scenario (and reset the clock)."""
    _S.clear()
    _S.update(scenario)
    _state.cycle, _state.samples, _state.calls = -1, {}, 0


def _gpus() -> list[dict]:
    return _S["gpus"]


def _order() -> list[dict]:
    g = _gpus()
    if _S.get("rotate_order") and g:
        k = max(_state.cycle, 0) % len(g)
        return g[k:] + g[:k]
    return g


class _H:
    """A device handle: a physical GPU (mig=None) or one of its MIG devices."""
    __slots__ = ("gpu", "mig")

    def __init__(self, gpu, mig=None):
        self.gpu, self.mig = gpu, mig


def _lost(g: dict) -> bool:
    lf, lu = g.get("lost_from_cycle"), g.get("lost_until_cycle")
    return lf is not None and _state.cycle >= lf and (lu is None or _state.cycle < lu)


def _check(h: _H, fn: str):
    _state.calls += 1
    g = h.gpu
    if _lost(g):
        raise NVMLError_GpuIsLost()
    if fn in g.get("unsupported", ()):
        raise NVMLError_NotSupported()
    if fn in g.get("no_permission", ()):
        raise NVMLError_NoPermission()


def nvmlInit():
    if not _S and os.environ.get("AISPEND_FAKE_NVML"):
        with open(os.environ["AISPEND_FAKE_NVML"]) as f:
            configure(json.load(f))
    err = _S.get("init_error")
    if err:
        raise getattr(_real, "NVMLError_" + err)()


def nvmlShutdown():
    pass


def nvmlSystemGetDriverVersion():
    return _S.get("driver", "550.90.07")


def nvmlSystemGetNVMLVersion():
    return _S.get("nvml", "12.550.90.07")


def nvmlSystemGetCudaDriverVersion():
    return 12040


def _present() -> list[dict]:
    return [g for g in _order() if not (g.get("gone_from_cycle") is not None and _state.cycle >= g["gone_from_cycle"])]


def nvmlDeviceGetCount():
    _state.cycle += 1
    return len(_present())


def nvmlDeviceGetHandleByIndex(i):
    g = _present()[i]
    if _lost(g) and g.get("lost_at_handle"):
        raise NVMLError_GpuIsLost()
    return _H(g)


def nvmlDeviceGetUUID(h):
    # the driver keeps a lost GPU's UUID: loss shows up on the next query, not here
    if "nvmlDeviceGetUUID" in h.gpu.get("unsupported", ()):
        raise NVMLError_NotSupported()
    return (h.mig or h.gpu)["uuid"]


def nvmlDeviceGetName(h):
    _check(h, "nvmlDeviceGetName")
    return h.mig.get("name", "1g.10gb") if h.mig else h.gpu.get("name", "NVIDIA H100 80GB HBM3")


def nvmlDeviceGetMigMode(h):
    _check(h, "nvmlDeviceGetMigMode")
    return [1, 1] if h.gpu.get("mig") else [0, 0]


def nvmlDeviceGetMaxMigDeviceCount(h):
    _check(h, "nvmlDeviceGetMaxMigDeviceCount")
    return 7


def nvmlDeviceGetMigDeviceHandleByIndex(h, k):
    _check(h, "nvmlDeviceGetMigDeviceHandleByIndex")
    migs = h.gpu.get("mig") or []
    if k >= len(migs):
        raise NVMLError_NotFound()
    return _H(h.gpu, migs[k])


def nvmlDeviceGetGpuInstanceId(h):
    return h.mig["gi"]


def nvmlDeviceGetComputeInstanceId(h):
    return h.mig["ci"]


def nvmlDeviceGetUtilizationRates(h):
    _check(h, "nvmlDeviceGetUtilizationRates")
    if h.mig or h.gpu.get("mig"):  # as on real MIG GPUs: no utilisation counters
        raise NVMLError_NotSupported()
    return SimpleNamespace(gpu=h.gpu.get("util", 50), memory=h.gpu.get("util_mem", 20))


def nvmlDeviceGetMemoryInfo(h):
    _check(h, "nvmlDeviceGetMemoryInfo")
    if h.mig:
        return SimpleNamespace(total=h.mig["mem_total"], used=h.mig["mem_used"],
                               free=h.mig["mem_total"] - h.mig["mem_used"])
    t = h.gpu.get("mem_total", 85_520_809_984)
    return SimpleNamespace(total=t, used=h.gpu.get("mem_used", t // 2), free=t - h.gpu.get("mem_used", t // 2))


def nvmlDeviceGetPowerUsage(h):
    _check(h, "nvmlDeviceGetPowerUsage")
    if h.mig:
        raise NVMLError_NotSupported()
    return h.gpu.get("power_mw", 300_000)


def nvmlDeviceGetEnforcedPowerLimit(h):
    _check(h, "nvmlDeviceGetEnforcedPowerLimit")
    return h.gpu.get("limit_mw", 700_000)


def nvmlDeviceGetTotalEnergyConsumption(h):
    """energy0 + power × interval per cycle; after a reset (driver reload) it restarts from 0."""
    _check(h, "nvmlDeviceGetTotalEnergyConsumption")
    if h.mig:
        raise NVMLError_NotSupported()
    g, c = h.gpu, _state.cycle
    step = g.get("power_mw", 300_000) * g.get("interval_s", 10)  # mW × s = mJ
    r = g.get("energy_reset_at_cycle")
    if r is not None and c >= r:
        return step * (c - r)
    return g.get("energy0", 1_000_000_000) + step * c


def nvmlDeviceGetTemperatureV(h, sensor):
    if _S.get("old_driver"):  # binding has it, the driver's library does not
        raise NVMLError_FunctionNotFound()
    _check(h, "nvmlDeviceGetTemperatureV")
    return h.gpu.get("temp", 45)


def nvmlDeviceGetTemperature(h, sensor):
    _check(h, "nvmlDeviceGetTemperature")
    return h.gpu.get("temp", 45)


def nvmlDeviceGetClockInfo(h, typ):
    _check(h, "nvmlDeviceGetClockInfo")
    return h.gpu.get("sm_clock", 1980)


def _proc(p):
    return SimpleNamespace(pid=p["pid"], usedGpuMemory=p.get("mem"), gpuInstanceId=p.get("gi", 0xFFFFFFFF),
                           computeInstanceId=p.get("ci", 0xFFFFFFFF))


def nvmlDeviceGetComputeRunningProcesses(h):
    _check(h, "nvmlDeviceGetComputeRunningProcesses")
    return [_proc(p) for p in h.gpu.get("processes", ())]


def nvmlDeviceGetGraphicsRunningProcesses(h):
    _check(h, "nvmlDeviceGetGraphicsRunningProcesses")
    return []


# --- GPM: pynvml's own ctypes structures; a sample remembers (gpu uuid, cycle) ------------------
_keep = []


def nvmlGpmQueryDeviceSupport(h):
    if _S.get("old_driver"):
        raise NVMLError_FunctionNotFound()
    _check(h, "nvmlGpmQueryDeviceSupport")
    return SimpleNamespace(version=1, isSupportedDevice=1 if h.gpu.get("gpm", True) else 0)


def nvmlGpmSampleAlloc():
    s = struct_c_nvmlGpmSample_t()
    _keep.append(s)
    return ctypes.pointer(s)


def nvmlGpmSampleFree(p):
    pass


def nvmlGpmSampleGet(h, p):
    _check(h, "nvmlGpmSampleGet")
    _state.samples[ctypes.addressof(p.contents)] = (h.gpu["uuid"], _state.cycle)
    return p


def nvmlGpmMigSampleGet(h, gi, p):
    _check(h, "nvmlGpmMigSampleGet")
    _state.samples[ctypes.addressof(p.contents)] = ((h.gpu["uuid"], gi), _state.cycle)
    return p


def nvmlGpmMetricsGet(mg):
    """SM activity = gpm_sm (default 40); tensor = half of it; occupancy 30; DRAM 25."""
    u1, c1 = _state.samples[ctypes.addressof(mg.sample1.contents)]
    u2, c2 = _state.samples[ctypes.addressof(mg.sample2.contents)]
    if u1 != u2 or c1 >= c2:
        raise NVMLError(_real.NVML_ERROR_INVALID_ARGUMENT)
    if isinstance(u1, tuple):  # a MIG GPU instance: SM activity 10 × its GPU instance id
        sm = 10.0 * u1[1]
    else:
        sm = next(x for x in _gpus() if x["uuid"] == u1).get("gpm_sm", 40.0)
    vals = {NVML_GPM_METRIC_SM_UTIL: sm, NVML_GPM_METRIC_ANY_TENSOR_UTIL: sm / 2,
            NVML_GPM_METRIC_SM_OCCUPANCY: 30.0, NVML_GPM_METRIC_DRAM_BW_UTIL: 25.0}
    for k in range(mg.numMetrics):
        m = mg.metrics[k]
        m.value = vals[m.metricId]
        m.nvmlReturn = 0
    return mg
