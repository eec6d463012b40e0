"""How a dbt build is invoked: project folder, dbt executable, --vars, arguments, environment,
target and state folders.

Small pure functions, kept apart from the Dagster assets so the light commands (`aispend whatif`)
build dbt the same way without importing Dagster.

Where the project is: the repository's top-level `dbt/` in a checkout (an editable install
included); a wheel ships it as `pipelines/dbt_project/` (pyproject.toml). An installed package may
be read-only, so outside a checkout nothing is written into the project folder: dbt's parse
state and logs go to a per-user cache folder (`dbt_state_dir`), a build's to `$AISPEND_HOME`.
"""

import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Mapping

from pipelines import warehouse

_PACKAGED_DBT = Path(__file__).resolve().parent / "dbt_project"  # an installed wheel
_CHECKOUT_DBT = Path(__file__).resolve().parents[1] / "dbt"     # the repository
DBT_DIR = _PACKAGED_DBT if (_PACKAGED_DBT / "dbt_project.yml").is_file() else _CHECKOUT_DBT
IN_CHECKOUT = DBT_DIR == _CHECKOUT_DBT


def dbt_state_dir() -> Path:
    """Where `dbt parse` keeps the manifest the Dagster definitions load (`target/`) and its logs.

    In a checkout the project folder itself (`dbt/target`, `dbt/logs`: git-ignored); installed, a
    folder under `$XDG_CACHE_HOME` (default `~/.cache`) named after this installation (its path and
    version), so two virtual environments never share a manifest.
    """
    if IN_CHECKOUT:
        return DBT_DIR
    from importlib.metadata import PackageNotFoundError, version
    try:
        release = version("aispend")
    except PackageNotFoundError:
        release = "unknown"
    key = hashlib.sha256(f"{DBT_DIR}|{release}".encode()).hexdigest()[:12]
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aispend" / f"dbt-{key}"


def dbt_executable() -> str:
    """The dbt command of this Python's dbt-core (a dependency, so the pinned version).

    The `dbt` script beside the interpreter (the virtual environment's bin, activated or not); where
    there is none (an interpreter whose scripts live elsewhere, a venv that sees its dependencies
    through a path entry), a launcher running this interpreter's dbt, written once under the state
    folder's `target/` (git-ignored in a checkout). Never another `dbt` found on PATH: it may be
    another version or engine.
    """
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return _launcher("dbt", "")


# A dbt build started by a run must not outlive it: killed with kill -9 (or the machine's OOM killer),
# the run cannot stop its child, which would go on writing the build file under the next run. The
# child polls its parent (POSIX: an orphan is re-parented, getppid() changes) and kills itself.
# Chosen over Linux's prctl(PR_SET_PDEATHSIG), which is Linux-only and fires when the *thread* that
# started the child exits, and over a process group of its own, which only a signal sent to the
# group reaches (kill -9 <pid> is not). dagster-dbt's DbtCliResource offers no preexec hook: the
# launcher is its `dbt_executable`.
_ORPHAN_WATCH = ("import os, signal, threading, time; parent = os.getppid()\n"
                 "def orphaned():\n"
                 "    while os.getppid() == parent:\n"
                 "        time.sleep(0.5)\n"
                 "    os.kill(os.getpid(), signal.SIGKILL)\n"
                 "threading.Thread(target=orphaned, daemon=True).start()\n")


def dbt_run_executable() -> str:
    """dbt for pipeline runs: this Python's dbt-core (as dbt_executable), exiting when the process
    that started it dies, however it dies."""
    return _launcher("dbt-run", _ORPHAN_WATCH)


def _launcher(name: str, prelude: str) -> str:
    launcher = dbt_state_dir() / "target" / "bin" / name
    text = ("#!/bin/sh\n# dbt-core of " + sys.executable + " (written by aispend: pipelines/dbt_args.py)\n"
            f"exec {shlex.quote(sys.executable)} -c '{prelude}import sys; from dbt.cli.main import cli; "
            "sys.argv[0] = \"dbt\"; sys.exit(cli())' \"$@\"\n")
    if not launcher.is_file() or launcher.read_text() != text:
        launcher.parent.mkdir(parents=True, exist_ok=True)
        tmp = launcher.with_name(f".{name}.{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, launcher)
    return str(launcher)


def dbt_vars(window_start: str | None = None, window_end: str | None = None) -> dict[str, str]:
    """The --vars a build gets: only the optional partition window.

    The raw root travels as the env var AISPEND_RAW_ROOT (`dbt_env`), not a var: dbt throws its
    partial-parse state away whenever --vars differ, and a full parse of the project costs more
    than most daily builds.
    """
    out = {}
    if window_start:
        out["window_start"] = window_start
    if window_end:
        out["window_end"] = window_end
    return out


def dbt_build_args(vars_: Mapping[str, object], *, unit_tests: bool = False) -> list[str]:
    """`dbt build` arguments for a pipeline run.

    Unit tests check SQL logic on fixed inputs, not the data: they run in the test suite
    (tests/dbt), so a production build leaves them out unless asked. No --vars flag when there are
    none (an empty --vars still counts as a change for partial parsing).
    """
    args = ["build"]
    if vars_:
        args += ["--vars", json.dumps(dict(vars_), sort_keys=True)]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


def dbt_env(home: Path) -> dict[str, str]:
    """Environment for dbt: the build file path (profiles.yml reads it), the raw root, and no
    anonymous usage stats (as the Dagster instance's telemetry; dbt would also write a `.user.yml`
    into the project folder). Logs go to the target folder (dagster-dbt sets DBT_LOG_PATH)."""
    return {"AISPEND_DBT_DB_PATH": str(warehouse.build_path(home)),
            "AISPEND_RAW_ROOT": str(home / "lake" / "raw"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def dbt_target_path(home: Path) -> Path:
    """dbt's target folder for this home's builds (kept between runs, next to the build file).

    It holds dbt's partial-parse state: the profile (the build file's path) is the same on every
    run of a home, so from the second run on dbt re-parses only changed files instead of the
    whole project.
    """
    return warehouse.build_path(home).parent / "dbt-target"
