-- One row per LLM call seen in traces. INFERENCE spans (chat / text_completion / generate_content,
-- OpenInference LLM) are calls: an invoke_agent span wraps its child chat spans and must not be
-- counted again (unless none of them reports usage), and execute_tool spans are tool calls.
-- Priced as of the call's start by the llm_priced_calls macro (genai-prices catalogue with its
-- service-tier variants and context tiers, overrides from seed llm_price_overrides).
with spans as (

    select * from {{ ref('int_otel_spans__tree') }}

),

inference as (

    select *
    from spans
    where operation_name in ('chat', 'text_completion', 'generate_content')

),

-- agent / chain spans (invoke_agent, OpenInference AGENT / CHAIN) may carry the rolled-up usage of
-- the calls under them: they are a call only when no inference span below them reports usage
-- (an agent framework that traces the agent but not its model calls); otherwise counting them
-- would double count their children.
rollups as (

    select *
    from spans
    where operation_name in ('invoke_agent', 'chain')
        and (input_tokens is not null or output_tokens is not null)

),

covered as (

    select distinct rollups.trace_id, rollups.span_id
    from rollups
    inner join inference
        on inference.trace_id = rollups.trace_id
        and list_contains(inference.ancestor_ids, rollups.span_id)
        and (inference.input_tokens is not null or inference.output_tokens is not null)

),

calls as (

    select * from inference
    union all
    select rollups.*
    from rollups
    left join covered
        on covered.trace_id = rollups.trace_id
        and covered.span_id = rollups.span_id
    where covered.span_id is null

),

resolved as (

    select
        *,
        coalesce(response_model, request_model) as model
    from {{ llm_resolved_models('calls', 'src.provider_name', 'coalesce(src.response_model, src.request_model)') }} as r

),

-- OTel input_tokens include cache reads and writes (gen_ai.usage.input_tokens): already the
-- pricing macro's semantics
price_input as (

    {{ llm_openai_shape_price_input('resolved', "case when service_tier is null then 'standard' else 'service_tier=' || lower(service_tier) end") }}

),

priced as (

    select * from {{ llm_priced_calls('price_input', ref('int_llm_price_bands'), ref('llm_price_overrides')) }} as p

)

select
    span_id                                  as call_id,
    task_id,
    parent_span_id                           as parent_id,
    trace_id,
    task_conversation_id                     as conversation_id,
    started_at,
    ended_at,
    provider_name                            as provider,
    model,
    input_tokens,
    cache_read_tokens                        as cached_input_tokens,
    cache_write_tokens,
    output_tokens,
    coalesce(reasoning_tokens, 0)            as reasoning_tokens,
    false                                    as is_batch,
    service_tier,
    'api'                                    as serving,
    task_team                                as team,
    task_application                         as application,
    agent,
    case when status_code = 2 then 'error' else 'ok' end as status,
    depth,
    cast(cost_usd as decimal(38, 10))        as cost_usd,
    price_source,
    price_model_id,
    'otel_spans'                             as source_table,
    cast(null as decimal(38, 10))            as cost_busy_only_usd,
    cast(null as decimal(38, 10))            as cost_unmeasured_usd,
    cast(null as bigint)                     as call_count,
    cast(null as bigint)                     as tool_calls,
    cast(null as decimal(38, 10))            as recorded_cost_usd,
    cast(null as double)                     as outcome_reward,
    -- gen_ai.response.id: the provider's id of the completion, to recognise the same call in a gateway log
    response_id
from priced
