-- GCP billing export rows in FOCUS 1.2 columns.
--   BilledCost    = cost + Σ credits (credits are negative: SUD, CUD, promotions, ...)
--   EffectiveCost = BilledCost, except for committed use discounts (FOCUS 1.2 EffectiveCost-C-005):
--                   a CUD fee ('Commitment v1: ...' SKU, a Purchase via charge_category_map row
--                   'commitment_fee') has EffectiveCost 0 and its cost is spread over the usage rows
--                   its CUD credits covered (same billing account, region and day, in proportion to
--                   their COMMITTED_USAGE_DISCOUNT credits). With no covered usage that day, the fee
--                   keeps its cost as EffectiveCost. Σ EffectiveCost = Σ BilledCost either way.
--   ListCost      = cost_at_list (cost when absent); ContractedCost = cost
-- InvoiceIssuerName is 'Google Cloud', as ProviderName: Google invoices Marketplace charges too (the
-- seller is the publisher). Tax rows carry no SKU / unit price (FOCUS 1.2).
with billing as (

    select * from {{ ref('stg_gcp__billing') }}

),

enriched as (

    select
        billing.*,
        cast(billing.cost + billing.credits_amount as decimal(38, 10)) as net_cost,
        -coalesce((
            select sum(cast(c ->> 'amount' as decimal(38, 10)))
            from (select unnest(cast(json_extract(coalesce(billing.credits_json, '[]'), '$[*]') as json[])) as c)
            where c ->> 'type' like 'COMMITTED_USAGE_DISCOUNT%'
        ), 0)                                                           as cud_credit_weight,
        case when billing.sku_description like 'Commitment v%:%' then 'commitment_fee'
             else billing.cost_type end                                 as line_item_kind,
        coalesce(charge_map.charge_category, 'Usage')                   as charge_category,
        nullif(charge_map.charge_class, '')                             as charge_class,
        coalesce(charge_map.charge_frequency, 'Usage-Based')            as charge_frequency,
        coalesce(service_map.service_category, 'Other')                 as service_category,
        coalesce(service_map.service_subcategory, 'Other')              as service_subcategory,
        coalesce(service_map.service_name, billing.service_description) as service_name,
        coalesce(pricing_unit_map.focus_unit, billing.usage_pricing_unit) as focus_pricing_unit,
        coalesce(usage_unit_map.focus_unit, billing.usage_unit)         as focus_usage_unit,
        {{ tag_value('billing.labels_json', 'gcp', 'team') }}           as tag_team,
        {{ tag_value('billing.labels_json', 'gcp', 'application') }}    as tag_application,
        case when lower(billing.sku_description) like '%token%'
             then nullif(trim(regexp_extract(billing.sku_description, '^(.*?)\s+(input|output|Input|Output)', 1)), '')
        end                                                             as token_model,
        case
            when lower(billing.sku_description) like '%token%' and lower(billing.sku_description) like '%input%' then 'input'
            when lower(billing.sku_description) like '%token%' and lower(billing.sku_description) like '%output%' then 'output'
        end                                                             as token_type,
        -- the VM's machine type (a3-highgpu-8g → H100 × 8) from the seed; GPUs billed on their own
        -- SKU ('Nvidia Tesla A100 GPU ...') are recognised by name, without a count
        coalesce(gpu_instances.gpu_model, case
            when billing.sku_description like '%H100%' then 'H100'
            when billing.sku_description like '%H200%' then 'H200'
            when billing.sku_description like '%A100%' then 'A100'
            when billing.sku_description like '%L4 %' then 'L4'
        end)                                                            as gpu_model,
        gpu_instances.gpu_count                                         as gpu_count
    from billing
    left join {{ ref('cloud_gpu_instances') }} as gpu_instances
        on gpu_instances.provider = 'gcp'
        and gpu_instances.instance_type = json_extract_string(billing.system_labels_json, '$."compute.googleapis.com/machine_spec"')
    left join {{ ref('charge_category_map') }} as charge_map
        on charge_map.provider = 'gcp'
        and charge_map.line_item_type = case when billing.sku_description like 'Commitment v%:%' then 'commitment_fee'
                                             else billing.cost_type end
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = 'gcp'
        and service_map.service_code = billing.service_description
    left join {{ ref('unit_map') }} as pricing_unit_map
        on pricing_unit_map.provider = 'gcp'
        and pricing_unit_map.source_unit = billing.usage_pricing_unit
    left join {{ ref('unit_map') }} as usage_unit_map
        on usage_unit_map.provider = 'gcp'
        and usage_unit_map.source_unit = billing.usage_unit

),

cud_groups as (

    select
        billing_account_id, location_region, cast(usage_start_at as date) as usage_day,
        sum(case when charge_category = 'Purchase' and line_item_kind = 'commitment_fee' then cost end) as fee,
        sum(case when charge_category = 'Usage' then cud_credit_weight end)                      as weight
    from enriched
    group by all

),

amortised as (

    select
        enriched.*,
        case
            when enriched.line_item_kind = 'commitment_fee' and coalesce(g.weight, 0) > 0 then 0
            when enriched.charge_category = 'Usage' and enriched.cud_credit_weight > 0 and g.fee is not null
                then enriched.net_cost + cast(g.fee * enriched.cud_credit_weight / g.weight as decimal(38, 10))
            else enriched.net_cost
        end as effective_cost
    from enriched
    left join cud_groups as g
        on g.billing_account_id is not distinct from enriched.billing_account_id
        and g.location_region is not distinct from enriched.location_region
        and g.usage_day = cast(enriched.usage_start_at as date)

)

select
{{ focus_select({
    'AvailabilityZone': 'location_zone',
    'BilledCost': 'net_cost',
    'BillingAccountId': 'billing_account_id',
    'BillingAccountName': 'billing_account_id',
    'BillingAccountType': "'Billing Account'",
    'BillingCurrency': 'currency',
    'BillingPeriodEnd': 'invoice_month_start_at + interval 1 month',
    'BillingPeriodStart': 'invoice_month_start_at',
    'ChargeCategory': 'charge_category',
    'ChargeClass': 'charge_class',
    'ChargeDescription': 'sku_description',
    'ChargeFrequency': 'charge_frequency',
    'ChargePeriodEnd': 'usage_end_at',
    'ChargePeriodStart': 'usage_start_at',
    'ConsumedQuantity': "case when charge_category = 'Usage' then usage_amount end",
    'ConsumedUnit': "case when charge_category = 'Usage' then focus_usage_unit end",
    'ContractedCost': 'cost',
    'ContractedUnitPrice': "case when charge_category in ('Usage', 'Purchase') then effective_unit_price end",
    'EffectiveCost': 'effective_cost',
    'InvoiceIssuerName': "'Google Cloud'",
    'ListCost': 'coalesce(cost_at_list, cost)',
    'ListUnitPrice': "case when charge_category in ('Usage', 'Purchase') then coalesce(cost_at_list, cost) / nullif(usage_amount_in_pricing_units, 0) end",
    'PricingCategory': "case when charge_category in ('Usage', 'Purchase') then 'Standard' end",
    'PricingCurrency': 'currency',
    'PricingCurrencyContractedUnitPrice': "case when charge_category in ('Usage', 'Purchase') then effective_unit_price end",
    'PricingCurrencyEffectiveCost': 'effective_cost',
    'PricingCurrencyListUnitPrice': "case when charge_category in ('Usage', 'Purchase') then coalesce(cost_at_list, cost) / nullif(usage_amount_in_pricing_units, 0) end",
    'PricingQuantity': "case when charge_category in ('Usage', 'Purchase') then usage_amount_in_pricing_units end",
    'PricingUnit': "case when charge_category in ('Usage', 'Purchase') then focus_pricing_unit end",
    'ProviderName': "'Google Cloud'",
    'PublisherName': "coalesce(seller_name, 'Google Cloud')",
    'RegionId': 'location_region',
    'RegionName': 'location_region',
    'ResourceId': 'coalesce(resource_global_name, resource_name)',
    'ResourceName': 'resource_name',
    'ResourceType': "case when resource_name is not null then service_description end",
    'ServiceCategory': 'service_category',
    'ServiceName': 'service_name',
    'ServiceSubcategory': 'service_subcategory',
    'SkuId': "case when charge_category <> 'Tax' then sku_id end",
    'SkuMeter': "case when charge_category <> 'Tax' and sku_id is not null then sku_description end",
    'SkuPriceDetails': "case when charge_category <> 'Tax' and sku_id is not null then json_object('price_unit', price_unit, 'pricing_unit_quantity', price_pricing_unit_quantity) end",
    'SkuPriceId': "case when charge_category <> 'Tax' then sku_id end",
    'SubAccountId': 'project_id',
    'SubAccountName': 'project_name',
    'SubAccountType': "'Project'",
    'Tags': 'labels_json',
    'x_line_id': surrogate_key(['billing_account_id', 'project_id', 'sku_id', 'usage_start_at', 'usage_end_at', 'cost_type', 'resource_global_name', 'labels_json', 'cost', 'exported_at', '_source_uri']),
    'x_source': "'gcp_billing'",
    'x_source_type': "'cloud_bill'",
    'x_team': 'tag_team',
    'x_application': 'tag_application',
    'x_model': 'token_model',
    'x_token_type': 'token_type',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_load_id': '_load_id',
}) }}
from amortised
