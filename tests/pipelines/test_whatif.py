"""`aispend whatif`: --set parsing (pure) and a real what-if run on a dbt-built fixture warehouse.

The what-if warehouse must differ from the published one by the hand-computed amounts, and the
published file must keep its bytes and mtime.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.cli import main
from pipelines.whatif import Catalog, WhatIfError, parse_sets, run_whatif

CATALOG = Catalog(thresholds=("hours_per_month", "target_utilisation"), gpu_models=("A100", "H100"),
                  sites=("dc-main", "default"))


# --- parse_sets ------------------------------------------------------------------------------
def test_parse_sets_maps_keys_to_seed_columns():
    assert parse_sets(["electricity_usd_per_kwh=0.12", "gpu_price_usd.H100=28000", "target_utilisation=0.7",
                       "pue.dc-main=1.3"], CATALOG) == {
        "sites": {"usd_per_kwh": {"*": 0.12}, "pue": {"dc-main": 1.3}},
        "gpu_models": {"purchase_price_usd": {"H100": 28000.0}},
        "thresholds": {"target_utilisation": 0.7},
    }


def test_parse_sets_later_value_wins():
    assert parse_sets(["pue=1.2", "pue=1.4"], CATALOG) == {"sites": {"pue": {"*": 1.4}}}


def test_unknown_key_lists_valid_keys():
    with pytest.raises(WhatIfError) as e:
        parse_sets(["electricity_price=0.1"], CATALOG)
    msg = str(e.value)
    assert "unknown key 'electricity_price'" in msg
    for key in ("electricity_usd_per_kwh", "gpu_price_usd", "useful_life_years", "target_utilisation",
                "hours_per_month"):
        assert key in msg


@pytest.mark.parametrize("bad, words", [
    ("gpu_price_usd.X999=1", ["unknown GPU model 'X999'", "A100, H100"]),
    ("pue.mars=1.2", ["unknown site 'mars'", "dc-main, default"]),
    ("target_utilisation.H100=0.5", ["unknown key 'target_utilisation.H100'"]),
    ("electricity_usd_per_kwh", ["expected key=value"]),
    ("=3", ["expected key=value"]),
    ("pue=abc", ["'abc' is not a number"]),
    ("pue=-1", ["finite number ≥ 0"]),
    ("pue=nan", ["finite number ≥ 0"]),
])
def test_bad_sets_are_rejected_with_the_set_named(bad, words):
    with pytest.raises(WhatIfError) as e:
        parse_sets([bad], CATALOG)
    assert repr(bad) in str(e.value)
    for w in words:
        assert w in str(e.value)


# --- a real what-if run ----------------------------------------------------------------------
DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home whose published warehouse is the dbt fixture build of the GPU and repatriation models."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
    from dbt_fixture_data import fixture_tables
    from raw_fixture import write_raw_zone

    home = tmp_path_factory.mktemp("whatif_home")
    raw = home / "lake" / "raw"
    write_raw_zone(raw, fixture_tables())
    build = warehouse.build_path(home)
    build.parent.mkdir(parents=True)
    env = {**os.environ, "AISPEND_RAW_ROOT": str(raw), "AISPEND_DBT_DB_PATH": str(build),
           "DBT_TARGET_PATH": str(home / "target"), "DBT_LOG_PATH": str(home / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    res = subprocess.run([str(dbt), "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                          "--select", "+fct_repatriation_candidates", "--exclude-resource-type", "unit_test"],
                         cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(res.stdout[-6000:])
    warehouse.publish(home)
    return home


def _q(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


GPU_HOUR_SQL = "select cost_capex_usd, cost_energy_usd, cost_facility_usd, cost_ops_usd from fct_gpu_hours"
P5_SQL = ("select gpus_needed, opex_per_gpu_month_usd, onprem_capex_usd, payback_months, monthly_cloud_cost_usd "
          "from fct_repatriation_candidates where workload_id = 'cloud_gpu_instance|aws|p5|222222222222'")


def test_whatif_rebuilds_a_copy_with_the_overrides(home, capsys):
    published = warehouse.published_path(home)
    digest, mtime = hashlib.sha256(published.read_bytes()).hexdigest(), published.stat().st_mtime_ns

    rc = main(["whatif", "--home", str(home), "--set", "electricity_usd_per_kwh=0.12",
               "--set", "gpu_price_usd.H100=28000"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert hashlib.sha256(published.read_bytes()).hexdigest() == digest
    assert published.stat().st_mtime_ns == mtime
    (whatif_db,) = sorted((home / "whatif").glob("*.duckdb"))
    assert str(whatif_db) in out and "cloud_gpu_instance|aws|p5|222222222222" in out

    # the fixture GPU-hour: 0.5 kWh measured, H100 (30000 + 12500) / (5 × 8760), PUE 1.56, ops 150/730
    before, after = _q(published, GPU_HOUR_SQL)[0], _q(whatif_db, GPU_HOUR_SQL)[0]
    assert before[:3] == ((Decimal(42500) / Decimal(43800)).quantize(Decimal("1e-10")), Decimal("0.0417"),
                          Decimal("0.023352"))
    assert after[0] == (Decimal(40500) / Decimal(43800)).quantize(Decimal("1e-10"))      # 28000 + 12500
    assert after[1] == Decimal("0.06")                                                   # 0.5 × 0.12
    assert after[2] == Decimal("0.0336")                                                 # 0.5 × 0.56 × 0.12
    assert after[3] == before[3]

    # the rented p5 (1 H100 at p95 demand): opex from fct_gpu_hours × 730 h; capex 40500 instead of 42500
    g0, opex0, capex0, pb0, cloud0 = _q(published, P5_SQL)[0]
    g1, opex1, capex1, pb1, cloud1 = _q(whatif_db, P5_SQL)[0]
    assert (g0, g1, capex0, capex1) == (1, 1, 42500, 40500)
    assert cloud1 == cloud0 == Decimal("196.64") * Decimal("30.4375")    # one day of billing, × 30.4375
    ops = Decimal(150) / Decimal(730)
    assert abs(opex0 - (Decimal("0.0417") + Decimal("0.023352") + ops) * 730) < Decimal("1e-6")
    assert abs(opex1 - (Decimal("0.06") + Decimal("0.0336") + ops) * 730) < Decimal("1e-6")   # 218.328
    assert pb0 == round(42500 / (float(cloud0) - float(opex0)), 4) == 7.3431
    assert pb1 == round(40500 / (float(cloud1) - float(opex1)), 4) == 7.0228
    assert _q(whatif_db, "select key, value from whatif_overrides order by key") == [
        ("electricity_usd_per_kwh", 0.12), ("gpu_price_usd.H100", 28000.0)]


def test_whatif_unknown_key_publishes_nothing(home, capsys):
    before = set((home / "whatif").glob("*")) if (home / "whatif").exists() else set()
    assert main(["whatif", "--home", str(home), "--set", "gpu_price=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'gpu_price'" in err and "gpu_price_usd" in err
    after = set((home / "whatif").glob("*")) if (home / "whatif").exists() else set()
    assert after == before


def test_whatif_without_a_published_warehouse(tmp_path):
    with pytest.raises(WhatIfError, match="no published warehouse"):
        run_whatif(tmp_path, ["pue=1.2"])


def test_whatif_keeps_the_last_n_copies_and_says_where(home, tmp_path, capsys):
    """`whatif_keep` in the config, overridden by --keep: older copies are deleted, the output names the folder."""
    folder = home / "whatif"
    before = sorted(folder.glob("*.duckdb")) if folder.exists() else []
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("whatif_keep: 1\n")

    assert main(["whatif", "--home", str(home), "--config", str(cfg), "--set", "pue=1.3"]) == 0
    out = capsys.readouterr().out
    (newest,) = sorted(folder.glob("*.duckdb"))
    assert newest not in before
    deleted = f"; deleted {len(before)} older: {', '.join(p.name for p in before)}" if before else ""
    assert re.search(rf"^what-if copies in {re.escape(str(folder))}: the last 1 kept \(now 1, \d+ MiB\)"
                     rf"{re.escape(deleted)} \(keep more or fewer: --keep N or whatif_keep in aispend\.yaml\)$",
                     out, re.M), out

    assert main(["whatif", "--home", str(home), "--config", str(cfg), "--keep", "2", "--set", "pue=1.4"]) == 0
    out = capsys.readouterr().out
    assert sorted(folder.glob("*.duckdb"))[0] == newest and len(list(folder.glob("*.duckdb"))) == 2
    assert f"what-if copies in {folder}: the last 2 kept (now 2, " in out and "deleted" not in out
    assert not list(folder.glob(".*.tmp"))


def test_whatif_bad_keep_is_one_line_and_writes_nothing(home, capsys):
    folder = home / "whatif"
    before = set(folder.glob("*")) if folder.exists() else set()
    assert main(["whatif", "--home", str(home), "--keep", "0", "--set", "pue=1.3"]) == 2
    assert capsys.readouterr().err == ("aispend whatif: error: --keep: '0' must be a whole number ≥ 1 "
                                       "(what-if copies kept)\n")
    assert (set(folder.glob("*")) if folder.exists() else set()) == before
