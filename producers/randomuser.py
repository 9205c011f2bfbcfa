"""Client of the randomuser API, which makes up the people who register to vote."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import requests

from producers.exceptions import RandomUserError
from producers.identities import Gender, Person
from producers.retries import RetryPolicy, TransientError, send, snippet

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://randomuser.me/api/"
API_VERSION = "1.3"
MAX_RESULTS = 5000
"""Most people the API gives in one answer."""
FIELDS = "gender,name,email,phone,dob"
"""The fields we ask for; we make our own registration dates."""
OFFLINE_HINT = "or use --source offline, which needs no network"


class RandomUserClient:
    """Fetches people of one nationality from the randomuser API.

    Each answer is checked: it must hold exactly the people asked for. A 429, a
    5xx, a timeout or a lost connection is retried with exponential backoff,
    waiting what a Retry-After header asks.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        version: str = API_VERSION,
        nationality: str = "us",
        timeout: tuple[float, float] = (5.0, 30.0),
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """Set up a client.

        Args:
            base_url: Address of the API without the version, `.../api/`.
            version: API version, added to the path: `.../api/1.3/`.
            nationality: `nat` of the people, `us`.
            timeout: Seconds to connect and to read an answer.
            policy: Retries on transient failures; default 5 tries from 1 s.
            session: HTTP session to use; default a new one.
        """
        self.url = f"{base_url.rstrip('/')}/{version}/"
        self.nationality = nationality
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()

    def fetch_page(
        self, results: int, *, page: int = 1, seed: str | None = None
    ) -> list[Person]:
        """One page of `results` people; with a seed the same page on every call.

        Raises:
            RandomUserError: when the API cannot be reached after all tries,
                refuses the request, or answers with other than `results` people.
        """
        if not 1 <= results <= MAX_RESULTS:
            raise RandomUserError(
                f"results must be between 1 and {MAX_RESULTS} per request, got "
                f"{results!r}: fetch more people over several pages"
            )
        params: dict[str, str | int] = {
            "results": results,
            "nat": self.nationality,
            "inc": FIELDS,
            "page": page,
        }
        if seed is not None:
            params["seed"] = seed
        items = self._get_results(params)
        where = f"page {page} (results={results}, seed={seed!r})"
        if not items:
            raise RandomUserError(
                f"randomuser API at {self.url} answered 200 with an empty {where}: "
                f"it gave no people; try again later {OFFLINE_HINT}"
            )
        if len(items) != results:
            raise RandomUserError(
                f"randomuser API at {self.url} gave {len(items)} people for {where}, "
                f"not the {results} asked for; try again later {OFFLINE_HINT}"
            )
        return [parse_person(item, index) for index, item in enumerate(items)]

    def iter_people(
        self, count: int, *, seed: str | None = None, page_size: int = MAX_RESULTS
    ) -> Iterator[Person]:
        """`count` people, fetched page after page of min(page_size, count).

        With a seed the same people come in the same order on every run.
        """
        size = min(page_size, count)
        page = 1
        while count > 0:
            people = self.fetch_page(size, page=page, seed=seed)
            yield from people[:count]
            count -= len(people)
            page += 1

    def _get_results(self, params: Mapping[str, str | int]) -> list[Any]:
        """The `results` list of one answer, after retries and checks."""
        what = f"fetch of {params['results']} people"
        try:
            response = send(
                self.session,
                "GET",
                self.url,
                policy=self.policy,
                what=what,
                params=params,
                timeout=self.timeout,
            )
        except TransientError as error:
            raise RandomUserError(
                f"randomuser API at {self.url} failed {self.policy.attempts} times, "
                f"last with {error}; try again later {OFFLINE_HINT}"
            ) from error
        except requests.RequestException as error:
            raise RandomUserError(
                f"cannot send a request to the randomuser API at {self.url}: "
                f"{error}; check --randomuser-url"
            ) from error

        if response.status_code != 200:
            raise RandomUserError(
                f"randomuser API at {self.url} answered HTTP {response.status_code} "
                f"to {dict(params)}: {snippet(response)}; check --randomuser-url"
            )
        try:
            body = response.json()
        except ValueError as error:
            raise RandomUserError(
                f"randomuser API at {self.url} answered with other than JSON: "
                f"{snippet(response)!r}; check --randomuser-url"
            ) from error
        if not isinstance(body, dict) or "error" in body:
            detail = body.get("error") if isinstance(body, dict) else body
            raise RandomUserError(
                f"randomuser API at {self.url} answered with an error: "
                f"{str(detail)[:200]!r}; try again later {OFFLINE_HINT}"
            )
        items = body.get("results")
        if not isinstance(items, list):
            raise RandomUserError(
                f"randomuser API at {self.url} answered without a results list: "
                f"{snippet(response)!r}; check --randomuser-url"
            )
        return items


class RandomUserSource:
    """Identities from the randomuser API, in the order the voters come."""

    name = "randomuser"

    def __init__(
        self,
        client: RandomUserClient,
        *,
        seed: str | None = None,
        page_size: int = MAX_RESULTS,
    ) -> None:
        """Take people from `client`, pages of `page_size` made from `seed`."""
        self.client = client
        self.seed = seed
        self.page_size = page_size
        self._page = 1
        self._buffer: list[Person] = []

    def people(self, voter_ids: Sequence[uuid.UUID]) -> list[Person]:
        """The next len(voter_ids) people of the API's pages."""
        while len(self._buffer) < len(voter_ids):
            page = self.client.fetch_page(
                self.page_size, page=self._page, seed=self.seed
            )
            logger.info(
                "fetched page %d of %d people from %s",
                self._page,
                len(page),
                self.client.url,
            )
            self._buffer.extend(page)
            self._page += 1
        taken, self._buffer = (
            self._buffer[: len(voter_ids)],
            self._buffer[len(voter_ids) :],
        )
        return taken


def parse_person(item: Mapping[str, Any], index: int = 0) -> Person:
    """A Person from one item of the API's results, names and e-mail stripped.

    Raises:
        RandomUserError: naming the item and the field that is missing or wrong.
    """
    try:
        name = item["name"]
        gender: Gender = (
            item["gender"] if item["gender"] in ("female", "male") else "other"
        )
        return Person(
            first_name=str(name["first"]).strip(),
            last_name=str(name["last"]).strip(),
            email=str(item["email"]).strip(),
            phone=str(item.get("phone", "")).strip(),
            gender=gender,
            birth_date=date.fromisoformat(str(item["dob"]["date"])[:10]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise RandomUserError(
            f"person {index} of the randomuser answer lacks or garbles a field "
            f"({type(error).__name__}: {error}): {item!r:.200}; this client reads "
            f"API version {API_VERSION} answers; check the version, {OFFLINE_HINT}"
        ) from error
