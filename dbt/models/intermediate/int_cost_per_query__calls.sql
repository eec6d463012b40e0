-- Every LLM call with the query (user-level task) it belongs to, chosen by the var
-- query_key_precedence: the first key in that list that the call carries wins.
--   trace_root      OTel trace id (the trace root is the task)
--   conversation    gen_ai.conversation.id of the trace root (OTel); groups several traces
--   gateway_session LiteLLM session_id; the self-hosted x-task-id header
--   recorded_run    a recorded agent run (SWE-agent / tau-bench log)
--   request         the call itself (always the last resort: a call is at least its own query)
-- The default (trace_root → conversation → gateway_session → recorded_run → request) reproduces
-- fct_llm_calls.task_id. The query's outcome is the run's reward (tau-bench) or else the OTel
-- status of its trace's root span (OK = success, ERROR = failure, UNSET = no outcome).
{%- set key_exprs = {
    'trace_root': "calls.trace_id",
    'conversation': "case when calls.source_table = 'otel_spans' then calls.conversation_id end",
    'gateway_session': "case when calls.source_table = 'litellm_spend_logs' then calls.conversation_id
                             when calls.source_table = 'self_hosted_requests' and calls.task_id <> calls.call_id
                             then calls.task_id end",
    'recorded_run': "case when calls.source_table = 'agent_llm_calls' then calls.task_id end",
    'request': "calls.call_id",
} %}
{%- set precedence = var('query_key_precedence') %}
{%- for key in precedence %}
  {%- if key not in key_exprs %}
    {{ exceptions.raise_compiler_error("var query_key_precedence: unknown key '" ~ key ~ "' (known: "
                                       ~ key_exprs.keys() | join(', ') ~ ")") }}
  {%- endif %}
{%- endfor %}
{%- if 'request' not in precedence %}{% set precedence = precedence + ['request'] %}{% endif %}
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

root_status as (

    select task_id, max(status_code) as root_status_code
    from {{ ref('int_otel_spans__tree') }}
    where span_id = root_span_id
    group by task_id

)

select
    calls.*,
    case
    {%- for key in precedence %}
        when {{ key_exprs[key] }} is not null then '{{ key }}'
    {%- endfor %}
    end                                                      as query_key_source,
    coalesce({% for key in precedence %}{{ key_exprs[key] }}{% if not loop.last %}, {% endif %}{% endfor %})
                                                             as query_id,
    case
        when calls.outcome_reward is not null
            then calls.outcome_reward >= {{ threshold('task_success_min_reward') }}
        when root_status.root_status_code = 1 then true
        when root_status.root_status_code = 2 then false
    end                                                      as is_success,
    case
        when calls.outcome_reward is not null then 'reward'
        when root_status.root_status_code in (1, 2) then 'otel_status'
    end                                                      as outcome_source
from calls
left join root_status
    on root_status.task_id = calls.task_id
    and calls.source_table = 'otel_spans'
