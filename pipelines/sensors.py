"""Sensors: notice new or changed billing-export manifests and load just those periods.

AWS delivers exports up to three times a day and rewrites the previous month for about two
weeks; the daily schedule alone would load a restatement up to a day late, and would not
notice a backfilled old period at all. The sensor lists manifests (cheap: list + a small
manifest object per period, no data file) and asks for a `billing_ingest_job` run of every
period whose manifest fingerprint differs from the one last loaded. The run key carries the
fingerprints, so one change fires exactly one run, even while that run is still queued.
"""

from __future__ import annotations

import dagster as dg

from connectors import rawzone
from connectors.errors import SourceError
from pipelines.config import ConfigError
from pipelines.ingest._factory import RawSpec
from pipelines.resources import AispendResource

SENSOR_INTERVAL_S = 1800


def changed_periods(spec: RawSpec, cfg, valid_keys: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """{period: [fingerprints of its new/changed exports]} over the spec's sources, plus problems."""
    changed: dict[str, list[str]] = {}
    problems: list[str] = []
    for src in cfg.sources_of_type(*spec.source_types):
        try:
            offered = spec.monthly_discover(src)
        except (SourceError, ConfigError) as e:
            problems.append(f"source '{src.name}' ({src.type}): {e}")
            continue
        for period, export in offered.items():
            if not export.fingerprint:  # not manifest-driven (e.g. a watermark source): the schedule loads it
                continue
            if period not in valid_keys:
                problems.append(f"source '{src.name}': period {period} is outside the configured partitions "
                                "(start_date); not loaded")
                continue
            if rawzone.last_fingerprint(cfg.home, spec.raw_table, src.name, period) != export.fingerprint:
                changed.setdefault(period, []).append(export.fingerprint)
    return changed, problems


def build_manifest_sensor(job, specs: list[RawSpec], partitions_def: dg.PartitionsDefinition) -> dg.SensorDefinition:
    """One sensor over every monthly (manifest-driven) raw table: run the job per changed period."""
    watched = [s for s in specs if s.cadence == "monthly" and s.monthly_discover is not None]

    @dg.sensor(name="billing_manifest_sensor", job=job, minimum_interval_seconds=SENSOR_INTERVAL_S,
               description="Requests a billing_ingest_job run for each billing period whose export manifest "
                           "is new or changed since the last load (AWS deliveries and restatements).")
    def billing_manifest_sensor(context: dg.SensorEvaluationContext, aispend: AispendResource):
        cfg = aispend.load()
        valid = set(partitions_def.get_partition_keys())
        by_period: dict[str, list[str]] = {}
        problems: list[str] = []
        for spec in watched:
            changed, errs = changed_periods(spec, cfg, valid)
            problems += errs
            for period, fps in changed.items():
                by_period.setdefault(period, []).extend(fps)
        for p in problems:
            context.log.warning(p)
        if not by_period:
            return dg.SkipReason("; ".join(problems) or "no new or changed manifest")
        return dg.SensorResult(run_requests=[
            dg.RunRequest(partition_key=period, run_key=f"{period}:{'+'.join(sorted(fps))}",
                          tags={"aispend/trigger": "manifest"})
            for period, fps in sorted(by_period.items())])

    return billing_manifest_sensor
