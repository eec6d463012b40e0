-- Agent loops per day × agent × application (day = UTC date of the task's first call).
--   p50 / p90 / max of input_amplification, cost_amplification and llm_calls over the day's tasks
--   (percentile_cont; tasks without a per-call shape are left out of the amplification figures)
--   amplified_cost_usd   = Σ cost_usd of tasks flagged is_runaway_amplification (input or cost
--                          amplification at or above the agent's calibrated threshold, fct_agent_loops):
--                          the same tail the runaway flag marks, not a fixed bar most tasks pass
--   amplified_cost_share = amplified_cost_usd / total_cost_usd (priced tasks only)
--   loop_cost_ratio      = total_cost_usd / Σ single_pass_baseline_cost_usd (tasks with both)
with loops as (

    select * from {{ ref('fct_agent_loops') }}

),

daily as (

    select
        cast(started_at as date)                                                as day,
        agent,
        coalesce(application, 'unattributed')                                   as application,
        count(*)                                                                as tasks,
        cast(sum(llm_calls) as bigint)                                          as llm_calls,
        cast(sum(tool_calls) as bigint)                                         as tool_calls,
        count(*) filter (where is_runaway)                                      as runaway_tasks,
        sum(cost_usd)                                                           as total_cost_usd,
        sum(cost_usd) filter (where is_runaway_amplification)                   as amplified_cost_usd,
        sum(cost_usd) filter (where single_pass_baseline_cost_usd is not null)  as baselined_cost_usd,
        sum(single_pass_baseline_cost_usd) filter (where cost_usd is not null)  as single_pass_baseline_cost_usd,
        percentile_cont(0.5) within group (order by llm_calls)                  as p50_llm_calls,
        percentile_cont(0.9) within group (order by llm_calls)                  as p90_llm_calls,
        max(llm_calls)                                                          as max_llm_calls,
        percentile_cont(0.5) within group (order by input_amplification)        as p50_input_amplification,
        percentile_cont(0.9) within group (order by input_amplification)        as p90_input_amplification,
        max(input_amplification)                                                as max_input_amplification,
        percentile_cont(0.5) within group (order by cost_amplification)         as p50_cost_amplification,
        percentile_cont(0.9) within group (order by cost_amplification)         as p90_cost_amplification,
        max(cost_amplification)                                                 as max_cost_amplification
    from loops
    group by all

)

select
    day,
    agent,
    application,
    tasks,
    llm_calls,
    tool_calls,
    runaway_tasks,
    cast(total_cost_usd as decimal(38, 10))                                     as total_cost_usd,
    cast(coalesce(amplified_cost_usd, 0) as decimal(38, 10))                    as amplified_cost_usd,
    cast(coalesce(amplified_cost_usd, 0) / nullif(total_cost_usd, 0) as double) as amplified_cost_share,
    cast(single_pass_baseline_cost_usd as decimal(38, 10))                      as single_pass_baseline_cost_usd,
    cast(baselined_cost_usd / nullif(single_pass_baseline_cost_usd, 0) as double) as loop_cost_ratio,
    cast(p50_llm_calls as double)                                               as p50_llm_calls,
    cast(p90_llm_calls as double)                                               as p90_llm_calls,
    cast(max_llm_calls as bigint)                                               as max_llm_calls,
    cast(p50_input_amplification as double)                                     as p50_input_amplification,
    cast(p90_input_amplification as double)                                     as p90_input_amplification,
    cast(max_input_amplification as double)                                     as max_input_amplification,
    cast(p50_cost_amplification as double)                                      as p50_cost_amplification,
    cast(p90_cost_amplification as double)                                      as p90_cost_amplification,
    cast(max_cost_amplification as double)                                      as max_cost_amplification
from daily
