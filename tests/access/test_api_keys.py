"""API keys over HTTP: every /api/v1 route needs one, and their whole lifecycle."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventcrm.access.credentials import Authenticator, VerifiedKeys
from eventcrm.access.domain import ApiKey, Role
from eventcrm.access.keys import new_key
from eventcrm.app import PUBLIC_ROUTERS, create_app
from eventcrm.errors import Unauthenticated
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem
from tests.support.databases import snapshot
from tests.support.factories import create_user

KEYS = "/api/v1/api-keys"
USERS = "/api/v1/users"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_problem(response, 401, code="unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def create_key(client: httpx.AsyncClient, **body: object) -> dict[str, object]:
    response = await client.post(KEYS, json={"name": "test", "role": "admin", **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def store_key(storage: Storage, **fields: object) -> str:
    new = new_key()
    values: dict[str, object] = {
        "name": "stored",
        "role": Role.ADMIN,
        "created_at": datetime.now(UTC),
        **fields,
    }
    key = ApiKey(prefix=new.prefix, secret_digest=new.secret_digest, **values)  # type: ignore[arg-type]
    async with storage.unit_of_work(write=True) as uow:
        await uow.api_keys.add(key)
        await uow.commit()
    return new.plaintext


# --- what is public --------------------------------------------------------------------


def _public_paths() -> set[str]:
    return {f"/api/v1{route.path}" for router in PUBLIC_ROUTERS for route in router.routes}  # type: ignore[attr-defined]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_api_route_but_the_public_ones_needs_a_credential(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """Generated from the app's OpenAPI paths: a new route is covered without editing this."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    public = _public_paths()
    assert public <= set(paths)
    checked = 0
    for path, operations in paths.items():
        if not path.startswith("/api/v1") or path in public:
            continue
        for method in operations:
            response = await anonymous.request(method, _concrete(path))
            assert response.status_code == 401, (method, path, response.text)
            assert_unauthenticated(response)
            checked += 1
    assert checked > 40


async def test_health_and_unsubscribe_stay_public(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/health/live")).status_code == 200
    assert (await anonymous.get("/health/ready")).status_code == 200
    # A bad token is the unsubscribe feature's own answer, not a request for credentials.
    response = await anonymous.get("/api/v1/unsubscribe/not-a-token")
    assert response.status_code != 401


async def test_openapi_declares_the_bearer_scheme_on_protected_operations(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/users"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/api/v1/unsubscribe/{token}"]["get"]


async def test_docs_can_be_turned_off(sqlite_settings: Settings) -> None:
    app = create_app(sqlite_settings.model_copy(update={"docs_enabled": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await http.get(path)).status_code == 404
    await app.state.container.storage.close()


# --- the lifecycle -------------------------------------------------------------------------


async def test_a_created_key_works_and_is_shown_only_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    created = await create_key(client, role="viewer", name="dashboard")
    key = str(created["key"])
    prefix = str(created["prefix"])
    assert key.startswith(f"{prefix}_")
    assert created["role"] == "viewer"
    assert (await anonymous.get(USERS, headers=bearer(key))).status_code == 200
    fetched = (await client.get(f"{KEYS}/{prefix}")).json()
    assert "key" not in fetched
    assert fetched["name"] == "dashboard"
    listed = (await client.get(KEYS)).json()["items"]
    assert prefix in {k["prefix"] for k in listed}
    assert all("key" not in k for k in listed)


async def test_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    created = await create_key(client)
    key, prefix = str(created["key"]), created["prefix"]
    assert (await anonymous.get(USERS, headers=bearer(key))).status_code == 200
    assert (await client.delete(f"{KEYS}/{prefix}")).status_code == 204
    assert_unauthenticated(await anonymous.get(USERS, headers=bearer(key)))
    assert (await client.get(f"{KEYS}/{prefix}")).json()["revokedAt"] is not None


async def test_an_expired_key_is_refused(storage: Storage, anonymous: httpx.AsyncClient) -> None:
    key = await store_key(storage, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert_unauthenticated(await anonymous.get(USERS, headers=bearer(key)))


async def test_wrong_malformed_and_prefix_only_keys_are_refused(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    key = str((await create_key(client))["key"])
    prefix, secret = key[:13], key[14:]
    wrong_secret = prefix + "_" + ("A" if secret[0] != "A" else "B") + secret[1:]
    for credential in (wrong_secret, prefix, prefix + "_", key + "x", "ecrm_", "nonsense"):
        assert_unauthenticated(await anonymous.get(USERS, headers=bearer(credential)))
    assert_unauthenticated(await anonymous.get(USERS, headers={"Authorization": key}))
    assert_unauthenticated(await anonymous.get(USERS, headers={"Authorization": f"Basic {key}"}))


async def test_only_administrators_manage_keys(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    viewer = bearer(str((await create_key(client, role="viewer"))["key"]))
    assert_problem(await anonymous.get(KEYS, headers=viewer), 403, code="forbidden")
    assert_problem(
        await anonymous.post(KEYS, json={"name": "x", "role": "admin"}, headers=viewer),
        403,
        code="forbidden",
    )


async def test_an_organizer_key_needs_an_existing_contact(client: httpx.AsyncClient) -> None:
    body = {"name": "o", "role": "organizer"}
    assert_problem(await client.post(KEYS, json=body), 422, field="userId")
    assert_problem(await client.post(KEYS, json={**body, "userId": "nobody"}), 422, field="userId")
    user = await create_user(client)
    created = await create_key(client, role="organizer", userId=user["id"])
    assert created["userId"] == user["id"]
    viewer = {"name": "v", "role": "viewer", "userId": user["id"]}
    assert_problem(await client.post(KEYS, json=viewer), 422, field="userId")


async def test_an_expiry_in_the_past_is_refused(client: httpx.AsyncClient) -> None:
    body = {"name": "x", "role": "admin", "expiresAt": "2000-01-01T00:00:00Z"}
    assert_problem(await client.post(KEYS, json=body), 422, field="expiresAt")


async def test_the_database_never_holds_the_key(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    response = await client.post(
        KEYS, json={"name": "kept secret", "role": "admin"}, headers={"Idempotency-Key": "k1"}
    )
    assert response.status_code == 201
    key = response.json()["key"]
    secret = key.split("_", 2)[2]
    # Everything stored (the key's record and the replayable response of its creation).
    assert secret not in repr(await snapshot(storage))
    assert response.headers["cache-control"] == "no-store"


async def test_idempotency_keys_are_scoped_per_caller(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    other = bearer(str((await create_key(client))["key"]))
    body = {"firstName": "A", "lastName": "B", "email": "ab@example.com"}
    first = await client.post(USERS, json=body, headers={"Idempotency-Key": "same"})
    assert first.status_code == 201
    second = await anonymous.post(USERS, json=body, headers={**other, "Idempotency-Key": "same"})
    assert "idempotent-replayed" not in second.headers
    assert second.status_code == 409  # done again (the email is taken), not replayed


# --- last use ------------------------------------------------------------------------------


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def _last_used(storage: Storage, key: str) -> datetime | None:
    async with storage.unit_of_work(write=False) as uow:
        stored = await uow.api_keys.get(key[:13])
    assert stored is not None
    return stored.last_used_at


@pytest.mark.parametrize("cache_seconds", [0, 5])
async def test_last_use_is_written_at_most_once_a_minute(
    storage: Storage, cache_seconds: float
) -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    key = await store_key(storage)
    clock = FrozenClock(start)
    authenticator = Authenticator(
        storage=storage, clock=clock, verified=VerifiedKeys(cache_seconds)
    )
    await authenticator.authenticate(key)
    assert await _last_used(storage, key) == start
    clock.current = start + timedelta(seconds=59)
    await authenticator.authenticate(key)
    # A second process (its own memory) is held back by the conditional UPDATE.
    await Authenticator(storage=storage, clock=clock).authenticate(key)
    assert await _last_used(storage, key) == start
    clock.current = start + timedelta(seconds=61)
    await authenticator.authenticate(key)
    assert await _last_used(storage, key) == clock.current


async def test_the_actor_of_a_key_names_it(storage: Storage) -> None:
    key = await store_key(storage, role=Role.VIEWER)
    actor = await Authenticator(storage=storage, clock=FrozenClock(datetime.now(UTC))).authenticate(
        key
    )
    assert actor.id == f"key:{key[:13]}"
    assert actor.role is Role.VIEWER


async def test_a_non_key_credential_without_jwt_configured_is_refused(
    storage: Storage,
) -> None:
    authenticator = Authenticator(storage=storage, clock=FrozenClock(datetime.now(UTC)))
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")


# --- remembered keys -------------------------------------------------------------------


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _revoke_elsewhere(storage: Storage, key: str) -> None:
    """Revoke as another process would: straight in the database."""
    async with storage.unit_of_work(write=True) as uow:
        assert await uow.api_keys.revoke(key[:13], at=datetime.now(UTC))
        await uow.commit()


async def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(
    storage: Storage,
) -> None:
    key = await store_key(storage)
    ticks = Ticks()
    authenticator = Authenticator(
        storage=storage,
        clock=FrozenClock(datetime.now(UTC)),
        verified=VerifiedKeys(5, monotonic=ticks),
    )
    await authenticator.authenticate(key)
    await _revoke_elsewhere(storage, key)
    ticks.now += 4.9
    await authenticator.authenticate(key)  # remembered: the documented bound
    ticks.now += 0.1
    with pytest.raises(Unauthenticated, match="revoked"):
        await authenticator.authenticate(key)


async def test_without_a_cache_time_a_revocation_elsewhere_applies_to_the_next_request(
    storage: Storage,
) -> None:
    key = await store_key(storage)
    authenticator = Authenticator(
        storage=storage, clock=FrozenClock(datetime.now(UTC)), verified=VerifiedKeys(0)
    )
    await authenticator.authenticate(key)
    await _revoke_elsewhere(storage, key)
    with pytest.raises(Unauthenticated, match="revoked"):
        await authenticator.authenticate(key)


async def test_a_forgotten_key_is_read_again_at_once(storage: Storage) -> None:
    key = await store_key(storage)
    authenticator = Authenticator(
        storage=storage, clock=FrozenClock(datetime.now(UTC)), verified=VerifiedKeys(5)
    )
    await authenticator.authenticate(key)
    await _revoke_elsewhere(storage, key)
    authenticator.forget(prefix=key[:13])
    with pytest.raises(Unauthenticated, match="revoked"):
        await authenticator.authenticate(key)


async def test_a_remembered_key_still_expires_on_time(storage: Storage) -> None:
    now = datetime.now(UTC)
    key = await store_key(storage, expires_at=now + timedelta(seconds=2))
    clock = FrozenClock(now)
    authenticator = Authenticator(storage=storage, clock=clock, verified=VerifiedKeys(5))
    await authenticator.authenticate(key)
    clock.current = now + timedelta(seconds=2)
    with pytest.raises(Unauthenticated, match="expired"):
        await authenticator.authenticate(key)


async def test_a_key_read_before_a_forget_is_not_remembered_after_it(storage: Storage) -> None:
    key = await store_key(storage)
    async with storage.unit_of_work(write=False) as uow:
        stored = await uow.api_keys.get(key[:13])
    assert stored is not None
    verified = VerifiedKeys(5)
    generation = verified.generation  # the read began here...
    verified.forget(prefix=stored.prefix)  # ...and the key was revoked meanwhile
    verified.put(key, stored, read_at_generation=generation)
    assert verified.get(key) is None
    verified.put(key, stored, read_at_generation=verified.generation)
    assert verified.get(key) == stored


async def test_a_wrong_secret_is_refused_even_while_its_key_is_remembered(
    storage: Storage,
) -> None:
    key = await store_key(storage)
    authenticator = Authenticator(
        storage=storage, clock=FrozenClock(datetime.now(UTC)), verified=VerifiedKeys(5)
    )
    await authenticator.authenticate(key)
    wrong = key[:14] + ("A" if key[14] != "A" else "B") + key[15:]
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(wrong)


async def test_deleting_the_contact_of_an_organizer_key_refuses_the_key_at_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    user = await create_user(client)
    created = await create_key(client, role="organizer", userId=user["id"])
    key = str(created["key"])
    assert (await anonymous.get("/api/v1/events", headers=bearer(key))).status_code == 200
    assert (await client.delete(f"{USERS}/{user['id']}")).status_code == 204
    assert_unauthenticated(await anonymous.get("/api/v1/events", headers=bearer(key)))
