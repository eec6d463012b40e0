-- Rows of any FOCUS export (focus_files, aws_focus) in the focus_costs column list. They are
-- FOCUS already: columns pass through. Only the mart's not-null contract needs fallbacks, each
-- one a FOCUS-consistent choice, not a guess at money:
--   EffectiveCost   = BilledCost where the export has none (no amortisation known)
--   ProviderName    = InvoiceIssuerName, else the configured source's name
--   ServiceCategory = 'Other' where absent (a FOCUS value)
--   BillingCurrency = PricingCurrency where absent
-- Team and application come from Tags through the tag_keys seed (provider 'focus').
-- GPU instances: AWS FOCUS exports carry x_UsageType ('USE1-BoxUsage:p5.48xlarge'); its instance
-- type is looked up in cloud_gpu_instances (instance type names do not collide across providers).
with gpu_instances as (

    select instance_type, min(gpu_model) as gpu_model, min(gpu_count) as gpu_count
    from {{ ref('cloud_gpu_instances') }}
    group by 1

),

lines as (

    select
        stg.*,
        {{ tag_value('stg.tags', 'focus', 'team') }}        as tag_team,
        {{ tag_value('stg.tags', 'focus', 'application') }} as tag_application,
        gpu.gpu_model,
        gpu.gpu_count
    from {{ ref('stg_focus__lines') }} as stg
    left join gpu_instances as gpu
        on gpu.instance_type = regexp_extract(json_extract_string(stg.extra_json, '$.x_UsageType'), ':([^:]+)$', 1)

)

select
{{ focus_select({
    'AvailabilityZone': 'availability_zone',
    'BilledCost': 'billed_cost',
    'BillingAccountId': 'billing_account_id',
    'BillingAccountName': 'billing_account_name',
    'BillingAccountType': 'billing_account_type',
    'BillingCurrency': 'coalesce(billing_currency, pricing_currency)',
    'BillingPeriodEnd': 'billing_period_end_at',
    'BillingPeriodStart': 'billing_period_start_at',
    'CapacityReservationId': 'capacity_reservation_id',
    'CapacityReservationStatus': 'capacity_reservation_status',
    'ChargeCategory': 'charge_category',
    'ChargeClass': 'charge_class',
    'ChargeDescription': 'charge_description',
    'ChargeFrequency': 'charge_frequency',
    'ChargePeriodEnd': 'charge_period_end_at',
    'ChargePeriodStart': 'charge_period_start_at',
    'CommitmentDiscountCategory': 'commitment_discount_category',
    'CommitmentDiscountId': 'commitment_discount_id',
    'CommitmentDiscountName': 'commitment_discount_name',
    'CommitmentDiscountQuantity': 'commitment_discount_quantity',
    'CommitmentDiscountStatus': 'commitment_discount_status',
    'CommitmentDiscountType': 'commitment_discount_type',
    'CommitmentDiscountUnit': 'commitment_discount_unit',
    'ConsumedQuantity': 'consumed_quantity',
    'ConsumedUnit': 'consumed_unit',
    'ContractedCost': 'contracted_cost',
    'ContractedUnitPrice': 'contracted_unit_price',
    'EffectiveCost': 'coalesce(effective_cost, billed_cost)',
    'InvoiceId': 'invoice_id',
    'InvoiceIssuerName': 'invoice_issuer_name',
    'ListCost': 'list_cost',
    'ListUnitPrice': 'list_unit_price',
    'PricingCategory': 'pricing_category',
    'PricingCurrency': 'pricing_currency',
    'PricingCurrencyContractedUnitPrice': 'pricing_currency_contracted_unit_price',
    'PricingCurrencyEffectiveCost': 'pricing_currency_effective_cost',
    'PricingCurrencyListUnitPrice': 'pricing_currency_list_unit_price',
    'PricingQuantity': 'pricing_quantity',
    'PricingUnit': 'pricing_unit',
    'ProviderName': 'coalesce(provider_name, invoice_issuer_name, _source_name)',
    'PublisherName': 'publisher_name',
    'RegionId': 'region_id',
    'RegionName': 'region_name',
    'ResourceId': 'resource_id',
    'ResourceName': 'resource_name',
    'ResourceType': 'resource_type',
    'ServiceCategory': "coalesce(service_category, 'Other')",
    'ServiceName': 'service_name',
    'ServiceSubcategory': 'service_subcategory',
    'SkuId': 'sku_id',
    'SkuMeter': 'sku_meter',
    'SkuPriceDetails': 'sku_price_details',
    'SkuPriceId': 'sku_price_id',
    'SubAccountId': 'sub_account_id',
    'SubAccountName': 'sub_account_name',
    'SubAccountType': 'sub_account_type',
    'Tags': 'tags',
    'x_line_id': surrogate_key(['_source_name', '_source_uri', 'row_number']),
    'x_source': 'source_type',
    'x_source_type': "'cloud_bill'",
    'x_team': 'tag_team',
    'x_application': 'tag_application',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_load_id': '_load_id',
}) }}
from lines
