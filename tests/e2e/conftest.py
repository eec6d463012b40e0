"""One synthetic organisation, ingested, built and published once per test session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from demo import DEFAULT_END, generate
from demo.emulator import ApiEmulator

# 45 days reach back far enough for a 28-day anomaly baseline before the 2026-11-12 spike and
# 28 days of demand for repatriation, and cover every injected event, at half the demo's cost.
DAYS = 45


def range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


@dataclass
class Pipeline:
    home: Path
    org: Path
    config: str
    manifest: object
    emulator: ApiEmulator
    instance: dg.DagsterInstance

    def defs(self) -> dg.Definitions:
        from pipelines.definitions import build_definitions
        return build_definitions(self.config, str(self.home))

    def materialize(self, group: str, *, tags=None, partition_key=None, raise_on_error=True):
        """group: 'billing' (monthly raw), 'daily' (daily raw + prices + dbt + publish), 'build'."""
        defs = self.defs()
        job = {"billing": "billing_ingest_job", "daily": "daily_job", "build": "build_job"}[group]
        selection = defs.resolve_job_def(job).asset_layer.executable_asset_keys
        assets = list(defs.assets)
        return dg.materialize(assets, selection=list(selection), resources=defs.resources, instance=self.instance,
                              tags=tags, partition_key=partition_key, raise_on_error=raise_on_error)

    def sql(self, query: str, params=None):
        con = duckdb.connect(str(self.home / "warehouse" / "aispend.duckdb"), read_only=True)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Pipeline:
    home = tmp_path_factory.mktemp("aispend_home")
    org = home / "demo-org"
    manifest = generate(org, days=DAYS)
    saved = dict(os.environ)
    emu = ApiEmulator(org / "api")
    emu.start()
    os.environ.update({"AISPEND_EMULATOR_URL": emu.base_url, "OPENAI_ADMIN_KEY": emu.openai_admin_key,
                       "ANTHROPIC_ADMIN_KEY": emu.anthropic_admin_key, "AISPEND_HOME": str(home)})
    p = Pipeline(home, org, str(org / "aispend.yaml"), manifest, emu, dg.DagsterInstance.ephemeral())
    start = (DEFAULT_END.toordinal() - DAYS + 1)
    first = date.fromordinal(start)
    p.materialize("billing", tags=range_tags(first.strftime("%Y-%m"), DEFAULT_END.strftime("%Y-%m")))
    p.materialize("daily", tags=range_tags(first.isoformat(), DEFAULT_END.isoformat()))
    yield p
    emu.stop()
    os.environ.clear()
    os.environ.update(saved)
