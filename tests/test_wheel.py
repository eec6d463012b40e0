"""The built wheel runs on its own: `pip wheel` the project, install it into a fresh virtual
environment, and from a folder outside the repository run `aispend demo --help` and a tiny
`aispend run` (a FOCUS CSV → the published focus_costs).

The fresh environment sees the test environment's installed dependencies through a path entry (a
`.pth` file: fast, and no download of Dagster or dbt), but the project's own code is imported only
from the installed wheel: `pipelines.__file__` must lie inside the fresh environment, and no
`PYTHONPATH` reaches it. Its bin has no `dbt` script (dependencies' scripts are not installed), so
the run also proves the dbt launcher fallback; the installed dbt project is made read-only, so
dbt's parse state and logs must go to the cache folder and the build's to `$AISPEND_HOME`.

Building needs setuptools from the package index (build isolation), as any `pip wheel` does.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = ("collectors", "connectors", "dashboards", "demo", "pipelines")
SKIP_DIRS = {"__pycache__", "target", "logs", "dbt_packages"}  # build output, never project files
DBT_PACKAGE = "pipelines.dbt_project"  # where the wheel puts the top-level dbt/ folder

FOCUS_CSV = """\
BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,BillingCurrency,ProviderName
2025-01-01,2025-02-01,2025-01-05,2025-01-06,Usage,1.25,USD,Acme
2025-01-01,2025-02-01,2025-01-06,2025-01-07,Usage,2.50,USD,Acme
2025-01-01,2025-02-01,2025-01-07,2025-01-08,Tax,0.10,USD,Acme
"""


def _tree_packages() -> dict[str, Path]:
    """Every folder the wheel must carry, by package name: the code packages' folders (data-only
    ones included) and the dbt project's, mapped under DBT_PACKAGE."""
    out = {}
    for root, name in [*((REPO / c, c) for c in CODE), (REPO / "dbt", DBT_PACKAGE)]:
        for d in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            rel = d.relative_to(root)
            if SKIP_DIRS & set(rel.parts) or any(part.startswith(".") for part in rel.parts):
                continue
            out[".".join([name, *rel.parts])] = d
    return out


def _tree_files() -> dict[str, Path]:
    """Wheel path → source file, for every file of those folders (README, SQL, YAML, CSV, Python)."""
    out = {}
    for package, d in _tree_packages().items():
        for f in d.iterdir():
            if f.is_file() and not f.name.startswith(".") and f.suffix != ".pyc":
                out["/".join([*package.split("."), f.name])] = f
    return out


def test_pyproject_lists_every_folder_of_the_tree():
    """pyproject.toml lists the packages by hand (a package-dir mapping rules out discovery): a new
    folder of code, data or dbt models must be added there, or the wheel would lack it."""
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["package-dir"] == {DBT_PACKAGE: "dbt"}
    assert sorted(conf["packages"]) == sorted(_tree_packages())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps` of a copy of the working tree (the build writes build/ and egg-info)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in SKIP_DIRS or n.startswith(".") or n.endswith(".egg-info")}
        if Path(folder) == REPO:  # the working tree's own environments, data and tests
            skip |= {n for n in names if n in ("data", "tests", "build", "dist") or n.startswith(".venv")}
        return skip

    shutil.copytree(REPO, src, ignore=ignore)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"),
                          str(src)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    [whl] = (tmp / "dist").glob("aispend-*.whl")
    return whl


def test_wheel_carries_every_file_the_code_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(set(_tree_files()) - names)
    assert missing == []
    # spot checks of what the code opens by path at run time
    assert {"connectors/focus_columns.csv", "connectors/focus_mappings/oci.csv", "pipelines/quality/suites.yml",
            "pipelines/sql/headlines/1_spend_by_source_month.sql", "pipelines/dbt_project/dbt_project.yml",
            "pipelines/dbt_project/profiles.yml", "pipelines/dbt_project/models/marts/focus_costs.sql",
            "pipelines/dbt_project/seeds/thresholds.csv"} <= names
    assert not [n for n in names if "/target/" in n or "/logs/" in n or n.endswith(".user.yml")]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed, seeing this environment's dependencies via a .pth."""
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    res = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_aispend_test_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    project = site / "pipelines" / "dbt_project"
    for p in [project, *project.rglob("*")]:  # read-only, as a system-wide install may be
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    work = tmp / "work"  # the user's folder, outside the repository
    work.mkdir()
    here = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DAGSTER_HOME", "AISPEND_CONFIG", "PYTHONHOME")}
    env.update(PATH=os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != here),
               AISPEND_HOME=str(work / "home"), XDG_CACHE_HOME=str(tmp / "cache"))
    yield venv, site, work, env, tmp / "cache"
    for p in [project, *project.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_code_comes_only_from_the_wheel(installed):
    venv, site, work, env, _ = installed
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import connectors, pipelines, pipelines.dbt_args as a; "
                          "print(pipelines.__file__, connectors.__file__, a.DBT_DIR, a.IN_CHECKOUT, sep='|')"],
                         cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip().split("|")
    assert out == [str(site / "pipelines" / "__init__.py"), str(site / "connectors" / "__init__.py"),
                   str(site / "pipelines" / "dbt_project"), "False"]
    assert not (venv / "bin" / "dbt").exists()  # dependencies' scripts are not there


def test_demo_help(installed):
    venv, _, work, env, _ = installed
    res = subprocess.run([str(venv / "bin" / "aispend"), "demo", "--help"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("usage: aispend demo") and "--home" in res.stdout and "--seed" in res.stdout


def test_a_tiny_run_publishes_focus_costs(installed):
    venv, site, work, env, cache = installed
    (work / "focus.csv").write_text(FOCUS_CSV)
    (work / "aispend.yaml").write_text('start_date: "2025-01-01"\n'
                                       "sources:\n  - {name: tiny, type: focus_files, uri: focus.csv}\n")
    res = subprocess.run([str(venv / "bin" / "aispend"), "run", "--config", "aispend.yaml", "--end", "2025-01-31"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    con = duckdb.connect(str(work / "home" / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*), sum(BilledCost), count(*) filter (where ChargeCategory = 'Tax') "
                           "from focus_costs where x_source = 'focus_files'").fetchone() == (3, Decimal("3.85"), 1)
    finally:
        con.close()
    # dbt's parse state and the launcher in the cache folder; the installed project untouched
    [state] = (cache / "aispend").glob("dbt-*")
    assert (state / "target" / "manifest.json").is_file() and (state / "target" / "bin" / "dbt").is_file()
    project = site / "pipelines" / "dbt_project"
    assert not [p for p in ("target", "logs", ".user.yml") if (project / p).exists()]
