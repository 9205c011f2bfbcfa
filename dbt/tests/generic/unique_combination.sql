{#-
    Fails for every combination of `columns` that occurs in more than one row:
    the primary key test of a model whose grain spans several columns.
-#}
{% test unique_combination(model, columns) %}

with

grouped as (

    select
        {{ columns | join(',\n        ') }},
        count(*) as count_rows
    from {{ model }}
    group by {{ columns | join(', ') }}

),

final as (

    select * from grouped
    where count_rows > 1

)

select * from final

{% endtest %}
