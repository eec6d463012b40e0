"""Benchmark: the cost-per-query, agent-loop and repatriation marts over N LLM calls in N/10 tasks and 90 days.

Target (issue "Cost per query, agentic loop amplification and repatriation"): 10M calls in 1M tasks
over 90 days → int_cost_per_query__calls, fct_cost_per_query, agg_cost_per_query_daily,
int_agent_loops__prompt_shape, fct_agent_loops, agg_agent_loops_daily, int_repatriation__hourly_demand,
int_repatriation__workloads and fct_repatriation_candidates (with their data tests) build in under
60 s, peak RSS under 2 GiB.

The marts' inputs are generated directly, not through connectors and staging (their benchmarks
are elsewhere): DuckDB writes ``fct_llm_calls``, ``int_otel_spans__tree`` and the provider usage
API's daily cost lines ``int_llm_api_daily_cost`` as Parquet in the marts' input shape
(deterministic, from hashes of the call number), and the build database gets views over those files
under the models' names (plus ``stg_agent_trajectories__calls``: the recorded runs' calls with a
prompt size each). ``--reuse`` keeps the Parquet files of an earlier run with the same N.

Setup, not measured: zero-row schema files for every raw table (as the Dagster dbt asset makes
them) under ``<dir>/query-marts/home``, ``dbt seed``, then ``dbt run`` of the repatriation mart's
other upstream models (focus_costs, fct_gpu_hours, stg_self_hosted__requests,
dim_cloud_gpu_list_prices and their parents) for real from that empty raw zone, so the mart sizes
on-prem cost from its seeds; then the generated views replace the models of those names, and
account_attribution gets one project per usage workload. Measured: ``dbt build --select <the marts>
--exclude-resource-type unit_test``, a child process whose wall time and peak RSS
(``getrusage(RUSAGE_CHILDREN)``) are reported, with dbt's per-model times. The run fails unless
fct_repatriation_candidates holds one api workload per usage provider × model × application (40)
and some verdict other than 'insufficient data' (90 days ≥ repatriation_min_days).

The calls: 10 per task, in four sources like the real ones — 60 % OTel traces (every other one
an agent; conversations of 3 traces; root span status OK / ERROR / UNSET), 20 % LiteLLM sessions,
10 % self-hosted requests with a task header, 10 % recorded agent runs with a reward; context
growing every step; 1 % of calls unpriced; 20 applications × 8 models (40 model × application
pairs). The usage: per pair and day, tokens ~25 % above the traced calls' (4× and 2× that for
every 5th pair and the next), a tenth of every 4th pair's traffic on the batch API.

    python tests/benchmarks/bench_query_marts.py [--calls 10000000] [--dir /tmp/aispend-bench]

N defaults to env ``BENCH_CALLS`` or 10M. Not a test: timings vary by machine. Results are printed
and written to ``<dir>/results-query-marts.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_DIR = REPO / "dbt"
sys.path.insert(0, str(Path(__file__).parent))

from _measure import measure, table  # noqa: E402

CALLS_PER_TASK = 10
DAYS = 90
MARTS = ["int_cost_per_query__calls", "fct_cost_per_query", "agg_cost_per_query_daily",
         "int_agent_loops__prompt_shape", "fct_agent_loops", "agg_agent_loops_daily",
         "int_repatriation__hourly_demand", "int_repatriation__workloads", "fct_repatriation_candidates"]
# the repatriation mart's upstream models not generated here: built for real, from an empty raw zone
# and the seeds, in the unmeasured setup (they hold no rows, so the mart falls back on its seeds)
UPSTREAM = ["+focus_costs", "+fct_gpu_hours", "+stg_self_hosted__requests", "+dim_cloud_gpu_list_prices"]
# generated inputs, as views under the models' names (replacing what the upstream build made of them)
GENERATED = ["fct_llm_calls", "int_otel_spans__tree", "stg_agent_trajectories__calls", "int_llm_api_daily_cost"]
# API usage workloads (provider × model × application): the calls' model is task % 8 and their
# application task % 20, so tasks 0..39 give every pair the calls hold (task % 10 = 8 are
# self-hosted calls: those 4 pairs get usage only, their hours spread evenly)
USAGE_PAIRS = 40

# kind of a task by task % 10: 0-5 OTel, 6-7 LiteLLM, 8 self-hosted, 9 recorded run
_CALLS_SQL = """
copy (
  with ids as (select range as i from range(?)),
  c as (
    select i, i // {k} as task, i % {k} as seq, (i // {k}) % 10 as kind,
           timestamptz '2026-08-01 00:00:00+00'
             + to_seconds(cast((i // {k}) * {secs} // ? + (i % {k}) * 7 as bigint)) as started_at,
           cast(400 + (i % {k}) * 350 + hash(i, 1) % 300 as bigint) as input_tokens,
           cast(50 + hash(i, 2) % 400 as bigint) as output_tokens,
           hash(i, 3) % 100 = 0 as unpriced
    from ids)
  select
    'call-' || i as call_id,
    case when kind < 6 then 'trace-' || task when kind < 8 then 'sess-' || task
         when kind = 8 then 'task-' || task else 'run-' || task end as task_id,
    case when kind < 6 and seq > 0 then 'root-' || task end as parent_id,
    case when kind < 6 then 'trace-' || task end as trace_id,
    case when kind < 6 then 'conv-' || (task // 3) when kind < 8 then 'sess-' || task end as conversation_id,
    started_at,
    started_at + interval 3 second as ended_at,
    cast(3000 as bigint) as duration_ms,
    case when kind = 8 then 'self_hosted' else 'openai' end as provider,
    'model-' || (task % 8) as model,
    input_tokens,
    cast(0 as bigint) as cached_input_tokens, cast(0 as bigint) as cache_write_tokens,
    output_tokens, cast(0 as bigint) as reasoning_tokens, false as is_batch,
    cast(null as varchar) as service_tier,
    case when kind = 8 then 'self_hosted' else 'api' end as serving,
    'team-' || (task % 5) as team,
    'app-' || (task % 20) as application,
    case when (kind < 6 and task % 2 = 0) or kind = 9 then 'agent-' || (task % 4) end as agent,
    case when hash(i, 4) % 50 = 0 then 'error' else 'ok' end as status,
    case when kind < 6 then 1 end as depth,
    case when not unpriced
         then cast((input_tokens * 2.5 + output_tokens * 10) / 1e6 as decimal(38, 10)) end as cost_usd,
    case when not unpriced then cast(case when kind = 8 then 0.4 else 1 end
                                     * (input_tokens * 2.5 + output_tokens * 10) / 1e6 as decimal(38, 10))
         end as cost_busy_only_usd,
    case when not unpriced then cast(0 as decimal(38, 10)) end as cost_unmeasured_usd,
    case when unpriced then 'unpriced' when kind = 8 then 'gpu_time' else 'list_price' end as price_source,
    unpriced as is_unpriced,
    'model-' || (task % 8) as price_model_id,
    case when kind < 6 then 'otel_spans' when kind < 8 then 'litellm_spend_logs'
         when kind = 8 then 'self_hosted_requests' else 'agent_llm_calls' end as source_table,
    cast(1 as bigint) as call_count,
    case when kind = 9 then cast(hash(i, 5) % 3 as bigint) end as tool_calls,
    cast(null as decimal(38, 10)) as recorded_cost_usd,
    false as is_recorded_cost_mismatch,
    case when kind = 9 then cast(hash(task, 6) % 2 as double) end as outcome_reward
  from c
  order by i
) to '{out}' (format parquet, row_group_size 1000000)
"""

# the trace tree of the OTel tasks: a root invoke_agent span with the calls as its children
_SPANS_SQL = """
copy (
  select task_id, 'root-' || substr(task_id, 7) as span_id, 'root-' || substr(task_id, 7) as root_span_id,
         cast(hash(task_id) % 3 as integer) as status_code, 'invoke_agent' as operation_name,
         count(*) as child_spans, 0 as depth
  from read_parquet('{calls}') where source_table = 'otel_spans' group by task_id
  union all
  select task_id, call_id, 'root-' || substr(task_id, 7), 0, 'chat', 0, 1
  from read_parquet('{calls}') where source_table = 'otel_spans'
) to '{out}' (format parquet, row_group_size 1000000)
"""

# The provider usage API's daily cost lines (int_llm_api_daily_cost, the columns
# int_repatriation__hourly_demand reads) for each workload pair over the 90 days: input and output
# token lines ~25 % above the traced calls' tokens of that pair and day (usage is complete, traces
# sample), 4× that for every 5th pair and 2× for the next (mostly untraced traffic: at 10M calls
# these reach the candidate and watch thresholds), every 4th pair with a tenth of its traffic on the
# batch API at half price. Each pair has its own project (account_id), mapped to its application in
# account_attribution.
_USAGE_SQL = """
copy (
  with pairs as (select range as t from range({pairs})),
  days as (select range as d from range({days})),
  base as (
    select t, d, b.is_batch,
           'model-' || (t % 8) as model, 'proj-bench-' || t as account_id,
           cast(? * (case t % 5 when 0 then 4 when 1 then 2 else 1 end)
                  * (case when b.is_batch then 0.1 else 0.9 end) * (0.9 + (hash(t, d) % 21) / 100.0)
                as bigint) as calls
    from pairs cross join days
    cross join (select unnest([false, true]) as is_batch) as b
    where t % 4 = 0 or not b.is_batch)
  select date '2026-08-01' + cast(d as integer) as usage_date, 'openai' as provider, model, account_id,
         is_batch, tt.token_type, calls * tt.per_call as tokens,
         cast(calls * tt.per_call * tt.usd_per_mtok * (case when is_batch then 0.5 else 1 end) / 1e6
              as decimal(38, 10)) as cost_usd
  from base
  cross join (values ('input', 2500, 2.5), ('output', 310, 10.0)) as tt(token_type, per_call, usd_per_mtok)
  order by usage_date, account_id, is_batch, token_type
) to '{out}' (format parquet)
"""


def _raw_zone(home: Path) -> None:
    """A zero-row schema file per raw table, as the Dagster dbt asset prepares them (sources resolve)."""
    from connectors import rawzone
    from pipelines.ingest import ALL_SPECS

    for spec in ALL_SPECS:
        for name, schema in (spec.snapshot_schemas or {spec.raw_table: spec.schema}).items():
            rawzone.ensure_schema_file(home, name, schema)


def _dbt() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=int(os.environ.get("BENCH_CALLS", 10_000_000)))
    ap.add_argument("--dir", default="/tmp/aispend-bench")
    ap.add_argument("--reuse", action="store_true", help="keep the input Parquet files of a run with the same N")
    args = ap.parse_args()
    import duckdb

    work = Path(args.dir) / "query-marts"
    tasks = args.calls // CALLS_PER_TASK
    calls, spans = work / "fct_llm_calls.parquet", work / "int_otel_spans__tree.parquet"
    usage = work / "int_llm_api_daily_cost.parquet"
    stamp = work / "calls.txt"
    reuse = args.reuse and stamp.exists() and stamp.read_text() == str(args.calls) and usage.exists()
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.monotonic()
        con = duckdb.connect()
        con.execute("set memory_limit = '1500MB'")
        con.execute(_CALLS_SQL.format(k=CALLS_PER_TASK, secs=DAYS * 86400, out=calls), [args.calls, tasks])
        con.execute(_SPANS_SQL.format(calls=calls, out=spans))
        con.execute(_USAGE_SQL.format(pairs=USAGE_PAIRS, days=DAYS, out=usage), [args.calls / (USAGE_PAIRS * DAYS)])
        con.close()
        stamp.write_text(str(args.calls))
        print(f"{args.calls:,} calls in {tasks:,} tasks over {DAYS} days written in {time.monotonic() - t:.1f}s")
    db = work / "build.duckdb"
    for f in (db, work / "build.duckdb.wal"):
        f.unlink(missing_ok=True)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    _raw_zone(home)

    env = {**os.environ, "AISPEND_DBT_DB_PATH": str(db), "AISPEND_RAW_ROOT": str(home / "lake" / "raw"),
           "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    common = ["--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    t = time.monotonic()
    for step in (["seed"], ["run", "--select", *UPSTREAM]):
        done = subprocess.run([_dbt(), *step, *common], env=env, cwd=DBT_DIR, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"dbt {step[0]} failed:\n{done.stdout[-3000:]}")

    con = duckdb.connect(str(db))
    # the marts' inputs, under the names dbt resolves ref() to (not selected, so not rebuilt); the
    # upstream build may have made some of them (empty) already
    for name in GENERATED:
        kind = con.execute("select table_type from information_schema.tables where table_schema = 'main' "
                           "and table_name = ?", [name]).fetchone()
        if kind:
            con.execute(f"drop {'view' if kind[0] == 'VIEW' else 'table'} main.{name}")
    con.execute(f"create view main.fct_llm_calls as select * from read_parquet('{calls}')")
    con.execute(f"create view main.int_otel_spans__tree as select * from read_parquet('{spans}')")
    con.execute(f"""create view main.stg_agent_trajectories__calls as
        select task_id as run_id, cast(substr(call_id, 6) as integer) as call_seq, [input_tokens * 4] as prompt_chars
        from read_parquet('{calls}') where source_table = 'agent_llm_calls'""")
    con.execute(f"create view main.int_llm_api_daily_cost as select * from read_parquet('{usage}')")
    # each usage project's application, beside the seed's demo projects
    con.execute("""insert into main.account_attribution (provider, account_id, team, application, source, as_of)
        select 'openai', 'proj-bench-' || t, 'team-' || (t % 5), 'app-' || (t % 20), 'bench', date '2026-08-01'
        from range(?) as r(t)""", [USAGE_PAIRS])
    con.close()
    print(f"setup (raw zone schema files, dbt seed, upstream models, input views) in {time.monotonic() - t:.1f}s")

    build = measure([_dbt(), "build", "--select", *MARTS, "--exclude-resource-type", "unit_test", *common],
                    env=env, cwd=str(DBT_DIR))

    # dbt's own per-model lines: "... OK created sql table model main.<name> ... [OK in 3.21s]"
    model_s = {m.group(1): float(m.group(2)) for m in
               re.finditer(r"created sql \w+ model main\.(\w+) .*?\[\w+ in ([0-9.]+)s\]", build["output"])}
    con = duckdb.connect(str(db), read_only=True)
    counts = {m: con.execute(f"select count(*) from main.{m}").fetchone()[0] for m in MARTS}
    verdicts, types = ({k: n for k, n in con.execute(f"select {col}, count(*) from main.fct_repatriation_candidates "
                                                   "group by all order by 1").fetchall()}
                       for col in ("verdict", "workload_type"))
    con.close()
    # one workload per usage pair (provider × model × application); no calls-only API workload, no
    # rented GPU instance (empty billing); 90 days of history ≥ repatriation_min_days for a verdict
    if types != {"api": USAGE_PAIRS}:
        sys.exit(f"fct_repatriation_candidates: expected {USAGE_PAIRS} api workloads, got {types}")
    if set(verdicts) <= {"insufficient data"}:
        sys.exit(f"fct_repatriation_candidates: no verdict beyond 'insufficient data': {verdicts}")
    out = {"calls": args.calls, "tasks": tasks, "days": DAYS, "dbt_build_wall_s": build["wall_s"],
           "dbt_build_peak_rss_mib": build["peak_rss_mib"], "dbt_build_cpu_s": build["cpu_s"],
           "load_avg_1m_after": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), "rows": counts,
           "model_s": model_s, "repatriation_verdicts": verdicts}
    print(table([("dbt build (query, loop, repatriation)", build)]))
    print(f"rows: {counts}")
    print("per model s: " + ", ".join(f"{k} {v:.1f}" for k, v in model_s.items()))
    print(f"repatriation verdicts: {verdicts}")
    print(f"CPU {build['cpu_s']:.1f}s on {os.cpu_count()} CPUs "
          f"(wall ≥ {build['cpu_s'] / os.cpu_count():.1f}s on idle CPUs; "
          f"more is waiting for them); 1-min load average after: {os.getloadavg()[0]:.1f}")
    print(f"< 60 s: {'yes' if build['wall_s'] < 60 else 'NO'}; "
          f"RSS < 2 GiB: {'yes' if build['peak_rss_mib'] < 2048 else 'NO'}")
    (Path(args.dir) / "results-query-marts.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
