"""The bearer token that every write to the API needs."""

from __future__ import annotations

import hmac

from flask import current_app, request

from api.errors import ApiError, MissingTokenError
from election.settings import Settings

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="election-api"'}


def configured_token(settings: Settings) -> str:
    """The bearer token that writes need: ELECTION_API_TOKEN, else data_dir/api-token.

    Raises:
        MissingTokenError: if neither gives a token that is not blank.
    """
    token = (settings.resolved_api_token() or "").strip()
    if not token:
        raise MissingTokenError(settings.data_dir / "api-token")
    return token


def require_token() -> None:
    """Refuse the request unless it carries the API's bearer token.

    The token is `settings.resolved_api_token()`, read when the app is made; the
    app is not made without one. Tokens are compared in constant time.

    Raises:
        ApiError: 401 if the `Authorization` header is missing or wrong.
    """
    expected: str = current_app.config["ELECTION_API_TOKEN"]
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(
            401,
            "missing bearer token: send the header `Authorization: Bearer <token>` "
            "with the token of ELECTION_API_TOKEN or of data_dir/api-token",
            field="Authorization",
            headers=CHALLENGE,
        )
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(
            401,
            f"Authorization scheme {scheme!r} is not Bearer: send the header "
            "`Authorization: Bearer <token>`",
            field="Authorization",
            headers=CHALLENGE,
        )
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(
            401,
            "wrong bearer token: use the token of ELECTION_API_TOKEN or of "
            "data_dir/api-token that the API was started with",
            field="Authorization",
            headers=CHALLENGE,
        )
