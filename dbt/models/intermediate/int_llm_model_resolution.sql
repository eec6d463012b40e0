-- Resolves every (provider, model name) seen in usage data or traces to a genai-prices model:
-- an exact `equals` match first, else the LONGEST `starts_with`, else the longest `contains`
-- (then ends_with, regex). The provider must agree. Names that resolve to nothing are kept
-- with null price_model_id so they surface as 'unpriced' instead of silently disappearing.
with observed_names as (

    select distinct 'openai' as source_provider, model as model_name
    from {{ ref('stg_openai__usage') }}
    union
    select distinct 'anthropic', model
    from {{ ref('stg_anthropic__usage') }}
    union
    select distinct provider_name, coalesce(response_model, request_model)
    from {{ ref('stg_otel__spans') }}
    where operation_name in ('chat', 'text_completion', 'generate_content', 'invoke_agent', 'chain')
    union
    select distinct provider_name, model
    from {{ ref('stg_litellm__spend_logs') }}
    union
    select distinct provider_name, model
    from {{ ref('stg_agent_trajectories__calls') }}

),

names as (

    select
        source_provider,
        model_name,
        {{ genai_prices_provider('source_provider') }} as provider_id,
        lower(model_name)                               as model_key
    from observed_names
    where model_name is not null and source_provider is not null

),

match_rules as (

    select provider_id, model_id, match_kind, match_value
    from {{ ref('stg_genai_prices__llm_price_matches') }}
    union
    -- a model id always matches itself
    select distinct provider_id, model_id, 'equals', lower(model_id)
    from {{ ref('int_llm_prices') }}
    union
    -- custom / self-hosted models priced only by an override (seed llm_price_overrides)
    select distinct provider_id, model_id, 'equals', lower(model_id)
    from {{ ref('llm_price_overrides') }}

),

candidates as (

    select
        names.source_provider,
        names.model_name,
        names.provider_id,
        match_rules.model_id,
        match_rules.match_kind,
        case match_rules.match_kind
            when 'equals' then 1
            when 'starts_with' then 2
            when 'contains' then 3
            when 'ends_with' then 4
            else 5
        end                                   as kind_rank,
        length(match_rules.match_value)       as match_length
    from names
    inner join match_rules
        on match_rules.provider_id = names.provider_id
        and (
            (match_rules.match_kind = 'equals' and names.model_key = match_rules.match_value)
            or (match_rules.match_kind = 'starts_with'
                and left(names.model_key, length(match_rules.match_value)) = match_rules.match_value)
            or (match_rules.match_kind = 'contains'
                and {{ dbt.position('match_rules.match_value', 'names.model_key') }} > 0)
            or (match_rules.match_kind = 'ends_with'
                and right(names.model_key, length(match_rules.match_value)) = match_rules.match_value)
            or (match_rules.match_kind = 'regex'
                and regexp_matches(names.model_key, match_rules.match_value))
        )

),

best as (

    select
        *,
        row_number() over (
            partition by source_provider, model_name
            order by kind_rank, match_length desc, model_id
        ) as candidate_rank
    from candidates

)

select
    names.source_provider,
    names.model_name,
    names.provider_id    as price_provider_id,
    best.model_id        as price_model_id,
    best.match_kind
from names
left join best
    on best.source_provider = names.source_provider
    and best.model_name = names.model_name
    and best.candidate_rank = 1
