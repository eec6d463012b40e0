"""What a run loaded per configured source, and the guard against publishing a warehouse of nothing.

Every ingest asset reports, per configured source it read, the rows it loaded and the partitions
it wrote or skipped as unchanged (`sources` materialization metadata, see
`pipelines.ingest._factory.source_metadata`). `aispend run` sums them into its closing report and
warns about every source that produced no rows, saying whether it was unchanged since the last
load or nothing was found. Negative Usage lines a billing source loaded (allowed: providers book
credits, refunds and corrections that way) are counted and summed under the source's line, so a
sign flip in an export is seen. `require_some_data` stops the dbt build (and so the publish) when not
one configured source holds a row in the raw zone: a run that loaded nothing must not replace the
warehouse with empty marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from connectors import rawzone
from pipelines.config import AispendConfig, SourceConfig

COUNTS = ("rows", "partitions_written", "partitions_unchanged", "partitions_without_export")


class NoDataError(Exception):
    """No configured source holds any data: nothing may be built or published."""


@dataclass
class SourceCounts:
    rows: int = 0
    partitions_written: int = 0
    partitions_unchanged: int = 0
    partitions_without_export: int = 0
    negative_usage_lines: int = 0
    negative_usage_amount: float = 0.0
    negative_usage_currency: str | None = None


def sum_counts(per_asset: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, SourceCounts]:
    """The `sources` metadata of every materialization of a run, summed per source name."""
    out: dict[str, SourceCounts] = {}
    for sources in per_asset:
        for name, c in sources.items():
            acc = out.setdefault(name, SourceCounts())
            for k in COUNTS:
                setattr(acc, k, getattr(acc, k) + int(c.get(k, 0) or 0))
            n = int(c.get("negative_usage_lines", 0) or 0)
            if n:
                currency = c.get("negative_usage_currency")
                acc.negative_usage_currency = (currency if not acc.negative_usage_lines
                                               or acc.negative_usage_currency == currency else None)
                acc.negative_usage_lines += n
                acc.negative_usage_amount += float(c.get("negative_usage_amount", 0) or 0)
    return out


def report(cfg: AispendConfig, counts: Mapping[str, SourceCounts],
           windows: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(lines of the per-source table, WARNING lines) for the configured sources the run read.

    `windows`: the requested range per cadence (`daily`, `monthly`) for the warning text.
    """
    from pipelines.ingest import SOURCE_TYPES

    table, warnings = [], []
    for src in cfg.sources:
        c = counts.get(src.name)
        if c is None:  # not part of this run (e.g. a daily source in a billing-only rebuild)
            continue
        line = (f"    {src.name:<22} {src.type:<22} {c.rows:>12,} rows   {partitions(c.partitions_written)} written, "
                f"{c.partitions_unchanged} unchanged")
        table.append(line + (f", {c.partitions_without_export} without a complete export"
                             if c.partitions_without_export else ""))
        if c.negative_usage_lines:
            table.append(f"      {negative_usage(c)}")
        if c.rows:
            continue
        what = f"source '{src.name}' ({src.type})"
        if c.partitions_unchanged:
            warnings.append(f"WARNING: {what}: no new rows: {partitions(c.partitions_unchanged)} unchanged since "
                            "the last load (previous data kept)")
        else:
            span = " / ".join(windows[k] for k in SOURCE_TYPES[src.type].cadences if k in windows)
            warnings.append(f"WARNING: {what}: no rows found{f' for {span}' if span else ''} under {src.uri}; "
                            "check its uri and start_date")
    return table, warnings


def negative_usage(c: SourceCounts) -> str:
    """'3 negative Usage lines, −5,000.00 USD (credits, refunds or corrections; loaded as exported)'."""
    n = c.negative_usage_lines
    amount = f"−{abs(c.negative_usage_amount):,.2f} {c.negative_usage_currency or '(several currencies)'}"
    return (f"{n} negative Usage line{'' if n == 1 else 's'}, {amount} "
            "(credits, refunds or corrections; loaded as exported)")


def partitions(n: int) -> str:
    return f"{n} partition{'' if n == 1 else 's'}"


def has_data(cfg: AispendConfig, src: SourceConfig) -> bool:
    """Whether the raw zone holds any row of this source (any of its type's raw tables)."""
    from pipelines.ingest import SOURCE_TYPES

    return any(rawzone.has_rows(cfg.home, t, src.name) for t in SOURCE_TYPES[src.type].raw_tables)


def require_some_data(cfg: AispendConfig) -> None:
    """Raise NoDataError when sources are configured and not one of them has a row in the raw zone."""
    if not cfg.sources or any(has_data(cfg, s) for s in cfg.sources):
        return
    names = ", ".join(f"'{s.name}' ({s.type})" for s in cfg.sources)
    raise NoDataError(f"no configured source has any data in the raw zone ({names}); nothing built or published: "
                      f"check each source's uri and start_date ({cfg.start_date})")
