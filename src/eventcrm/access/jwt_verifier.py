"""JSON Web Tokens from an external identity provider (Cognito, Auth0, Keycloak, ...).

A token is accepted when its signature verifies with a key of the provider's
JWKS, under an algorithm of the allow-list (asymmetric only: ``none`` and the
HMAC family are never accepted, so a public key can never be used as a shared
secret), and its ``exp``, ``nbf``, ``iss`` and ``aud`` hold (RFC 7519 §4.1).

The JWKS is fetched with httpx (asynchronously: the event loop never waits on
the network), cached, refetched when it is older than ``max_age`` and when a
token names an unknown ``kid`` (a rotated key), at most once per
``min_refresh_interval``, so tokens with made-up ``kid``s cannot make this
process hammer the provider.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog

from eventcrm.access.domain import Actor, Role
from eventcrm.errors import Unauthenticated, Unavailable

log = structlog.get_logger(__name__)

#: Signature algorithms a provider may use: public-key ones only.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: When a token's role claim lists several roles, the strongest wins.
_ROLE_ORDER = (Role.ADMIN, Role.ORGANIZER, Role.VIEWER)


@dataclass(frozen=True, slots=True)
class JwtConfig:
    issuer: str
    audience: str
    jwks_url: str
    algorithms: tuple[str, ...] = ("RS256",)
    role_claim: str = "eventcrm_role"
    user_id_claim: str = "eventcrm_user_id"
    #: Clock skew tolerated on exp and nbf, in seconds.
    leeway: float = 30.0
    #: Least time between two refetches of the JWKS caused by unknown kids.
    min_refresh_interval: float = 60.0
    #: A cached JWKS older than this is fetched again before use.
    max_age: float = 3600.0
    fetch_timeout: float = 5.0


class JwksCache:
    """The provider's signing keys by ``kid``, fetched lazily and refreshed as described above."""

    def __init__(
        self,
        *,
        url: str,
        http: httpx.AsyncClient,
        min_refresh_interval: float,
        max_age: float,
        timeout: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._monotonic = monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        #: When an unknown kid last caused a refetch (they are rate-limited).
        self._missed_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        now = self._monotonic()
        if self._fetched_at is None or now - self._fetched_at >= self._max_age:
            await self._refresh(seen=self._fetched_at)
        elif kid not in self._keys and (
            self._missed_at is None or now - self._missed_at >= self._min_refresh_interval
        ):
            self._missed_at = now
            await self._refresh(seen=self._fetched_at)
        return self._keys.get(kid)

    async def _refresh(self, *, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:
                return  # another request refreshed while this one waited
            # Counted as a fetch even when it fails: a provider outage is not retried
            # on every request (the cached keys, if any, stay in use meanwhile).
            self._fetched_at = self._monotonic()
            try:
                response = await self._http.get(self._url, timeout=self._timeout)
                response.raise_for_status()
                jwks = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                log.warning("jwks_fetch_failed", url=self._url, error=repr(exc))
                if not self._keys:
                    raise Unavailable(
                        "The identity provider's signing keys cannot be fetched right now; "
                        "retry later."
                    ) from None
                return
            self._keys = {key.key_id: key for key in jwks.keys if key.key_id}


class JwtVerifier:
    def __init__(self, config: JwtConfig, *, http: httpx.AsyncClient | None = None) -> None:
        bad = set(config.algorithms) - ASYMMETRIC_ALGORITHMS
        if bad or not config.algorithms:
            raise ValueError(f"JWT algorithms must be asymmetric ones, not {sorted(bad)}")
        self._config = config
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._jwks = JwksCache(
            url=config.jwks_url,
            http=self._http,
            min_refresh_interval=config.min_refresh_interval,
            max_age=config.max_age,
            timeout=config.fetch_timeout,
        )

    async def verify(self, token: str) -> Actor:
        config = self._config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The credential is neither an API key nor a JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in config.algorithms:
            raise Unauthenticated(f"Tokens signed with {algorithm!r} are not accepted.")
        kid = header.get("kid")
        key = await self._jwks.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("The token's signing key (kid) is unknown.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(config.algorithms),
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The token is not valid: {exc}.") from None
        return self._actor(claims)

    def _actor(self, claims: dict[str, Any]) -> Actor:
        config = self._config
        subject = str(claims["sub"])
        role = _strongest_role(claims.get(config.role_claim))
        if role is None:
            raise Unauthenticated(
                f"The token carries no eventcrm role in its {config.role_claim!r} claim."
            )
        user_id = claims.get(config.user_id_claim)
        if user_id is not None and not isinstance(user_id, str):
            raise Unauthenticated(f"The token's {config.user_id_claim!r} claim is not a string.")
        if role is Role.ORGANIZER and not user_id:
            raise Unauthenticated(
                f"An organizer token needs the contact it acts for ({config.user_id_claim!r})."
            )
        return Actor(
            id=f"jwt:{claims['iss']}#{subject}", role=role, label=subject, user_id=user_id or None
        )

    async def close(self) -> None:
        await self._http.aclose()


def _strongest_role(value: Any) -> Role | None:
    values: Sequence[Any] = value if isinstance(value, list) else [value]
    named = {v for v in values if isinstance(v, str)}
    return next((role for role in _ROLE_ORDER if role.value in named), None)
