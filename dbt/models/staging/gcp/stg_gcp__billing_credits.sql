-- One row per credit on a GCP billing export row, with its type kept (SUSTAINED_USAGE_DISCOUNT,
-- COMMITTED_USAGE_DISCOUNT[_DOLLAR_BASE], DISCOUNT, FREE_TIER, PROMOTION, SUBSCRIPTION_BENEFIT,
-- RESELLER_MARGIN, FEE_UTILIZATION_OFFSET). Σ credit_amount per export row = stg_gcp__billing.credits_amount,
-- so net cost by credit type is cost + Σ credit_amount grouped by credit_type.
with billing as (

    select * from {{ ref('stg_gcp__billing') }}

),

exploded as (

    -- two unnests of equal length in one select are zipped: the credit and its 1-based position
    select
        billing.*,
        unnest(json_extract(coalesce(credits_json, '[]'), '$[*]'))                              as credit,
        unnest(range(1, cast(json_array_length(coalesce(credits_json, '[]')) as bigint) + 1)) as credit_index
    from billing
    where json_array_length(coalesce(credits_json, '[]')) > 0

)

select
    {{ surrogate_key(['billing_account_id', 'project_id', 'sku_id', 'usage_start_at', 'usage_end_at', 'cost_type',
                      'resource_global_name', 'labels_json', 'cost', 'exported_at', '_source_uri']) }} as export_row_id,
    credit_index,
    billing_account_id,
    project_id,
    service_id,
    service_description,
    sku_id,
    sku_description,
    usage_start_at,
    usage_end_at,
    invoice_month,
    invoice_month_start_at,
    cost_type,
    exported_at,
    currency,
    json_extract_string(credit, '$.type')                                                  as credit_type,
    json_extract_string(credit, '$.name')                                                  as credit_name,
    json_extract_string(credit, '$.full_name')                                             as credit_full_name,
    json_extract_string(credit, '$.id')                                                    as credit_id,
    {{ money_from_text("json_extract_string(credit, '$.amount')") }}                       as credit_amount,
    _source_name,
    _source_uri,
    _load_id,
    _ingested_at
from exploded
