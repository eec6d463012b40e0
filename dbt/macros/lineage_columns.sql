{#- The raw zone's lineage columns, carried through every staging model unchanged
    (`_partition` is implied by the model's own time column). -#}
{% macro lineage_columns() -%}
        _source_name,
        _source_uri,
        _load_id,
        {{ utc('_ingested_at') }} as _ingested_at
{%- endmacro %}
