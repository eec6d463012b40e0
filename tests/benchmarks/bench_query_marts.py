"""Benchmark: the cost-per-query and agent-loop marts over N LLM calls in N/10 tasks and 90 days.

Target (issue "Cost per query, agentic loop amplification and repatriation"): 10M calls in 1M tasks
over 90 days → int_cost_per_query__calls, fct_cost_per_query, agg_cost_per_query_daily,
fct_agent_loops and agg_agent_loops_daily (with their data tests) build in under 60 s, peak RSS
under 2 GiB.

The marts' inputs are generated directly, not through connectors and staging (their benchmarks
are elsewhere): DuckDB writes ``fct_llm_calls`` and ``int_otel_spans__tree`` as Parquet in the
marts' input shape (deterministic, from hashes of the call number), and the build database gets
views over those files under the models' names (plus ``stg_agent_trajectories__calls``: the
recorded runs' calls with a prompt size each). ``--reuse`` keeps the Parquet files of an earlier
run with the same N. Then ``dbt seed --select thresholds`` (not
measured) and the measured ``dbt build --select <the marts> --exclude-resource-type unit_test``,
a child process whose wall time and peak RSS (``getrusage(RUSAGE_CHILDREN)``) are reported.

The calls: 10 per task, in four sources like the real ones — 60 % OTel traces (every other one
an agent; conversations of 3 traces; root span status OK / ERROR / UNSET), 20 % LiteLLM sessions,
10 % self-hosted requests with a task header, 10 % recorded agent runs with a reward; context
growing every step; 1 % of calls unpriced; 20 applications × 8 models.

    python tests/benchmarks/bench_query_marts.py [--calls 10000000] [--dir /tmp/aispend-bench]

N defaults to env ``BENCH_CALLS`` or 10M. Not a test: timings vary by machine. Results are printed
and written to ``<dir>/results-query-marts.json``.
"""

from __future__ import annotations

import argparse
import json
import os
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
         "int_agent_loops__prompt_shape", "fct_agent_loops", "agg_agent_loops_daily"]

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
    stamp = work / "calls.txt"
    reuse = args.reuse and stamp.exists() and stamp.read_text() == str(args.calls)
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.monotonic()
        con = duckdb.connect()
        con.execute("set memory_limit = '1500MB'")
        con.execute(_CALLS_SQL.format(k=CALLS_PER_TASK, secs=DAYS * 86400, out=calls), [args.calls, tasks])
        con.execute(_SPANS_SQL.format(calls=calls, out=spans))
        con.close()
        stamp.write_text(str(args.calls))
        print(f"{args.calls:,} calls in {tasks:,} tasks over {DAYS} days written in {time.monotonic() - t:.1f}s")
    db = work / "build.duckdb"
    for f in (db, work / "build.duckdb.wal"):
        f.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    # the marts' inputs, under the names dbt resolves ref() to (not selected, so not rebuilt)
    con.execute(f"create view main.fct_llm_calls as select * from read_parquet('{calls}')")
    con.execute(f"create view main.int_otel_spans__tree as select * from read_parquet('{spans}')")
    con.execute(f"""create view main.stg_agent_trajectories__calls as
        select task_id as run_id, cast(substr(call_id, 6) as integer) as call_seq, [input_tokens * 4] as prompt_chars
        from read_parquet('{calls}') where source_table = 'agent_llm_calls'""")
    con.close()

    env = {**os.environ, "AISPEND_DBT_DB_PATH": str(db), "DBT_TARGET_PATH": str(work / "target"),
           "DBT_LOG_PATH": str(work / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    common = ["--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    seed = subprocess.run([_dbt(), "seed", "--select", "thresholds", *common], env=env, cwd=DBT_DIR,
                          capture_output=True, text=True)
    if seed.returncode != 0:
        sys.exit(f"dbt seed failed:\n{seed.stdout[-3000:]}")
    build = measure([_dbt(), "build", "--select", *MARTS, "--exclude-resource-type", "unit_test", *common],
                    env=env, cwd=str(DBT_DIR))

    con = duckdb.connect(str(db), read_only=True)
    counts = {m: con.execute(f"select count(*) from main.{m}").fetchone()[0] for m in MARTS}
    con.close()
    out = {"calls": args.calls, "tasks": tasks, "days": DAYS, "dbt_build_wall_s": build["wall_s"],
           "dbt_build_peak_rss_mib": build["peak_rss_mib"], "dbt_build_cpu_s": build["cpu_s"],
           "load_avg_1m_after": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), "rows": counts}
    print(table([("dbt build (query + loop marts)", build)]))
    print(f"rows: {counts}")
    print(f"CPU {build['cpu_s']:.1f}s on {os.cpu_count()} CPUs (wall ≥ {build['cpu_s'] / os.cpu_count():.1f}s on idle CPUs; "
          f"more is waiting for them); 1-min load average after: {os.getloadavg()[0]:.1f}")
    print(f"< 60 s: {'yes' if build['wall_s'] < 60 else 'NO'}; "
          f"RSS < 2 GiB: {'yes' if build['peak_rss_mib'] < 2048 else 'NO'}")
    (Path(args.dir) / "results-query-marts.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
