-- One row per query (user-level task): the calls sharing a query key. The key is configurable
-- (var query_key_precedence, applied in int_cost_per_query__calls; default trace root →
-- gen_ai.conversation.id → gateway session → recorded agent run → the single request), and the
-- winning kind is shown in query_key_source.
-- cost_usd           = Σ call cost_usd (API: priced tokens; self-hosted: share of GPU-hours, fully
--                      loaded), null when any call is unpriced (priced_cost_usd keeps the partial sum)
-- cost_busy_only_usd = Σ call cost_busy_only_usd: the marginal cost (self-hosted without the GPUs'
--                      idle share), the figure to rank queries by: a short chat in an idle GPU
--                      week carries that week's idle cost in cost_usd, not in this. Null when any
--                      call's is unknown (unpriced, or run on GPU seconds with no utilisation reading)
-- cost_idle_usd      = cost_usd − cost_busy_only_usd (the GPUs' idle share, shown apart)
-- cost_unmeasured_usd= Σ call cost_unmeasured_usd (GPU seconds with no utilisation reading)
-- is_success         = every call with an outcome succeeded (reward ≥ task_success_min_reward, or
--                      OTel root status OK); null when the query carries no outcome
with calls as (

    select * from {{ ref('int_cost_per_query__calls') }}

),

-- per query × model first (hash aggregates, no window sort): the main model is the one with most calls
by_model as (

    select
        query_id,
        model,
        count(*)                                            as model_calls,
        min(query_key_source)                               as query_key_source,
        min(application)                                    as application,
        min(team)                                           as team,
        min(agent)                                          as agent,
        min(started_at)                                     as started_at,
        max(ended_at)                                       as ended_at,
        sum(call_count)                                     as calls,
        sum(input_tokens)                                   as input_tokens,
        sum(output_tokens)                                  as output_tokens,
        min(serving)                                        as min_serving,
        max(serving)                                        as max_serving,
        sum(case when is_unpriced then 1 else 0 end)        as unpriced_calls,
        sum(cost_usd)                                       as cost_usd,
        sum(cost_busy_only_usd)                             as cost_busy_only_usd,
        sum(case when cost_usd is not null and cost_busy_only_usd is null then 1 else 0 end) as busy_unknown_calls,
        sum(cost_unmeasured_usd)                            as cost_unmeasured_usd,
        sum(recorded_cost_usd)                              as recorded_cost_usd,
        bool_or(is_recorded_cost_mismatch)                  as is_recorded_cost_mismatch,
        min(source_table)                                   as source_table,
        sum(outcome_reward)                                 as reward_sum,
        count(outcome_reward)                               as reward_count,
        min(outcome_source)                                 as outcome_source,
        bool_and(is_success)                                as is_success
    from calls
    group by query_id, model

)

select
    query_id                                           as task_id,
    -- several kinds can meet under one key only when the precedence groups them (e.g. a
    -- conversation of traces); the alphabetically first then names it
    min(query_key_source)                              as query_key_source,
    min(application)                                   as application,
    min(team)                                          as team,
    min(agent)                                         as agent,
    -- the model that served most calls (ties: alphabetical)
    arg_min(model, (-model_calls, model))              as model,
    min(started_at)                                    as started_at,
    max(ended_at)                                      as ended_at,
    cast(sum(calls) as bigint)                         as calls,
    cast(sum(input_tokens) as bigint)                  as input_tokens,
    cast(sum(output_tokens) as bigint)                 as output_tokens,
    case when min(min_serving) <> max(max_serving) then 'mixed' else min(min_serving) end as serving,
    cast(sum(unpriced_calls) as bigint)                as unpriced_calls,
    cast(case when sum(unpriced_calls) = 0 then sum(cost_usd) end as decimal(38, 10)) as cost_usd,
    cast(sum(cost_usd) as decimal(38, 10))             as priced_cost_usd,
    cast(sum(recorded_cost_usd) as decimal(38, 10))    as recorded_cost_usd,
    bool_or(is_recorded_cost_mismatch)                 as is_recorded_cost_mismatch,
    min(source_table)                                  as source_table,
    cast(case when sum(unpriced_calls) = 0 and sum(busy_unknown_calls) = 0
              then sum(cost_busy_only_usd) end as decimal(38, 10))                     as cost_busy_only_usd,
    cast(case when sum(unpriced_calls) = 0 and sum(busy_unknown_calls) = 0
              then sum(cost_usd) - sum(cost_busy_only_usd) end as decimal(38, 10))     as cost_idle_usd,
    cast(case when sum(unpriced_calls) = 0 then sum(cost_unmeasured_usd) end as decimal(38, 10)) as cost_unmeasured_usd,
    cast(sum(reward_sum) / nullif(sum(reward_count), 0) as double) as outcome_reward,
    min(outcome_source)                                as outcome_source,
    bool_and(is_success)                               as is_success
from by_model
group by query_id
