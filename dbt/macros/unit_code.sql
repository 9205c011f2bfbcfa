{#-
    Code of an electoral unit: the state code for a statewide unit ('ME'),
    the state and district for a congressional district ('ME-1').
-#}
{% macro unit_code(state, district) -%}
    case
        when {{ district }} is null then {{ state }}
        else {{ state }} || '-'
            || cast({{ district }} as {{ dbt.type_string() }})
    end
{%- endmacro %}
