-- LLM API token spend in FOCUS 1.2 columns: one line per day × provider × project/workspace ×
-- model × token type, computed from usage × price as of that day (int_llm_api_daily_cost: the same
-- rates as the per-call sources — catalogue variants, context tiers, overrides).
--   PricingQuantity = tokens / 1e6, PricingUnit '1000000 Tokens' (FOCUS UnitFormat <quantity> <unit>), ListUnitPrice = list USD per 1M tokens
--   ListCost = tokens × ListUnitPrice / 1e6 (the catalogue price of the variant used: a Batch
--   bucket's list price is the catalogue's Batch price when it has one); BilledCost = EffectiveCost
--   = what int_llm_api_daily_cost charged (overrides, standard × batch factor without a variant)
-- A model priced only by an override (custom / self-hosted) has no list price: its ListCost is
-- what it costs. Unpriced lines (no price at all) are left out: they surface in
-- fct_llm_reconciliation, never as $0 spend.
-- SkuId / SkuMeter / ChargeDescription / SkuPriceDetails (ModelDeveloper, ModelId, TokenDirection,
-- TokenCacheAction) follow the FOCUS draft AI examples (ai_billing, ai_prompt_caching) through the
-- llm_token_types seed. json_merge_patch drops a null TokenCacheAction, as the examples omit it on
-- output lines.
with token_costs as (

    select * from {{ ref('int_llm_api_daily_cost') }}
    where price_source <> 'unpriced'

),

daily as (

    select
        usage_date,
        provider,
        account_id,
        model,
        token_type,
        max(price_model_id)          as price_model_id,
        max(price_valid_from_at)     as price_valid_from_at,
        -- one list price when every bucket of the line had the same; otherwise (Batch and
        -- standard buckets, two context tiers) the tokens-weighted price, so ListCost =
        -- ListUnitPrice × PricingQuantity still holds
        case when min(list_usd_per_mtok) = max(list_usd_per_mtok) then max(list_usd_per_mtok)
             else cast(sum(list_cost_usd) * 1000000 / nullif(sum(tokens), 0) as decimal(38, 10))
        end                          as list_usd_per_mtok,
        max(price_source)            as price_source,
        sum(tokens)                  as tokens,
        sum(list_cost_usd)           as list_cost_usd,
        sum(cost_usd)                as cost_usd
    from token_costs
    group by usage_date, provider, account_id, model, token_type

),

enriched as (

    select
        daily.*,
        cast(daily.usage_date as timestamptz)                        as day_start_at,
        cast({{ dbt.date_trunc('month', 'daily.usage_date') }} as timestamptz) as month_start_at,
        case daily.provider when 'openai' then 'OpenAI' when 'anthropic' then 'Anthropic' else daily.provider end as provider_name,
        case daily.provider when 'openai' then 'Project' else 'Workspace' end as sub_account_type,
        service_map.service_category,
        service_map.service_subcategory,
        service_map.service_name,
        attribution.team,
        attribution.application,
        token_types.sku_suffix,
        token_types.sku_meter,
        token_types.charge_description,
        token_types.token_direction,
        token_types.token_cache_action,
        token_types.consumed_unit,
        token_types.pricing_unit
    from daily
    left join {{ ref('llm_token_types') }} as token_types
        on token_types.token_type = daily.token_type
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = daily.provider
        and service_map.service_code = 'api'
    left join {{ ref('account_attribution') }} as attribution
        on attribution.provider = daily.provider
        and attribution.account_id = daily.account_id

)

select
{{ focus_select({
    'BilledCost': 'cost_usd',
    'BillingAccountId': 'provider',
    'BillingAccountName': "provider_name || ' organization'",
    'BillingAccountType': "'Organization'",
    'BillingCurrency': "'USD'",
    'BillingPeriodEnd': 'month_start_at + interval 1 month',
    'BillingPeriodStart': 'month_start_at',
    'ChargeCategory': "'Usage'",
    'ChargeDescription': "coalesce(charge_description, replace(token_type, '_', ' ') || ' tokens') || coalesce(' for ' || model, '')",
    'ChargeFrequency': "'Usage-Based'",
    'ChargePeriodEnd': 'day_start_at + interval 1 day',
    'ChargePeriodStart': 'day_start_at',
    'ConsumedQuantity': 'tokens',
    'ConsumedUnit': "coalesce(consumed_unit, 'Tokens')",
    'ContractedCost': 'cost_usd',
    'ContractedUnitPrice': 'cost_usd / nullif(tokens, 0) * 1000000',
    'EffectiveCost': 'cost_usd',
    'InvoiceIssuerName': 'provider_name',
    'ListCost': 'coalesce(list_cost_usd, cost_usd)',
    'ListUnitPrice': 'coalesce(list_usd_per_mtok, cost_usd / nullif(tokens, 0) * 1000000)',
    'PricingCategory': "'Standard'",
    'PricingCurrency': "'USD'",
    'PricingCurrencyContractedUnitPrice': 'cost_usd / nullif(tokens, 0) * 1000000',
    'PricingCurrencyEffectiveCost': 'cost_usd',
    'PricingCurrencyListUnitPrice': 'coalesce(list_usd_per_mtok, cost_usd / nullif(tokens, 0) * 1000000)',
    'PricingQuantity': 'tokens / 1000000.0',
    'PricingUnit': "coalesce(pricing_unit, '1000000 Tokens')",
    'ProviderName': 'provider_name',
    'PublisherName': 'provider_name',
    'ServiceCategory': "coalesce(service_category, 'AI and Machine Learning')",
    'ServiceName': 'coalesce(service_name, provider_name)',
    'ServiceSubcategory': "coalesce(service_subcategory, 'Generative AI')",
    'SkuId': "coalesce(price_model_id, model, provider) || '-' || coalesce(sku_suffix, token_type)",
    'SkuMeter': "coalesce(sku_meter, token_type)",
    'SkuPriceDetails': "json_merge_patch(json_object('ModelDeveloper', provider_name, 'ModelId', coalesce(price_model_id, model), 'x_PriceValidFrom', strftime(price_valid_from_at, '%Y-%m-%d')), json_object('TokenDirection', token_direction, 'TokenCacheAction', token_cache_action))",
    'SkuPriceId': "coalesce(price_model_id, model, provider) || '-' || coalesce(sku_suffix, token_type) || '-ondemand-' || coalesce(strftime(price_valid_from_at, '%Y-%m-%d'), 'per-call')",
    'SubAccountId': 'account_id',
    'SubAccountName': 'account_id',
    'SubAccountType': 'sub_account_type',
    'x_line_id': surrogate_key(['usage_date', 'provider', 'account_id', 'model', 'token_type']),
    'x_source': "provider || '_usage'",
    'x_source_type': "'llm_api'",
    'x_team': 'team',
    'x_application': 'application',
    'x_model': 'model',
    'x_token_type': 'token_type',
    'x_price_source': 'price_source',
}) }}
from enriched
