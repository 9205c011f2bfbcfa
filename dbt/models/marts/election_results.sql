with

unit_candidate_votes as (

    select * from {{ ref('int_unit_candidate_votes') }}

),

state_candidate_votes as (

    select
        election_id,
        state,
        candidate_id,
        party,
        candidate_name,
        votes,
        cast(
            sum(votes) over (partition by election_id, state) as bigint
        ) as state_total_votes
    from unit_candidate_votes
    where district is null

),

final as (

    select
        election_id,
        state,
        candidate_id,
        party,
        candidate_name,
        votes,
        state_total_votes,
        {{ divide('votes', 'state_total_votes') }} as vote_share
    from state_candidate_votes

)

select * from final
