"""JWTs from an identity provider, verified against a JWKS the test serves itself."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from eventcrm.access.domain import Role
from eventcrm.access.jwt_verifier import JwtConfig, JwtVerifier
from eventcrm.errors import Unauthenticated
from eventcrm.settings import Settings

ISSUER = "https://idp.example/realm"
AUDIENCE = "eventcrm-api"
JWKS_URL = "https://idp.example/realm/jwks.json"


class Provider:
    """Signing keys and the JWKS endpoint of a made-up identity provider."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: set[str] = set()
        self.fetches = 0

    def add_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.add(kid)

    def jwks(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        keys = []
        for kid in sorted(self.published):
            jwk = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return httpx.Response(200, json={"keys": keys})

    def token(self, kid: str = "k1", *, algorithm: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-123",
            "iat": now,
            "exp": now + 300,
            "eventcrm_role": "viewer",
            **claims,
        }
        return jwt.encode(payload, self.keys[kid], algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def provider() -> Provider:
    provider = Provider()
    provider.add_key("k1")
    return provider


@pytest.fixture
def verifier(provider: Provider) -> Callable[..., JwtVerifier]:
    def make(**overrides: Any) -> JwtVerifier:
        config = JwtConfig(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=JWKS_URL, leeway=0, **overrides
        )
        http = httpx.AsyncClient(transport=httpx.MockTransport(provider.jwks))
        return JwtVerifier(config, http=http)

    return make


async def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    await verifier.close()
    return caught.value.detail


async def test_a_valid_token_becomes_an_actor(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    v = verifier()
    actor = await v.verify(provider.token(eventcrm_role="organizer", eventcrm_user_id="u-1"))
    await v.close()
    assert actor.role is Role.ORGANIZER
    assert actor.user_id == "u-1"
    assert actor.id == f"jwt:{ISSUER}#user-123"
    assert actor.label == "user-123"


async def test_role_and_user_claims_are_configurable_and_lists_take_the_strongest(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    v = verifier(role_claim="custom:role", user_id_claim="custom:uid")
    claims: dict[str, Any] = {"custom:role": ["viewer", "admin", "other"]}
    actor = await v.verify(provider.token(**claims))
    await v.close()
    assert actor.role is Role.ADMIN
    assert actor.user_id is None


async def test_an_expired_token_is_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    past = int(time.time()) - 60
    assert "expired" in await refused(verifier(), provider.token(exp=past))


async def test_a_token_not_yet_valid_is_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    await refused(verifier(), provider.token(nbf=int(time.time()) + 600))


async def test_the_wrong_audience_or_issuer_is_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    await refused(verifier(), provider.token(aud="another-api"))
    await refused(verifier(), provider.token(iss="https://evil.example"))


async def test_a_token_without_a_role_is_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    await refused(verifier(), provider.token(eventcrm_role="superuser"))
    await refused(verifier(), provider.token(eventcrm_role="organizer"))  # no contact


async def test_alg_none_and_hmac_are_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "eventcrm_role": "admin"}
    # PyJWT takes no key for "none"; its annotations do not say so.
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})  # type: ignore[arg-type]
    assert "not accepted" in await refused(verifier(), unsigned)
    # HS256 keyed with the provider's public key: the classic confusion attack.
    public_jwk = provider.jwks(httpx.Request("GET", JWKS_URL)).json()["keys"][0]
    secret = public_jwk["n"].encode()  # public material, known to anyone
    hmac_token = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "k1"})
    assert "not accepted" in await refused(verifier(), hmac_token)


def test_settings_refuse_symmetric_algorithms() -> None:
    with pytest.raises(ValueError, match="public-key"):
        Settings(jwt_algorithms="RS256,HS256")
    with pytest.raises(ValueError, match="go together"):
        Settings(jwt_issuer=ISSUER)


async def test_an_unknown_kid_refreshes_the_jwks_once(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    v = verifier(min_refresh_interval=3600)
    await v.verify(provider.token())
    assert provider.fetches == 1
    provider.add_key("rotated", publish=False)
    with pytest.raises(Unauthenticated, match="kid"):
        await v.verify(provider.token("rotated"))
    assert provider.fetches == 2
    # Another unknown kid right away does not fetch again (rate-limited).
    with pytest.raises(Unauthenticated, match="kid"):
        await v.verify(provider.token("rotated"))
    assert provider.fetches == 2
    await v.close()


async def test_a_rotated_key_is_picked_up_by_the_refresh(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    v = verifier()
    await v.verify(provider.token())
    provider.add_key("k2")
    actor = await v.verify(provider.token("k2"))
    assert actor.role is Role.VIEWER
    assert provider.fetches == 2
    await v.verify(provider.token("k2"))
    assert provider.fetches == 2  # cached
    await v.close()


async def test_a_forged_signature_is_refused(
    provider: Provider, verifier: Callable[..., JwtVerifier]
) -> None:
    provider.add_key("k1-forged", publish=False)
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
        provider.keys["k1-forged"],
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    await refused(verifier(), forged)


async def test_the_app_accepts_a_jwt_as_a_bearer_credential(
    provider: Provider, settings: Settings, storage: Any
) -> None:
    from eventcrm.app import create_app
    from eventcrm.bootstrap import build_container

    configured = settings.model_copy(
        update={"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_jwks_url": JWKS_URL}
    )
    container = build_container(
        configured,
        storage=storage,
        jwks_http=httpx.AsyncClient(transport=httpx.MockTransport(provider.jwks)),
    )
    app = create_app(configured, container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        ok = await http.get(
            "/api/v1/users", headers={"Authorization": f"Bearer {provider.token()}"}
        )
        bad = await http.get(
            "/api/v1/users", headers={"Authorization": f"Bearer {provider.token(aud='x')}"}
        )
    await container.authenticator.close()
    assert ok.status_code == 200, ok.text
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
