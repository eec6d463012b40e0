"""Measuring a command for the benchmarks: wall time and peak RSS of a child process."""

from __future__ import annotations

import json
import subprocess
import sys

# Runs a command and prints {"wall_s", "peak_rss_mib", "rc"} for it. A fresh wrapper process per
# command, so RUSAGE_CHILDREN holds that command's tree alone (the largest process in it).
_WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rss = ru.ru_maxrss / 1024
# CPU seconds (user + sys) of the command's tree: on a shared, loaded machine wall time says little
print(json.dumps({"wall_s": round(wall, 2), "peak_rss_mib": round(rss, 1), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
                  "rc": rc}))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> dict:
    """Run `cmd`; exit the benchmark with its output if it fails. Returns wall_s, peak_rss_mib, output."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.exit(f"measure failed: {out.stderr[-2000:]}")
    res = json.loads(lines[-1])
    if res["rc"] != 0:
        sys.exit(f"{' '.join(cmd[:4])} … failed (rc {res['rc']}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    res["output"] = "\n".join(lines[:-1])
    return res


def table(rows: list[tuple[str, dict]]) -> str:
    """Rows of (label, measure() result) as an aligned text table."""
    out = [f"{'':34}{'wall s':>10}{'peak RSS MiB':>15}"]
    out += [f"{label:34}{r['wall_s']:>10.1f}{r['peak_rss_mib']:>15.0f}" for label, r in rows]
    return "\n".join(out)
