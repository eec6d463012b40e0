-- One row per agent task (a task with an agent name: OTel traces, recorded agent runs).
--   llm_calls           = Σ call_count (a run recording only totals is one row of N calls)
--   input_amplification = Σ input_tokens / first call's input_tokens
--   resend_ratio        = Σ resent / Σ input_tokens, where call i (ordered by start) re-sends
--                         min(input_i, input_{i-1} + output_{i-1}) tokens of prior context
--   cost_amplification  = task cost / first call's cost
--   retries             = calls that failed (status error) and so were re-issued
--   max_fanout          = most direct child spans under one span of the task
--   max_depth           = deepest span level (root = 0)
with calls as (

    select * from {{ ref('fct_llm_calls') }}
    where agent is not null

),

ordered as (

    select
        *,
        row_number() over (partition by task_id order by started_at, call_id) as call_seq,
        lag(input_tokens)  over (partition by task_id order by started_at, call_id) as prev_input_tokens,
        lag(output_tokens) over (partition by task_id order by started_at, call_id) as prev_output_tokens
    from calls

),

call_totals as (

    select
        task_id,
        min(agent)                                                        as agent,
        min(conversation_id)                                              as conversation_id,
        min(application)                                                  as application,
        min(team)                                                         as team,
        min(started_at)                                                   as started_at,
        cast(sum(call_count) as bigint)                                   as llm_calls,
        cast(sum(tool_calls) as bigint)                                   as logged_tool_calls,
        max(outcome_reward)                                               as outcome_reward,
        bool_or(is_recorded_cost_mismatch)                                as is_recorded_cost_mismatch,
        cast(sum(input_tokens) as bigint)                                 as input_tokens,
        cast(sum(output_tokens) as bigint)                                as output_tokens,
        -- per-call shape is unknown when a row stands for several calls (a run recording only
        -- totals): first-call figures, amplification and re-sent context are then null
        max(case when call_seq = 1 and call_count = 1 then input_tokens end) as first_call_input_tokens,
        max(case when call_seq = 1 and call_count = 1 then cost_usd end)  as first_call_cost_usd,
        case when max(call_count) = 1 then
            cast(sum(least(input_tokens, coalesce(prev_input_tokens + prev_output_tokens, 0))) as bigint)
        end                                                               as resent_input_tokens,
        cast(sum(case when status = 'error' then 1 else 0 end) as bigint) as retries,
        sum(case when price_source = 'unpriced' then 1 else 0 end)        as unpriced_calls,
        sum(cost_usd)                                                     as priced_cost_usd
    from ordered
    group by task_id

),

spans as (

    select
        task_id,
        cast(sum(case when operation_name = 'execute_tool' then 1 else 0 end) as bigint) as tool_calls,
        cast(max(child_spans) as bigint)                                  as max_fanout,
        max(depth)                                                        as max_depth
    from {{ ref('int_otel_spans__tree') }}
    group by task_id

)

select
    call_totals.task_id,
    call_totals.agent,
    call_totals.conversation_id,
    call_totals.application,
    call_totals.team,
    call_totals.started_at,
    call_totals.llm_calls,
    -- tool calls: execute_tool spans (OTel) or the tool calls the agent log records
    coalesce(spans.tool_calls, call_totals.logged_tool_calls, 0)            as tool_calls,
    call_totals.input_tokens,
    call_totals.output_tokens,
    call_totals.first_call_input_tokens,
    call_totals.input_tokens * 1.0 / nullif(call_totals.first_call_input_tokens, 0) as input_amplification,
    call_totals.resent_input_tokens,
    call_totals.resent_input_tokens * 1.0 / nullif(call_totals.input_tokens, 0)     as resend_ratio,
    cast(case when call_totals.unpriced_calls = 0 then call_totals.priced_cost_usd end as decimal(38, 10)) as cost_usd,
    cast(call_totals.first_call_cost_usd as decimal(38, 10))               as first_call_cost_usd,
    case when call_totals.unpriced_calls = 0
         then call_totals.priced_cost_usd / nullif(call_totals.first_call_cost_usd, 0) end as cost_amplification,
    call_totals.retries,
    coalesce(spans.max_fanout, 0)                                           as max_fanout,
    cast(coalesce(spans.max_depth, 0) as integer)                           as max_depth,
    (call_totals.llm_calls >= {{ threshold('runaway_calls') }}
     or coalesce(call_totals.input_tokens * 1.0 / nullif(call_totals.first_call_input_tokens, 0)
        >= {{ threshold('runaway_input_amplification') }}, false))         as is_runaway,
    call_totals.outcome_reward,
    call_totals.is_recorded_cost_mismatch
from call_totals
left join spans
    on spans.task_id = call_totals.task_id
