"""Partitions: billing per month (billing period / invoice month), everything else per UTC day."""

from __future__ import annotations

import dagster as dg


def monthly(start_date: str) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(start_date=start_date[:7], fmt="%Y-%m", end_offset=1)


def daily(start_date: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start_date)
