-- One row per agent task (a task whose calls carry an agent name: OTel traces, recorded agent runs).
-- Calls are ordered by start (then call id); "first" / "final" are the first / last of that order.
--   llm_calls                  = Σ call_count (a run recording only totals is one row of N calls)
--   input_amplification        = Σ input_tokens / first call's input_tokens
--   resend_ratio               = Σ input_tokens / final call's input_tokens (how many times the final
--                                context was paid for; 1 = a single pass)
--   resent_input_tokens        = Σ over calls i > 1 of min(input_i, input_{i−1} + output_{i−1})
--   resent_share               = resent_input_tokens / Σ input_tokens
--   cost_amplification         = task cost / first call's cost
--   context_growth_per_step    = (final input − first input) / (llm_calls − 1)
--   single_pass_baseline_cost  = the final call's cost: one call sending the final context and
--                                producing the final answer; loop_cost_ratio = cost / baseline
--   retries                    = failed calls (status error, each was re-issued; LiteLLM logs every
--                                attempt) + calls repeating the previous successful call exactly
--                                (same model, same input and output token counts)
--   max_fanout / max_depth     = most direct child spans under one span / deepest span (root = 0)
--   runaway flags              = thresholds seed: runaway_calls, runaway_cost_usd,
--                                runaway_input_amplification, runaway_cost_amplification
-- Recorded runs without per-call tokens (SWE-agent keeps run totals, tau-bench no usage) take the
-- ratios from their history instead (int_agent_loops__prompt_shape, amplification_basis
-- 'prompt_chars'): input_amplification = Σ prompt chars / first prompt's chars, resend_ratio =
-- Σ prompt chars / final prompt's chars, when the history holds a prompt for every call. Else a
-- row standing for several calls has no per-call shape: the first/final figures and the ratios
-- built on them are null (never a fake 1.0).
with calls as (

    select * from {{ ref('fct_llm_calls') }}
    where agent is not null

),

ordered as (

    select
        *,
        row_number() over w                          as call_seq,
        lag(input_tokens)  over w                    as prev_input_tokens,
        lag(output_tokens) over w                    as prev_output_tokens,
        lag(model)         over w                    as prev_model,
        lag(status)        over w                    as prev_status
    from calls
    window w as (partition by task_id order by started_at, call_id)

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
        max(call_count)                                                   as max_call_count,
        -- call_seq is unique per task: arg_min / arg_max pick the first / final call without a
        -- second (descending) sort; the _null variants keep that call's value when it is null
        -- (plain arg_min would skip to the next call)
        arg_min_null(input_tokens, call_seq)                              as first_input,
        arg_max_null(input_tokens, call_seq)                              as final_input,
        arg_min_null(cost_usd, call_seq)                                  as first_cost,
        arg_max_null(cost_usd, call_seq)                                  as final_cost,
        sum(least(input_tokens, coalesce(prev_input_tokens + prev_output_tokens, 0))) as resent,
        cast(sum(case when status = 'error' then 1 else 0 end) as bigint) as failed_calls,
        cast(sum(case when status = 'ok' and prev_status = 'ok' and model = prev_model
                       and input_tokens = prev_input_tokens and output_tokens = prev_output_tokens
                      then 1 else 0 end) as bigint)                       as repeated_calls,
        sum(case when price_source = 'unpriced' then 1 else 0 end)        as unpriced_calls,
        -- tokens estimated from a transcript's characters: the characters themselves are the
        -- truer basis for the ratios (no per-call rounding)
        bool_or(price_source = 'estimated_tokens')                        as has_estimated_usage,
        sum(cost_usd)                                                     as priced_cost_usd
    from ordered
    group by task_id

),

shaped as (

    select
        * exclude (first_input, final_input, first_cost, final_cost, resent),
        -- per-call figures only when every row is one call with known tokens
        case when max_call_count = 1 then first_input end                 as first_call_input_tokens,
        case when max_call_count = 1 then final_input end                 as final_call_input_tokens,
        case when max_call_count = 1 then first_cost end                  as first_call_cost_usd,
        case when max_call_count = 1 then final_cost end                  as final_call_cost_usd,
        case when max_call_count = 1 then resent end                      as resent_input_tokens,
        case when unpriced_calls = 0 then priced_cost_usd end             as cost_usd
    from call_totals

),

spans as (

    select
        task_id,
        cast(sum(case when operation_name = 'execute_tool' then 1 else 0 end) as bigint) as tool_calls,
        cast(max(child_spans) as bigint)                                  as max_fanout,
        max(depth)                                                        as max_depth
    from {{ ref('int_otel_spans__tree') }}
    group by task_id

),

metrics as (

    select
        shaped.*,
        coalesce(spans.tool_calls, shaped.logged_tool_calls, 0)          as tool_calls,
        coalesce(spans.max_fanout, 0)                                     as max_fanout,
        coalesce(spans.max_depth, 0)                                      as max_depth,
        case
            when shaped.first_call_input_tokens is not null and not shaped.has_estimated_usage then 'tokens'
            when prompt_shape.prompt_calls = shaped.llm_calls then 'prompt_chars'
        end                                                               as amplification_basis,
        case
            when shaped.first_call_input_tokens is not null and not shaped.has_estimated_usage
                then shaped.input_tokens * 1.0 / nullif(shaped.first_call_input_tokens, 0)
            when prompt_shape.prompt_calls = shaped.llm_calls
                then prompt_shape.total_prompt_chars * 1.0 / nullif(prompt_shape.first_prompt_chars, 0)
        end                                                               as input_amplification,
        case
            when shaped.final_call_input_tokens is not null and not shaped.has_estimated_usage
                then shaped.input_tokens * 1.0 / nullif(shaped.final_call_input_tokens, 0)
            when prompt_shape.prompt_calls = shaped.llm_calls
                then prompt_shape.total_prompt_chars * 1.0 / nullif(prompt_shape.final_prompt_chars, 0)
        end                                                               as resend_ratio,
        shaped.cost_usd / nullif(shaped.first_call_cost_usd, 0)           as cost_amplification
    from shaped
    left join spans
        on spans.task_id = shaped.task_id
    left join {{ ref('int_agent_loops__prompt_shape') }} as prompt_shape
        on prompt_shape.task_id = shaped.task_id

),

flagged as (

    select
        *,
        (llm_calls >= {{ threshold('runaway_calls') }})                  as is_runaway_calls,
        coalesce(cost_usd >= {{ threshold('runaway_cost_usd') }}, false) as is_runaway_cost,
        (coalesce(input_amplification >= {{ threshold('runaway_input_amplification') }}, false)
         or coalesce(cost_amplification >= {{ threshold('runaway_cost_amplification') }}, false))
                                                                          as is_runaway_amplification
    from metrics

)

select
    task_id,
    agent,
    conversation_id,
    application,
    team,
    started_at,
    llm_calls,
    tool_calls,
    input_tokens,
    output_tokens,
    cast(first_call_input_tokens as bigint)                                 as first_call_input_tokens,
    cast(final_call_input_tokens as bigint)                                 as final_call_input_tokens,
    amplification_basis,
    cast(input_amplification as double)                                     as input_amplification,
    cast(resent_input_tokens as bigint)                                     as resent_input_tokens,
    cast(resend_ratio as double)                                            as resend_ratio,
    cast(resent_input_tokens * 1.0 / nullif(input_tokens, 0) as double)    as resent_share,
    cast((final_call_input_tokens - first_call_input_tokens) * 1.0 / nullif(llm_calls - 1, 0) as double)
                                                                            as context_growth_per_step,
    cast(cost_usd as decimal(38, 10))                                       as cost_usd,
    cast(first_call_cost_usd as decimal(38, 10))                            as first_call_cost_usd,
    cast(cost_amplification as double)                                      as cost_amplification,
    cast(final_call_cost_usd as decimal(38, 10))                            as single_pass_baseline_cost_usd,
    cast(cost_usd / nullif(final_call_cost_usd, 0) as double)              as loop_cost_ratio,
    failed_calls + repeated_calls                                           as retries,
    failed_calls,
    repeated_calls,
    max_fanout,
    cast(max_depth as integer)                                              as max_depth,
    is_runaway_calls,
    is_runaway_cost,
    is_runaway_amplification,
    (is_runaway_calls or is_runaway_cost or is_runaway_amplification)       as is_runaway,
    outcome_reward,
    is_recorded_cost_mismatch
from flagged
