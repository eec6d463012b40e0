"""Seed llm_price_overrides: two rows of the same provider × model × variant must not overlap in
time. The singular dbt test llm_price_overrides_do_not_overlap passes on the shipped seed and, once
an overlapping row is added to the loaded seed table, fails with an error naming both rows (and not
the pair that only touches at a valid_from boundary, which is a valid price change)."""
from __future__ import annotations

import os
import subprocess

import duckdb

from test_dbt_build import DBT_DIR, _dbt_executable

TEST = "llm_price_overrides_do_not_overlap"


def _dbt(args, home):
    env = {**os.environ, "AISPEND_RAW_ROOT": str(home / "raw"), "AISPEND_DBT_DB_PATH": str(home / "o.duckdb"),
           "DBT_TARGET_PATH": str(home / "target"), "DBT_LOG_PATH": str(home / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([_dbt_executable(), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)],
                          cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300)


def test_overlapping_override_rows_fail_naming_the_rows(tmp_path):
    seeded = _dbt(["seed", "--select", "llm_price_overrides"], tmp_path)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    ok = _dbt(["test", "--select", TEST], tmp_path)
    assert ok.returncode == 0, ok.stdout[-3000:]

    con = duckdb.connect(str(tmp_path / "o.duckdb"))
    con.execute("""
        insert into llm_price_overrides
            (provider_id, model_id, variant, valid_from, valid_to, discount_pct, source, as_of)
        values ('anthropic', 'claude-opus-4-1', 'standard', date '2026-06-01', date '2026-12-31', 0.2, 'x',
                date '2026-11-22'),
               ('openai', 'gpt-4o', 'standard', date '2026-01-01', date '2026-02-01', 0.1, 'x', date '2026-11-22'),
               ('openai', 'gpt-4o', 'standard', date '2026-02-01', null, 0.2, 'x', date '2026-11-22'),
               ('openai', 'gpt-4o', 'processing=batch', date '2026-01-15', null, 0.3, 'x', date '2026-11-22')""")
    con.close()
    bad = _dbt(["test", "--select", TEST], tmp_path)
    out = bad.stdout
    assert bad.returncode != 0
    # the seed's open-ended opus row (from 2026-01-01) and the added one
    assert "anthropic/claude-opus-4-1/standard: [2026-01-01, open) overlaps [2026-06-01, 2026-12-31)" in out
    # gpt-4o: [01-01, 02-01) then [02-01, open) touch, they do not overlap; a batch-only row is
    # another variant (it beats the 'standard' row for Batch calls, by rule, not by overlap)
    assert "openai/gpt-4o" not in out
