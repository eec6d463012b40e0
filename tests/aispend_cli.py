"""The `aispend` command line as a user runs it, for tests: a subprocess on its own home."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def aispend(*args: str, home: Path, timeout: int = 1500) -> subprocess.CompletedProcess:
    """`python -m pipelines.cli *args` with AISPEND_HOME = `home` (its own Dagster instance under it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "AISPEND_CONFIG")}
    env.update(AISPEND_HOME=str(home), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
