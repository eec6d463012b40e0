"""`aispend whatif`: the GPU-cost and repatriation models re-run with overridden assumptions.

The published warehouse is copied to `$AISPEND_HOME/whatif/<UTC timestamp>.duckdb` and dbt rebuilds
only the assumption-driven models (WHATIF_MODELS) in the copy, with the overrides passed as the
`whatif` dbt var (read by the `assumption_seed` and `threshold` macros). The published file is only
ever read, so analysts and the dashboard keep seeing the real numbers; every what-if is a file of
its own, with its overrides recorded in its `whatif_overrides` table. A copy is as large as the
warehouse, so only the newest `whatif_keep` (config, default 3; `--keep`) are kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines import warehouse
from pipelines.dbt_args import DBT_DIR, dbt_build_args, dbt_env, dbt_executable

# --set key → (seed, column). Site keys apply to every site unless qualified (`pue.us-colo`), GPU
# keys to every GPU model unless qualified (`gpu_price_usd.H100`).
SITE_KEYS = {
    "electricity_usd_per_kwh": "usd_per_kwh",
    "pue": "pue",
    "colo_usd_per_kw_month": "colo_usd_per_kw_month",
    "ops_usd_per_gpu_month": "ops_usd_per_gpu_month",
}
GPU_KEYS = {
    "gpu_price_usd": "purchase_price_usd",
    "server_overhead_usd_per_gpu": "server_overhead_usd_per_gpu",
    "useful_life_years": "useful_life_years",
    "tdp_w": "tdp_w",
    "idle_power_w": "idle_power_w",
}
# Models whose numbers depend on those assumptions (the GPU cost per hour and everything
# repatriation reads); nothing else in the copy is rebuilt.
WHATIF_MODELS = ("int_gpu_hours", "fct_gpu_hours", "dim_cloud_gpu_list_prices", "int_repatriation__hourly_demand",
                 "int_repatriation__workloads", "fct_repatriation_candidates")


class WhatIfError(ValueError):
    """A --set that cannot be applied, or a home without a published warehouse."""


@dataclass(frozen=True)
class Catalog:
    """What may be overridden: threshold names, GPU models, sites (from the warehouse's seeds)."""

    thresholds: tuple[str, ...]
    gpu_models: tuple[str, ...]
    sites: tuple[str, ...]

    def valid_keys(self) -> list[str]:
        return ([f"{k}[.<site: {'|'.join(self.sites)}>]" for k in SITE_KEYS]
                + [f"{k}[.<gpu: {'|'.join(self.gpu_models)}>]" for k in GPU_KEYS]
                + list(self.thresholds))


def parse_sets(sets: list[str], catalog: Catalog) -> dict[str, dict]:
    """Turn `--set key[.qualifier]=number` strings into the `whatif` dbt var.

    Returns {'sites': {column: {site|'*': v}}, 'gpu_models': {column: {gpu|'*': v}},
    'thresholds': {name: v}} with empty sections left out; a later --set of the same key wins.
    Raises WhatIfError naming the --set and listing the valid keys on anything else.
    """
    out: dict[str, dict] = {}
    for raw in sets:
        key, sep, value_text = raw.partition("=")
        key = key.strip()
        if not sep or not key:
            raise WhatIfError(f"--set {raw!r}: expected key=value, e.g. electricity_usd_per_kwh=0.12")
        try:
            value = float(value_text)
        except ValueError:
            raise WhatIfError(f"--set {raw!r}: value {value_text.strip()!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise WhatIfError(f"--set {raw!r}: value must be a finite number ≥ 0")
        name, dot, qualifier = key.partition(".")
        if name in SITE_KEYS or name in GPU_KEYS:
            seed, column, allowed, what = (("sites", SITE_KEYS[name], catalog.sites, "site") if name in SITE_KEYS
                                           else ("gpu_models", GPU_KEYS[name], catalog.gpu_models, "GPU model"))
            if dot and qualifier not in allowed:
                raise WhatIfError(f"--set {raw!r}: unknown {what} {qualifier!r}; known: {', '.join(allowed)}")
            out.setdefault(seed, {}).setdefault(column, {})[qualifier if dot else "*"] = value
        elif key in catalog.thresholds:
            out.setdefault("thresholds", {})[key] = value
        else:
            raise WhatIfError(f"--set {raw!r}: unknown key {key!r}; valid keys: {', '.join(catalog.valid_keys())}")
    return out


def read_catalog(db_path: Path) -> Catalog:
    """The overridable names in a warehouse's seed tables."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        def names(sql: str) -> tuple[str, ...]:
            return tuple(r[0] for r in con.execute(sql).fetchall())
        return Catalog(thresholds=names("select name from main.thresholds order by name"),
                       gpu_models=names("select gpu_model from main.gpu_models order by gpu_model"),
                       sites=names("select site from main.sites order by site"))
    finally:
        con.close()


def whatif_dir(home: Path) -> Path:
    return home / "whatif"


def run_whatif(home: Path, sets: list[str], *, now: datetime | None = None) -> Path:
    """Copy the published warehouse, rebuild WHATIF_MODELS in the copy with the overrides; return its path.

    The published warehouse is read, never written. On a dbt failure or an interrupt the
    half-built copy is removed (a WhatIfError carries dbt's output tail).
    """
    published = warehouse.published_path(home)
    if not published.exists():
        raise WhatIfError(f"whatif: no published warehouse at {published}; run `aispend run` (or `aispend demo`) first")
    overrides = parse_sets(sets, read_catalog(published))
    if not overrides:
        raise WhatIfError("whatif: nothing to change; give at least one --set key=value")
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    out_dir = whatif_dir(home)
    out_dir.mkdir(parents=True, exist_ok=True)
    dst = out_dir / f"{stamp}.duckdb"
    tmp = dst.with_name(f".{dst.name}.tmp")
    try:
        shutil.copyfile(published, tmp)
        # the pipeline's own dbt environment and arguments, pointed at the copy
        env = {**os.environ, **dbt_env(home),
               "AISPEND_DBT_DB_PATH": str(tmp),
               "DBT_TARGET_PATH": str(out_dir / "target"),
               "DBT_LOG_PATH": str(out_dir / "logs")}
        cmd = [dbt_executable(), *dbt_build_args({"whatif": overrides}),
               "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--select", *WHATIF_MODELS]
        res = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise WhatIfError(f"whatif: dbt build failed; the published warehouse is unchanged\n"
                              f"{res.stdout[-4000:]}{res.stderr[-2000:]}")
        con = duckdb.connect(str(tmp))
        try:
            con.execute("create or replace table main.whatif_overrides (key varchar, value double)")
            for raw in sets:
                key, _, value = raw.partition("=")
                con.execute("insert into main.whatif_overrides values (?, ?)", [key.strip(), float(value)])
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def prune_copies(home: Path, keep: int) -> tuple[list[Path], list[Path]]:
    """Keep the newest `keep` what-if copies (names are UTC timestamps), delete the older ones.

    Returns (kept, deleted), oldest first. Each copy is a whole warehouse (the demo's: ~180 MiB).
    """
    copies = sorted(whatif_dir(home).glob("*.duckdb"))
    deleted = copies[:-keep]
    for path in deleted:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
    return copies[-keep:], deleted


def compare(home: Path, whatif_db: Path, limit: int = 10) -> list[tuple]:
    """Repatriation rows published vs what-if: workload, verdict, payback and monthly on-prem cost, both sides."""
    con = duckdb.connect(str(whatif_db), read_only=True)
    try:
        con.execute("attach ? as published (read_only)", [str(warehouse.published_path(home))])
        return con.execute("""
            select w.workload_id, p.verdict, w.verdict,
                   round(p.payback_months, 1), round(w.payback_months, 1),
                   round(p.monthly_onprem_cost_usd, 2), round(w.monthly_onprem_cost_usd, 2)
            from main.fct_repatriation_candidates as w
            left join published.main.fct_repatriation_candidates as p using (workload_id)
            order by w.score desc nulls last, w.workload_id
            limit ?""", [limit]).fetchall()
    finally:
        con.close()
