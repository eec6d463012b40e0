"""What a column means travels with the warehouse: the marts' yml descriptions are published as
table and column comments, which any SQL client shows and `aispend describe` prints."""
from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.cli import main

MARTS = Path(__file__).resolve().parents[2] / "dbt" / "models" / "marts"


def _yml(mart: str) -> dict:
    return next(m for m in yaml.safe_load((MARTS / f"{mart}.yml").read_text())["models"] if m["name"] == mart)


def test_every_mart_column_carries_its_yml_description(pipeline):
    for mart in ("focus_costs", "fct_cost_per_query", "fct_cost_anomaly_causes"):
        doc = _yml(mart)
        got = dict(pipeline.sql("select column_name, comment from duckdb_columns() "
                                "where schema_name = 'main' and table_name = ?", [mart]))
        assert got == {c["name"]: c["description"].strip() for c in doc["columns"]}
        assert pipeline.sql("select comment from duckdb_tables() where table_name = ?", [mart]) == [
            (doc["description"].strip(),)]


def test_aispend_describe_prints_them(pipeline, capsys):
    assert main(["describe", "focus_costs", "--home", str(pipeline.home), "--max-width", "400"]) == 0
    out = capsys.readouterr().out
    x_source = next(c for c in _yml("focus_costs")["columns"] if c["name"] == "x_source")
    assert "x_source" in out and x_source["description"].strip() in out
    assert main(["sql", "select count(*) as n from fct_cost_anomaly_causes", "--home", str(pipeline.home),
                 "--csv"]) == 0
    n = pipeline.sql("select count(*) from fct_cost_anomaly_causes")[0][0]
    assert capsys.readouterr().out.splitlines() == ["n", str(n)]
