"""dbt models as Dagster assets, and the atomic publish of the warehouse they build."""

import os
import subprocess
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from connectors import rawzone
from pipelines import dbt_failures, warehouse
from pipelines.config import set_home_file_mode
from pipelines.dbt_args import (
    DBT_DIR,
    dbt_build_args,
    dbt_env,
    dbt_executable,
    dbt_state_dir,
    dbt_target_path,
    dbt_vars,
)
from pipelines.homelock import holding_home
from pipelines.ingest import ALL_SPECS
from pipelines.resources import AispendResource
from pipelines.run_report import NoDataError, require_some_data

WAREHOUSE_POOL = {"dagster/concurrency_key": "warehouse"}


def ensure_manifest(project_dir: Path = DBT_DIR, state_dir: Path | None = None) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file.

    The Dagster definitions need the manifest at load time; parsing needs no database. The
    manifest and the parse's logs go to `state_dir` (default `dbt_state_dir()`: the project folder
    in a checkout, a cache folder for an installed package).
    """
    state = state_dir or dbt_state_dir()
    manifest = state / "target" / "manifest.json"
    files = [p for d in ("models", "seeds", "macros", "tests", "snapshots") for p in (project_dir / d).rglob("*")
             if p.is_file()]
    files += [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    newest = max((p.stat().st_mtime for p in files if p.exists()), default=0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    env = {**os.environ, "AISPEND_DBT_DB_PATH": os.environ.get("AISPEND_DBT_DB_PATH", "/tmp/aispend-parse.duckdb"),
           "DBT_TARGET_PATH": str(state / "target"), "DBT_LOG_PATH": str(state / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(project_dir),
                    "--profiles-dir", str(project_dir)], check=True, env=env, cwd=project_dir)
    return manifest


class AispendTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            # dbt sources are named after raw tables: they are the raw ingest assets
            return spec.replace_attributes(key=dg.AssetKey(["raw", props["name"]]))
        layer = props.get("fqn", ["", "other"])[1] if props["resource_type"] == "model" else "seeds"
        return spec.replace_attributes(group_name={"staging": "staging", "intermediate": "intermediate",
                                                   "marts": "marts"}.get(layer, "seeds"))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:  # older code paths
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)


def build_dbt_assets() -> dg.AssetsDefinition:
    manifest = ensure_manifest()

    @dbt_assets(manifest=manifest, dagster_dbt_translator=AispendTranslator(), op_tags=WAREHOUSE_POOL,
                 name="aispend_dbt")
    @holding_home(exclusive=True)
    def aispend_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, aispend: AispendResource):
        """Staging, intermediate models and the marts analysts rely on, built into the build file."""
        cfg = aispend.load()
        try:  # a run that loaded nothing anywhere must not replace the warehouse with empty marts
            require_some_data(cfg)
        except NoDataError as e:
            raise dg.Failure(description=str(e), allow_retries=False) from None
        for spec in ALL_SPECS:  # sources with no data yet still resolve (zero-row schema file)
            for name, schema in (spec.snapshot_schemas or {spec.raw_table: spec.schema}).items():
                rawzone.ensure_schema_file(cfg.home, name, schema)
        warehouse.build_path(cfg.home).parent.mkdir(parents=True, exist_ok=True)
        os.environ.update(dbt_env(cfg.home))
        args = dbt_build_args(dbt_vars())
        target = dbt_target_path(cfg.home)
        invocation = dbt.cli(args, context=context, target_path=target, raise_on_error=False)
        # dagster-dbt seeds the target's partial_parse.msgpack with shutil.copy, which keeps the
        # project copy's mode (0644) instead of the home's
        set_home_file_mode(target / "partial_parse.msgpack", cfg.home_mode)
        yield from invocation.stream()
        if not invocation.is_successful():
            # dbt's own error says only that the CLI failed: name the tests that block the publish
            blocking = dbt_failures.describe(invocation.target_path / "run_results.json", invocation.manifest,
                                             warehouse.build_path(cfg.home))
            if not blocking:  # dbt failed before running a node (parse, connection): its own error
                raise invocation.get_error()
            n = len(blocking)
            raise dg.Failure(description=f"dbt build failed, nothing published ({n} blocking result{'s' * (n > 1)})\n"
                                         + "\n".join(blocking), allow_retries=False)

    return aispend_dbt


def build_publish_asset(dbt_defs: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(key="warehouse", group_name="publish", deps=[dbt_defs], op_tags=WAREHOUSE_POOL, kinds={"duckdb"})
    @holding_home(exclusive=True)
    def _publish(context: dg.AssetExecutionContext, aispend: AispendResource):
        """The analysts' warehouse: `$AISPEND_HOME/warehouse/aispend.duckdb`, replaced atomically
        only after every ingest check and dbt test of the run passed."""
        cfg = aispend.load()
        counts = warehouse.publish(cfg.home)
        yield dg.MaterializeResult(metadata={"path": str(warehouse.published_path(cfg.home)),
                                              "tables": len(counts), **{f"rows_{k}": v for k, v in counts.items()}})

    return _publish
