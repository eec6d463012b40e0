{#- The focus_costs column contract: FOCUS 1.2 columns (exact PascalCase names) + x_ extensions.
    (name, data type). Types here are what the mart's contract enforces. -#}
{% macro focus_columns() %}
{%- set money = 'decimal(38,10)' -%}
{%- set ts = 'timestamp with time zone' -%}
{{ return([
    ('AvailabilityZone', 'varchar'),
    ('BilledCost', money),
    ('BillingAccountId', 'varchar'),
    ('BillingAccountName', 'varchar'),
    ('BillingAccountType', 'varchar'),
    ('BillingCurrency', 'varchar'),
    ('BillingPeriodEnd', ts),
    ('BillingPeriodStart', ts),
    ('CapacityReservationId', 'varchar'),
    ('CapacityReservationStatus', 'varchar'),
    ('ChargeCategory', 'varchar'),
    ('ChargeClass', 'varchar'),
    ('ChargeDescription', 'varchar'),
    ('ChargeFrequency', 'varchar'),
    ('ChargePeriodEnd', ts),
    ('ChargePeriodStart', ts),
    ('CommitmentDiscountCategory', 'varchar'),
    ('CommitmentDiscountId', 'varchar'),
    ('CommitmentDiscountName', 'varchar'),
    ('CommitmentDiscountQuantity', money),
    ('CommitmentDiscountStatus', 'varchar'),
    ('CommitmentDiscountType', 'varchar'),
    ('CommitmentDiscountUnit', 'varchar'),
    ('ConsumedQuantity', money),
    ('ConsumedUnit', 'varchar'),
    ('ContractedCost', money),
    ('ContractedUnitPrice', money),
    ('EffectiveCost', money),
    ('InvoiceId', 'varchar'),
    ('InvoiceIssuerName', 'varchar'),
    ('ListCost', money),
    ('ListUnitPrice', money),
    ('PricingCategory', 'varchar'),
    ('PricingCurrency', 'varchar'),
    ('PricingCurrencyContractedUnitPrice', money),
    ('PricingCurrencyEffectiveCost', money),
    ('PricingCurrencyListUnitPrice', money),
    ('PricingQuantity', money),
    ('PricingUnit', 'varchar'),
    ('ProviderName', 'varchar'),
    ('PublisherName', 'varchar'),
    ('RegionId', 'varchar'),
    ('RegionName', 'varchar'),
    ('ResourceId', 'varchar'),
    ('ResourceName', 'varchar'),
    ('ResourceType', 'varchar'),
    ('ServiceCategory', 'varchar'),
    ('ServiceName', 'varchar'),
    ('ServiceSubcategory', 'varchar'),
    ('SkuId', 'varchar'),
    ('SkuMeter', 'varchar'),
    ('SkuPriceDetails', 'varchar'),
    ('SkuPriceId', 'varchar'),
    ('SubAccountId', 'varchar'),
    ('SubAccountName', 'varchar'),
    ('SubAccountType', 'varchar'),
    ('Tags', 'varchar'),
    ('x_line_id', 'varchar'),
    ('x_source', 'varchar'),
    ('x_source_type', 'varchar'),
    ('x_team', 'varchar'),
    ('x_application', 'varchar'),
    ('x_model', 'varchar'),
    ('x_token_type', 'varchar'),
    ('x_gpu_model', 'varchar'),
    ('x_gpu_count', 'integer'),
    ('x_price_source', 'varchar'),
    ('x_load_id', 'varchar'),
]) }}
{% endmacro %}

{#- Select every focus column: the expression from `exprs` (dict name → SQL) or a typed null. -#}
{% macro focus_select(exprs) -%}
{%- set known = focus_columns() | map(attribute=0) | list -%}
{%- for name in exprs -%}
  {%- if name not in known -%}{{ exceptions.raise_compiler_error("focus_select: unknown column " ~ name) }}{%- endif -%}
{%- endfor -%}
{%- for name, dtype in focus_columns() %}
    cast({{ exprs.get(name, 'null') }} as {{ dtype }}) as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- Value of the highest-priority tag key for (provider, attribute) from the tag_keys seed. -#}
{% macro tag_value(tags_json, provider, attribute) -%}
(
    select json_extract_string({{ tags_json }}, '$."' || tk.tag_key || '"')
    from {{ ref('tag_keys') }} as tk
    where tk.provider = '{{ provider }}'
      and tk.attribute = '{{ attribute }}'
      and json_extract_string({{ tags_json }}, '$."' || tk.tag_key || '"') is not null
    order by tk.priority
    limit 1
)
{%- endmacro %}

{#- Columns a raw table may or may not carry yet (export formats differ; older raw partitions lack
    newer columns): the column cast to its type when the relation has it, a typed null otherwise.
    `columns` is a list of (raw name, type, alias). -#}
{% macro optional_columns(relation, columns) -%}
{%- set present = [] -%}
{%- if execute -%}
  {%- set res = run_query('select * from ' ~ relation ~ ' limit 0') -%}
  {%- for c in res.column_names -%}{%- do present.append(c | lower) -%}{%- endfor -%}
{%- endif -%}
{%- for name, dtype, alias in columns %}
        cast({{ name if name in present else 'null' }} as {{ dtype }}) as {{ alias }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}
