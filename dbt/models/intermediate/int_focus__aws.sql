-- AWS CUR 2.0 line items in FOCUS 1.2 columns.
--   BilledCost    = line_item_unblended_cost
--   EffectiveCost = savings-plan / reservation effective cost on covered usage, 0 on negation
--                   lines, else unblended cost
--   ListCost      = pricing_public_on_demand_cost (unblended when AWS gives none)
-- Bedrock token usage types ('USE1-Llama3-1-70B-input-tokens') give x_model and x_token_type.
with cur as (

    select * from {{ ref('stg_aws__cur') }}

),

enriched as (

    select
        cur.*,
        charge_map.charge_category,
        nullif(charge_map.charge_class, '')                     as charge_class,
        charge_map.charge_frequency,
        coalesce(service_map.service_category, 'Other')         as service_category,
        coalesce(service_map.service_subcategory, 'Other')      as service_subcategory,
        coalesce(service_map.service_name, cur.product_code)    as service_name,
        gpu_instances.gpu_model,
        gpu_instances.gpu_count,
        {{ tag_value('cur.resource_tags_json', 'aws', 'team') }}        as tag_team,
        {{ tag_value('cur.resource_tags_json', 'aws', 'application') }} as tag_application,
        nullif(regexp_extract(cur.usage_type, '^[A-Za-z0-9]+-(.+)-(input|output)-tokens$', 1), '') as token_model,
        nullif(regexp_extract(cur.usage_type, '-(input|output)-tokens$', 1), '') as token_type
    from cur
    left join {{ ref('charge_category_map') }} as charge_map
        on charge_map.provider = 'aws'
        and charge_map.line_item_type = cur.line_item_type
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = 'aws'
        and service_map.service_code = cur.product_code
    left join {{ ref('cloud_gpu_instances') }} as gpu_instances
        on gpu_instances.provider = 'aws'
        and gpu_instances.instance_type = cur.instance_type

),

focus as (

    select
        *,
        coalesce(charge_category, 'Usage') as focus_charge_category,
        case
            when line_item_type in ('SavingsPlanCoveredUsage') then coalesce(savings_plan_effective_cost, unblended_cost)
            when line_item_type in ('DiscountedUsage') then coalesce(reservation_effective_cost, unblended_cost)
            when line_item_type in ('SavingsPlanNegation') then 0
            else unblended_cost
        end as effective_cost
    from enriched

)

select
{{ focus_select({
    'AvailabilityZone': 'availability_zone',
    'BilledCost': 'unblended_cost',
    'BillingAccountId': 'payer_account_id',
    'BillingAccountName': 'payer_account_id',
    'BillingAccountType': "'Billing Account'",
    'BillingCurrency': 'currency_code',
    'BillingPeriodEnd': 'billing_period_end_at',
    'BillingPeriodStart': 'billing_period_start_at',
    'ChargeCategory': 'focus_charge_category',
    'ChargeClass': 'charge_class',
    'ChargeDescription': 'line_item_description',
    'ChargeFrequency': "coalesce(charge_frequency, 'Usage-Based')",
    'ChargePeriodEnd': 'usage_end_at',
    'ChargePeriodStart': 'usage_start_at',
    'ConsumedQuantity': "case when focus_charge_category = 'Usage' then usage_amount end",
    'ConsumedUnit': "case when focus_charge_category = 'Usage' then pricing_unit end",
    'ContractedCost': 'unblended_cost',
    'ContractedUnitPrice': 'unblended_rate',
    'EffectiveCost': 'effective_cost',
    'InvoiceId': 'invoice_id',
    'InvoiceIssuerName': "coalesce(legal_entity, 'Amazon Web Services, Inc.')",
    'ListCost': 'coalesce(public_on_demand_cost, unblended_cost)',
    'ListUnitPrice': 'public_on_demand_rate',
    'PricingCategory': "case when focus_charge_category <> 'Usage' then null when pricing_term = 'Spot' then 'Dynamic' when line_item_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then 'Committed' else 'Standard' end",
    'PricingCurrency': 'currency_code',
    'PricingCurrencyContractedUnitPrice': 'unblended_rate',
    'PricingCurrencyEffectiveCost': 'effective_cost',
    'PricingCurrencyListUnitPrice': 'public_on_demand_rate',
    'PricingQuantity': "case when focus_charge_category in ('Usage', 'Purchase') then usage_amount end",
    'PricingUnit': "case when focus_charge_category in ('Usage', 'Purchase') then pricing_unit end",
    'ProviderName': "'AWS'",
    'PublisherName': "case when billing_entity = 'AWS Marketplace' then coalesce(legal_entity, 'AWS Marketplace') else 'AWS' end",
    'RegionId': 'region_code',
    'RegionName': 'region_name',
    'ResourceId': 'resource_id',
    'ResourceName': 'resource_id',
    'ResourceType': 'case when resource_id is not null then coalesce(instance_type, product_family) end',
    'ServiceCategory': 'service_category',
    'ServiceName': 'service_name',
    'ServiceSubcategory': 'service_subcategory',
    'SkuId': 'sku',
    'SkuMeter': 'usage_type',
    'SkuPriceDetails': "json_object('usage_type', usage_type, 'operation', operation, 'pricing_term', pricing_term)",
    'SkuPriceId': "case when sku is not null then sku || ':' || coalesce(pricing_term, 'OnDemand') end",
    'SubAccountId': 'usage_account_id',
    'SubAccountName': 'usage_account_name',
    'SubAccountType': "'Account'",
    'Tags': 'resource_tags_json',
    'x_line_id': surrogate_key(['line_item_id', 'time_interval', 'usage_start_at', 'line_item_type', '_load_id']),
    'x_source': "'aws_cur'",
    'x_source_type': "'cloud_bill'",
    'x_team': 'tag_team',
    'x_application': 'tag_application',
    'x_model': 'token_model',
    'x_token_type': 'token_type',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_load_id': '_load_id',
}) }}
from focus
