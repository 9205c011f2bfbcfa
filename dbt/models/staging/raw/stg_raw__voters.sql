with

source as (

    select * from {{ source('raw', 'voters') }}

),

renamed as (

    select
        voter_id,
        election_id,
        upper(state) as state,
        cast(district as integer) as district,
        birth_year,
        gender,
        registered_date,
        removed_at,
        removed_at is not null as is_removed,
        created_at,
        updated_at,
        _synced_at
    from source

)

select * from renamed
