-- One row per agent task (a task whose calls carry an agent name: OTel traces, recorded agent runs).
-- Calls are ordered by start (then call id); "first" / "final" are the first / last of that order.
-- The amplification basis ("base call") is the first call that sent input (input_tokens > 0): a
-- failed attempt sends nothing billable (the demo's throttled first calls record 0 tokens), so a
-- ratio on it would be a division by zero and drop the task out of every ranking. The cost basis
-- is likewise the first call that cost anything (cost_usd > 0).
--   llm_calls                  = Σ call_count (a run recording only totals is one row of N calls)
--   input_amplification        = Σ input_tokens / base call's input_tokens
--   resend_ratio               = Σ input_tokens / final call's input_tokens (how many times the final
--                                context was paid for; 1 = a single pass)
--   resent_input_tokens        = Σ over calls i > 1 of min(input_i, input_{i−1} + output_{i−1})
--   resent_share               = resent_input_tokens / Σ input_tokens
--   cost_amplification         = task cost / cost base call's cost
--   context_growth_per_step    = (final input − base call's input) / (llm_calls − base_call_seq)
--   single_pass_baseline_cost  = the final call's cost: one call sending the final context and
--                                producing the final answer; loop_cost_ratio = cost / baseline
--   retries                    = failed calls (status error, each was re-issued; LiteLLM logs every
--                                attempt) + calls repeating the previous successful call exactly
--                                (same model, same input and output token counts)
--   max_fanout / max_depth     = most direct child spans under one span / deepest span (root = 0)
-- Runaway flags are calibrated per agent: what is normal for a 30-step support agent is a runaway
-- for a 3-step one, and a fixed bar (the old "input amplification ≥ 20") flagged 78 % of the
-- demo's tasks. For each metric m (llm_calls, cost_usd, input_amplification, cost_amplification):
--   runaway_<m>_threshold      = max(runaway_floor_<m>, runaway_p95_multiple × the agent's p95 of m)
--                                over all of the agent's tasks; an agent with fewer than
--                                runaway_min_agent_tasks tasks has no stable p95: floors only
--                                (runaway_threshold_basis 'floors', else 'agent_p95')
--   is_runaway_<m>             = m ≥ its threshold (the calls threshold rounded up: calls are whole)
--   is_runaway_amplification   = input or cost amplification flagged; is_runaway = any flag
--   runaway_reasons            = each flag in words: value, threshold and where it comes from
-- Recorded runs without per-call tokens (SWE-agent keeps run totals, tau-bench no usage) take the
-- ratios from their history instead (int_agent_loops__prompt_shape, amplification_basis
-- 'prompt_chars'): input_amplification = Σ prompt chars / first prompt's chars, resend_ratio =
-- Σ prompt chars / final prompt's chars, when the history holds a prompt for every call. Else a
-- row standing for several calls has no per-call shape: the first/final figures and the ratios
-- built on them are null (never a fake 1.0).
{#- (flag column suffix, metric column, words, digits shown, unit prefix) -#}
{%- set runaway_metrics = [
    ('calls', 'llm_calls', 'calls', 0, ''),
    ('cost', 'cost_usd', 'cost', 2, '$'),
    ('input_amplification', 'input_amplification', 'input amplification', 1, ''),
    ('cost_amplification', 'cost_amplification', 'cost amplification', 1, ''),
] %}
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
        min(call_seq) filter (where input_tokens > 0)                     as base_seq,
        arg_min(input_tokens, call_seq) filter (where input_tokens > 0)   as base_input,
        arg_min(cost_usd, call_seq) filter (where cost_usd > 0)           as base_cost,
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
        * exclude (first_input, final_input, first_cost, final_cost, resent, base_seq, base_input, base_cost),
        -- per-call figures only when every row is one call with known tokens
        case when max_call_count = 1 then first_input end                 as first_call_input_tokens,
        case when max_call_count = 1 then final_input end                 as final_call_input_tokens,
        case when max_call_count = 1 then first_cost end                  as first_call_cost_usd,
        case when max_call_count = 1 then final_cost end                  as final_call_cost_usd,
        case when max_call_count = 1 then base_seq end                    as base_call_seq,
        case when max_call_count = 1 then base_input end                  as base_call_input_tokens,
        case when max_call_count = 1 then base_cost end                   as base_call_cost_usd,
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
            when shaped.base_call_input_tokens is not null and not shaped.has_estimated_usage then 'tokens'
            when prompt_shape.prompt_calls = shaped.llm_calls then 'prompt_chars'
        end                                                               as amplification_basis,
        case
            when shaped.base_call_input_tokens is not null and not shaped.has_estimated_usage
                then shaped.input_tokens * 1.0 / shaped.base_call_input_tokens
            when prompt_shape.prompt_calls = shaped.llm_calls
                then prompt_shape.total_prompt_chars * 1.0 / nullif(prompt_shape.first_prompt_chars, 0)
        end                                                               as input_amplification,
        case
            when shaped.final_call_input_tokens is not null and not shaped.has_estimated_usage
                then shaped.input_tokens * 1.0 / nullif(shaped.final_call_input_tokens, 0)
            when prompt_shape.prompt_calls = shaped.llm_calls
                then prompt_shape.total_prompt_chars * 1.0 / nullif(prompt_shape.final_prompt_chars, 0)
        end                                                               as resend_ratio,
        shaped.cost_usd / shaped.base_call_cost_usd                       as cost_amplification
    from shaped
    left join spans
        on spans.task_id = shaped.task_id
    left join {{ ref('int_agent_loops__prompt_shape') }} as prompt_shape
        on prompt_shape.task_id = shaped.task_id

),

agent_distribution as (

    -- rounded to 4 decimals: the bars are estimates, and a bar of 35.699999999999946 reads badly
    select
        agent,
        count(*)                                                          as agent_tasks,
{%- for _, col, _, _, _ in runaway_metrics %}
        round(percentile_cont(0.5) within group (order by cast({{ col }} as double)), 4)  as p50_{{ col }},
        round(percentile_cont(0.95) within group (order by cast({{ col }} as double)), 4) as p95_{{ col }}{{ ',' if not loop.last }}
{%- endfor %}
    from metrics
    group by agent

),

rules as (

    select
        {{ threshold('runaway_p95_multiple') }}     as p95_multiple,
        {{ threshold('runaway_min_agent_tasks') }}  as min_agent_tasks
{%- for _, col, _, _, _ in runaway_metrics %},
        {{ threshold('runaway_floor_' ~ col) }}     as floor_{{ col }}
{%- endfor %}

),

bars as (

    -- the bar each metric must reach: the floor, raised to p95_multiple × the agent's p95 when the
    -- agent has enough tasks for a p95 to mean something
    select
        agent_distribution.*,
        rules.*,
        case when agent_distribution.agent_tasks >= rules.min_agent_tasks then 'agent_p95' else 'floors' end
                                                                          as runaway_threshold_basis
{%- for _, col, _, _, _ in runaway_metrics %},
        round(greatest(rules.floor_{{ col }},
                       case when agent_distribution.agent_tasks >= rules.min_agent_tasks
                            then coalesce(rules.p95_multiple * agent_distribution.p95_{{ col }}, rules.floor_{{ col }})
                            else rules.floor_{{ col }} end), 4)           as {{ 'raw_' ~ col }}_threshold
{%- endfor %}
    from agent_distribution
    cross join rules

),

flagged as (

    select
        metrics.*,
        bars.* exclude (agent, raw_llm_calls_threshold),  -- EXCLUDE lists names, not references -- noqa: RF02
        -- calls are whole: reaching 34.65 calls means 35
        ceil(bars.raw_llm_calls_threshold)                                as raw_llm_calls_threshold
    from metrics
    inner join bars
        on bars.agent = metrics.agent

),

runaway as (

    select
        *,
{%- for flag, col, _, _, _ in runaway_metrics %}
        coalesce({{ col }} >= raw_{{ col }}_threshold, false)            as is_runaway_{{ flag }},
{%- endfor %}
        concat_ws('; '
{%- for flag, col, words, digits, unit in runaway_metrics %},
            case when {{ col }} >= raw_{{ col }}_threshold then
                '{{ words }} {{ unit }}' || {{ number_text(col, digits) }}
                || ' ≥ {{ unit }}' || {{ number_text('raw_' ~ col ~ '_threshold', digits) }}
                || case when runaway_threshold_basis = 'floors'
                        then ' (floor: only ' || cast(agent_tasks as varchar) || ' tasks of this agent, < '
                             || cast(cast(min_agent_tasks as integer) as varchar) || ' for a p95)'
                        when p95_multiple * p95_{{ col }} >= floor_{{ col }}
                        then ' (' || cast(p95_multiple as varchar) || ' × ' || agent || ' p95 {{ unit }}'
                             || {{ number_text('p95_' ~ col, digits or 1) }} || ')'
                        else ' (floor; ' || cast(p95_multiple as varchar) || ' × ' || agent || ' p95 {{ unit }}'
                             || coalesce({{ number_text('p95_' ~ col, digits or 1) }}, 'n/a') || ' is below it)'
                   end
            end
{%- endfor %}
        )                                                                 as reasons_text
    from flagged

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
    cast(base_call_seq as bigint)                                           as base_call_seq,
    cast(base_call_input_tokens as bigint)                                  as base_call_input_tokens,
    cast(final_call_input_tokens as bigint)                                 as final_call_input_tokens,
    amplification_basis,
    cast(input_amplification as double)                                     as input_amplification,
    cast(resent_input_tokens as bigint)                                     as resent_input_tokens,
    cast(resend_ratio as double)                                            as resend_ratio,
    cast(resent_input_tokens * 1.0 / nullif(input_tokens, 0) as double)    as resent_share,
    cast((final_call_input_tokens - base_call_input_tokens) * 1.0 / nullif(llm_calls - base_call_seq, 0) as double)
                                                                            as context_growth_per_step,
    cast(cost_usd as decimal(38, 10))                                       as cost_usd,
    cast(first_call_cost_usd as decimal(38, 10))                            as first_call_cost_usd,
    cast(base_call_cost_usd as decimal(38, 10))                             as base_call_cost_usd,
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
    is_runaway_input_amplification,
    is_runaway_cost_amplification,
    (is_runaway_input_amplification or is_runaway_cost_amplification)      as is_runaway_amplification,
    (is_runaway_calls or is_runaway_cost or is_runaway_input_amplification or is_runaway_cost_amplification)
                                                                            as is_runaway,
    nullif(reasons_text, '')                                                as runaway_reasons,
    runaway_threshold_basis,
    agent_tasks,
    cast(raw_llm_calls_threshold as bigint)                                 as runaway_llm_calls_threshold,
    cast(raw_cost_usd_threshold as decimal(38, 10))                         as runaway_cost_usd_threshold,
    cast(raw_input_amplification_threshold as double)                       as runaway_input_amplification_threshold,
    cast(raw_cost_amplification_threshold as double)                        as runaway_cost_amplification_threshold,
    cast(p50_llm_calls as double)                                           as agent_p50_llm_calls,
    cast(p95_llm_calls as double)                                           as agent_p95_llm_calls,
    cast(p50_cost_usd as decimal(38, 10))                                   as agent_p50_cost_usd,
    cast(p95_cost_usd as decimal(38, 10))                                   as agent_p95_cost_usd,
    cast(p50_input_amplification as double)                                 as agent_p50_input_amplification,
    cast(p95_input_amplification as double)                                 as agent_p95_input_amplification,
    cast(p50_cost_amplification as double)                                  as agent_p50_cost_amplification,
    cast(p95_cost_amplification as double)                                  as agent_p95_cost_amplification,
    outcome_reward,
    is_recorded_cost_mismatch
from runaway
