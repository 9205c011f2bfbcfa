with

source as (

    select * from {{ source('raw', 'candidates') }}

),

renamed as (

    select
        candidate_id,
        election_id,
        upper(party) as party,
        name as candidate_name,
        created_at,
        updated_at,
        _synced_at
    from source

)

select * from renamed
