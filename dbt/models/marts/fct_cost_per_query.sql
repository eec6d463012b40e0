-- One row per query / task (all LLM calls sharing a task_id). The task key is chosen per source
-- in the int_llm_calls__from_* models: trace root (OTel) → gateway session id → the single request;
-- a recorded agent run is its own task.
-- cost_usd = Σ call cost, null when any call is unpriced (priced_cost_usd keeps the partial sum).
with calls as (

    select * from {{ ref('fct_llm_calls') }}

)

select
    task_id,
    min(application)                                   as application,
    min(team)                                          as team,
    min(agent)                                         as agent,
    -- the model that served most calls (ties: alphabetical)
    arg_max(model, model_calls)                        as model,
    min(started_at)                                    as started_at,
    max(ended_at)                                      as ended_at,
    cast(sum(call_count) as bigint)                    as calls,
    cast(sum(input_tokens) as bigint)                  as input_tokens,
    cast(sum(output_tokens) as bigint)                 as output_tokens,
    case when count(distinct serving) > 1 then 'mixed' else min(serving) end as serving,
    cast(sum(case when is_unpriced then 1 else 0 end) as bigint) as unpriced_calls,
    cast(case when sum(case when is_unpriced then 1 else 0 end) = 0 then sum(cost_usd) end
         as decimal(38, 10))                           as cost_usd,
    cast(sum(cost_usd) as decimal(38, 10))             as priced_cost_usd,
    cast(sum(recorded_cost_usd) as decimal(38, 10))    as recorded_cost_usd,
    bool_or(is_recorded_cost_mismatch)                 as is_recorded_cost_mismatch,
    min(source_table)                                  as source_table,
    -- self-hosted calls without their share of the GPUs' idle time (= cost_usd for API calls)
    cast(case when sum(case when is_unpriced then 1 else 0 end) = 0 then sum(cost_busy_only_usd) end
         as decimal(38, 10))                           as cost_busy_only_usd
from (
    select *, count(*) over (partition by task_id, model) as model_calls
    from calls
)
group by task_id
