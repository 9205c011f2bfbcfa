with

state_winners as (

    select * from {{ ref('state_winners') }}

),

candidates as (

    select * from {{ ref('stg_raw__candidates') }}

),

won as (

    select
        election_id,
        winner_party as party,
        cast(sum(electoral_votes) as bigint) as electoral_votes,
        cast(count(*) as bigint) as count_units
    from state_winners
    where winner_party is not null
    group by
        election_id,
        winner_party

),

unassigned as (

    select
        election_id,
        'UNASSIGNED' as party,
        cast(null as {{ dbt.type_string() }}) as candidate_id,
        cast(null as {{ dbt.type_string() }}) as candidate_name,
        cast(sum(unassigned_electoral_votes) as bigint) as electoral_votes,
        cast(
            sum(case when winner_party is null then 1 else 0 end) as bigint
        ) as count_units
    from state_winners
    group by
        election_id

),

totals as (

    select
        election_id,
        cast(sum(electoral_votes) as bigint) as total_electoral_votes,
        cast(floor(sum(electoral_votes) / 2) as bigint) + 1
            as electoral_votes_to_win
    from state_winners
    group by
        election_id

),

candidate_rows as (

    select
        candidates.election_id,
        candidates.party,
        candidates.candidate_id,
        candidates.candidate_name,
        coalesce(won.electoral_votes, 0) as electoral_votes,
        coalesce(won.count_units, 0) as count_units
    from candidates
    left join won
        on candidates.election_id = won.election_id
        and candidates.party = won.party

),

allocations as (

    select * from candidate_rows
    union all
    select
        election_id,
        party,
        candidate_id,
        candidate_name,
        electoral_votes,
        count_units
    from unassigned

),

final as (

    select
        allocations.election_id,
        allocations.party,
        allocations.candidate_id,
        allocations.candidate_name,
        allocations.electoral_votes,
        allocations.count_units,
        totals.total_electoral_votes,
        totals.electoral_votes_to_win,
        allocations.party <> 'UNASSIGNED'
            and allocations.electoral_votes >= totals.electoral_votes_to_win
            as is_winner
    from allocations
    inner join totals
        on allocations.election_id = totals.election_id

)

select * from final
