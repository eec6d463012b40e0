{#- Money in the warehouse is DECIMAL(38,10): exact sums, enough scale for per-token prices. -#}
{% macro money(expr) -%}
cast({{ expr }} as decimal(38, 10))
{%- endmacro %}

{#- A decimal string / float money value; empty strings count as null. -#}
{% macro money_from_text(expr) -%}
cast(nullif(trim(cast({{ expr }} as varchar)), '') as decimal(38, 10))
{%- endmacro %}

{#- Timestamps are TIMESTAMPTZ in UTC (the profile pins the session TimeZone to UTC). -#}
{% macro utc(expr) -%}
cast({{ expr }} as timestamptz)
{%- endmacro %}

{#- JSON object member whose key contains dots (OTel attribute names): $."gen_ai.usage.input_tokens" -#}
{% macro json_str(json_col, key) -%}
json_extract_string({{ json_col }}, '$."{{ key }}"')
{%- endmacro %}

{% macro json_bigint(json_col, key) -%}
try_cast(json_extract_string({{ json_col }}, '$."{{ key }}"') as bigint)
{%- endmacro %}

{#- Null-safe surrogate key: md5 over the '|'-joined text of the columns. -#}
{% macro surrogate_key(cols) -%}
{{ dbt.hash(dbt.concat(surrogate_key_parts(cols))) }}
{%- endmacro %}

{% macro surrogate_key_parts(cols) -%}
{%- set parts = [] -%}
{%- for c in cols -%}
  {%- do parts.append("coalesce(cast(" ~ c ~ " as varchar), '~null~')") -%}
  {%- if not loop.last %}{%- do parts.append("'|'") -%}{% endif -%}
{%- endfor -%}
{{ return(parts) }}
{%- endmacro %}

{#- Optional rebuild window: vars window_start / window_end (ISO dates) limit staging reads. -#}
{% macro window_filter(ts_col) -%}
{%- set ws = var('window_start', none) -%}
{%- set we = var('window_end', none) -%}
(
  true
  {% if ws %}and {{ ts_col }} >= cast('{{ ws }}' as timestamptz){% endif %}
  {% if we %}and {{ ts_col }} < cast('{{ we }}' as timestamptz) + interval 1 day{% endif %}
)
{%- endmacro %}

{#- genai-prices provider ids from the provider names used by OTel / usage sources. -#}
{% macro genai_prices_provider(expr) -%}
case
  when lower({{ expr }}) in ('aws.bedrock', 'aws', 'bedrock') then 'aws'
  when lower({{ expr }}) in ('gcp.vertex_ai', 'gcp.gemini', 'gcp.gen_ai', 'google', 'vertex_ai') then 'google'
  when lower({{ expr }}) in ('azure.ai.openai', 'azure.ai.inference', 'azure') then 'azure'
  else lower({{ expr }})
end
{%- endmacro %}

{#- Read one numeric assumption from the thresholds seed (scalar subquery). -#}
{#- A what-if override (var whatif.thresholds, see macros/assumptions.sql) wins. -#}
{% macro threshold(name) -%}
{%- set overrides = _whatif().get('thresholds', {}) -%}
{%- if name in overrides -%}
cast({{ overrides[name] | float }} as double)
{%- else -%}
(select cast(value as double) from {{ ref('thresholds') }} where name = '{{ name }}')
{%- endif -%}
{%- endmacro %}
