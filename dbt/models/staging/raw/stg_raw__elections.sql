with

source as (

    select * from {{ source('raw', 'elections') }}

),

renamed as (

    select
        election_id,
        cast(year as integer) as election_year,
        cast(ratio as integer) as ratio,
        name as election_name,
        election_day as election_date,
        created_at,
        updated_at,
        _synced_at
    from source

)

select * from renamed
