"""Thin root loader: `dagster dev` / `dg check defs` / the CLI all get their definitions here."""

import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines import partitions
from pipelines.alerts import write_digest
from pipelines.config import load_config, secure_home
from pipelines.dbt_args import DBT_DIR, dbt_run_executable
from pipelines.dbt_assets import build_dbt_assets, build_publish_asset
from pipelines.ingest import ALL_SPECS
from pipelines.ingest._factory import build_raw_assets
from pipelines.resources import AispendResource
from pipelines.sensors import build_manifest_sensor


@dg.op(required_resource_keys={"aispend"})
def anomaly_digest(context) -> str:
    """Write the week's flagged anomalies (the 7 days ending at the newest day of cost data in the
    published warehouse) to a file and stdout, with that week and the data's freshness stated."""
    path, text = write_digest(context.resources.aispend.load().home)
    print(text)
    context.log.info(f"anomaly digest written to {path}")
    return str(path)


@dg.job(description="Weekly cost-anomaly digest from fct_cost_anomalies.")
def weekly_anomaly_job():
    anomaly_digest()


def build_definitions(config_path: str | None = None, home: str | None = None) -> dg.Definitions:
    cfg = load_config(config_path)
    # the Dagster path (`dagster dev`, the daemon's run workers) writes the home without the CLI:
    # the same umask and home mode (not created here: loading definitions writes nothing)
    secure_home(Path(home).resolve() if home else cfg.home, cfg.home_mode, create=False)
    monthly, daily = partitions.monthly(cfg.start_date), partitions.daily(cfg.start_date)
    raw_assets = build_raw_assets(ALL_SPECS, {"monthly": monthly, "daily": daily})
    dbt_defs = build_dbt_assets()
    publish = build_publish_asset(dbt_defs)

    # Jobs ingest only the sources the config enables (the global price catalogue always): an ingest
    # asset with no source would record an empty materialisation per partition of the range (a
    # 90-day run: 90 events for each of nine such assets, seconds of bookkeeping). The assets all
    # stay defined, so dbt's sources resolve and a source added later joins the jobs on reload.
    def enabled(spec) -> bool:
        return ((spec.cadence == "snapshot" and spec.source_snapshot is None)
                or bool(cfg.sources_of_type(*spec.source_types)))

    def selected(cadence: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*[dg.AssetKey(["raw", t]) for s in ALL_SPECS
                                          if s.cadence == cadence and enabled(s)
                                          for t in (s.snapshot_schemas or [s.raw_table])])

    billing, daily_raw, snapshot = selected("monthly"), selected("daily"), selected("snapshot")
    build = dg.AssetSelection.assets(dbt_defs, publish)

    billing_job = dg.define_asset_job("billing_ingest_job", selection=billing, partitions_def=monthly,
                                      description="Billing exports for a billing period (manifest-driven).")
    daily_job = dg.define_asset_job("daily_job", selection=daily_raw | snapshot | build, partitions_def=daily,
                                    description="API usage, traces, GPU telemetry for a day, then dbt build "
                                                "and publish.")
    build_job = dg.define_asset_job("build_job", selection=snapshot | build,
                                    description="Rebuild and publish the warehouse from the raw zone.")

    @dg.schedule(job=billing_job, cron_schedule="0 5 * * *", execution_timezone="UTC")
    def billing_schedule(context: dg.ScheduleEvaluationContext):
        """Daily: the open month refreshes, and AWS rewrites the previous month for ~2 weeks."""
        keys = monthly.get_partition_keys(current_time=context.scheduled_execution_time)[-2:]
        for k in keys:
            yield dg.RunRequest(partition_key=k, run_key=f"{k}-{context.scheduled_execution_time:%Y%m%d}")

    daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=6)
    weekly_schedule = dg.ScheduleDefinition(job=weekly_anomaly_job, cron_schedule="0 7 * * 1",
                                            execution_timezone="UTC")

    return dg.Definitions(
        assets=[*raw_assets, dbt_defs, publish],
        jobs=[billing_job, daily_job, build_job, weekly_anomaly_job],
        schedules=[billing_schedule, daily_schedule, weekly_schedule],
        sensors=[build_manifest_sensor(billing_job, ALL_SPECS, monthly)],
        resources={
            "aispend": AispendResource(config_path=config_path or "", home=home or ""),
            # this Python's dbt, whether or not its venv is activated, ending with the run's process
            # (pipelines/dbt_args.py)
            "dbt": DbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR),
                                  dbt_executable=dbt_run_executable()),
        },
    )


defs = build_definitions(os.environ.get("AISPEND_CONFIG"), os.environ.get("AISPEND_HOME"))
