with

source as (

    select * from {{ source('raw', 'votes') }}

),

renamed as (

    select
        vote_id,
        election_id,
        voter_id,
        candidate_id,
        upper(state) as state,
        cast(district as integer) as district,
        cast_at,
        created_at,
        updated_at,
        _synced_at
    from source

)

select * from renamed
