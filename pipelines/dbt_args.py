"""How a dbt build is invoked: project folder, --vars, arguments, environment, target folder.

Small pure functions, kept apart from the Dagster assets so the light commands (`aispend whatif`)
build dbt the same way without importing Dagster.
"""

import json
from pathlib import Path
from typing import Mapping

from pipelines import warehouse

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"


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
    """Environment for dbt: the build file path (profiles.yml reads it) and the raw root."""
    return {"AISPEND_DBT_DB_PATH": str(warehouse.build_path(home)),
            "AISPEND_RAW_ROOT": str(home / "lake" / "raw")}


def dbt_target_path(home: Path) -> Path:
    """dbt's target folder for this home's builds (kept between runs, next to the build file).

    It holds dbt's partial-parse state: the profile (the build file's path) is the same on every
    run of a home, so from the second run on dbt re-parses only changed files instead of the
    whole project.
    """
    return warehouse.build_path(home).parent / "dbt-target"
