"""GET /users: listing, filters, sorting, keyset pages and totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.factories import create_user, make_user, store
from tests.support.users_api import USERS, full_payload, ids

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


async def walk(client: httpx.AsyncClient, params: dict[str, Any]) -> list[list[str]]:
    """Follow nextCursor from the first page to the last; the ids of each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await client.get(
            USERS, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        pages.append(ids(response))
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not terminate"


async def test_list_of_an_empty_database_is_an_empty_last_page(client: httpx.AsyncClient) -> None:
    response = await client.get(USERS)
    assert response.status_code == 200
    body = response.json()
    assert (body["items"], body["nextCursor"], body.get("total")) == ([], None, None)


async def test_list_defaults_to_oldest_first(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(
        storage,
        make_user(id="b", created_at=T0 + timedelta(hours=2)),
        make_user(id="c", created_at=T0),
        make_user(id="a", created_at=T0 + timedelta(hours=1)),
    )
    assert ids(await client.get(USERS)) == ["c", "a", "b"]


async def test_list_items_are_camel_case_users(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    assert (await client.get(USERS)).json()["items"] == [created]


@pytest.mark.parametrize(
    ("param", "attribute"),
    [("company", "company"), ("job_title", "job_title"), ("city", "city"), ("state", "state")],
)
async def test_a_text_filter_matches_exactly_ignoring_case(
    client: httpx.AsyncClient, storage: Storage, param: str, attribute: str
) -> None:
    await store(
        storage,
        make_user(id="u1", **{attribute: "Austin"}),
        make_user(id="u2", **{attribute: "AUSTIN"}),
        make_user(id="u3", **{attribute: "Austin West"}),
        make_user(id="u4", **{attribute: None}),
        make_user(id="u5", **{attribute: "Boston"}),
    )
    assert sorted(ids(await client.get(USERS, params={param: "austin"}))) == ["u1", "u2"]


@pytest.mark.parametrize(
    ("param", "attribute"),
    [("company", "company"), ("job_title", "job_title"), ("city", "city"), ("state", "state")],
)
async def test_a_repeated_text_filter_matches_any_of_its_values(
    client: httpx.AsyncClient, storage: Storage, param: str, attribute: str
) -> None:
    await store(
        storage,
        make_user(id="u1", **{attribute: "Austin"}),
        make_user(id="u2", **{attribute: "boston"}),
        make_user(id="u3", **{attribute: "Chicago"}),
        make_user(id="u4", **{attribute: None}),
    )
    response = await client.get(USERS, params=[(param, "AUSTIN"), (param, "Boston")])
    assert sorted(ids(response)) == ["u1", "u2"]


async def test_filters_on_different_fields_must_all_match(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", company="Acme", city="Austin"),
        make_user(id="u2", company="Acme", city="Boston"),
        make_user(id="u3", company="Globex", city="Austin"),
    )
    response = await client.get(USERS, params={"company": "acme", "city": "austin"})
    assert ids(response) == ["u1"]


async def test_q_matches_each_word_in_first_name_last_name_or_email(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="names", first_name="Ada", last_name="Lovelace", email="a@example.com"),
        make_user(id="email", first_name="Ada", last_name="Byron", email="lovelace@x.org"),
        make_user(id="first", first_name="Lovelace", last_name="Adams", email="b@example.com"),
        make_user(id="one_word", first_name="Ada", last_name="King", email="c@example.com"),
        make_user(id="none", first_name="Grace", last_name="Hopper", email="d@example.com"),
    )
    response = await client.get(USERS, params={"q": "ADA love"})
    assert sorted(ids(response)) == ["email", "first", "names"]


async def test_q_treats_like_wildcards_literally(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", email="a_b@example.com"),
        make_user(id="u2", email="axb@example.com"),
        make_user(id="u3", last_name="100%"),
        make_user(id="u4", last_name="1000"),
    )
    assert ids(await client.get(USERS, params={"q": "a_b"})) == ["u1"]
    assert ids(await client.get(USERS, params={"q": "0%"})) == ["u3"]


@pytest.mark.parametrize("counter", ["events_hosted", "events_attended"])
async def test_min_and_max_event_counts_are_inclusive(
    client: httpx.AsyncClient, storage: Storage, counter: str
) -> None:
    await store(storage, *(make_user(id=f"u{n}", **{counter: n}) for n in range(5)))
    response = await client.get(USERS, params={f"min_{counter}": 1, f"max_{counter}": 3})
    assert sorted(ids(response)) == ["u1", "u2", "u3"]
    assert sorted(ids(await client.get(USERS, params={f"min_{counter}": 4}))) == ["u4"]
    assert sorted(ids(await client.get(USERS, params={f"max_{counter}": 0}))) == ["u0"]


async def test_created_after_is_inclusive_and_created_before_exclusive(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage, *(make_user(id=f"u{h}", created_at=T0 + timedelta(hours=h)) for h in range(4))
    )
    t1, t3 = (T0 + timedelta(hours=h) for h in (1, 3))
    after = await client.get(USERS, params={"created_after": t1.isoformat()})
    assert ids(after) == ["u1", "u2", "u3"]
    before = await client.get(USERS, params={"created_before": t3.isoformat()})
    assert ids(before) == ["u0", "u1", "u2"]
    both = await client.get(
        USERS, params={"created_after": t1.isoformat(), "created_before": t3.isoformat()}
    )
    assert ids(both) == ["u1", "u2"]


async def test_created_after_compares_instants_across_time_zones(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="early", created_at=T0),
        make_user(id="late", created_at=T0 + timedelta(hours=1)),
    )
    # 11:00+02:00 is 09:00Z, the first user's creation instant.
    response = await client.get(USERS, params={"created_after": "2026-01-01T11:00:00+02:00"})
    assert ids(response) == ["early", "late"]


async def test_a_created_range_mixing_naive_and_offset_times_is_accepted(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", created_at=T0))
    response = await client.get(
        USERS,
        params={"created_after": "2026-01-01T08:00:00", "created_before": "2026-01-01T10:00:00Z"},
    )
    assert ids(response) == ["u1"]


async def test_sort_orders_by_each_key_in_turn_ignoring_case(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", last_name="baker", created_at=T0),
        make_user(id="u2", last_name="Adams", created_at=T0),
        make_user(id="u3", last_name="adams", created_at=T0 + timedelta(hours=1)),
        make_user(id="u4", last_name="Carter", created_at=T0),
    )
    response = await client.get(USERS, params={"sort": "last_name,-created_at"})
    assert ids(response) == ["u3", "u2", "u1", "u4"]


async def test_sort_accepts_camel_case_field_names(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", events_hosted=1), make_user(id="u2", events_hosted=2))
    assert ids(await client.get(USERS, params={"sort": "-eventsHosted"})) == ["u2", "u1"]


async def test_ties_in_the_sort_are_broken_by_id_in_the_direction_of_the_last_key(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=i, company="Acme") for i in ("c", "a", "b")))
    assert ids(await client.get(USERS, params={"sort": "company"})) == ["a", "b", "c"]
    assert ids(await client.get(USERS, params={"sort": "-company"})) == ["c", "b", "a"]


async def test_limit_caps_the_page_and_a_cursor_follows(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(3)))
    response = await client.get(USERS, params={"limit": 2})
    assert len(ids(response)) == 2
    assert isinstance(response.json()["nextCursor"], str)


async def test_the_default_page_holds_twenty_users(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n:02d}") for n in range(21)))
    assert len(ids(await client.get(USERS))) == 20


async def test_a_full_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(4)))
    pages = await walk(client, {"limit": 2})
    assert [len(p) for p in pages] == [2, 2]


async def test_walking_all_pages_yields_every_user_once_in_sort_order(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        *(
            make_user(
                id=f"u{n:02d}",
                company=("Acme", "acme", "Globex", None)[n % 4],
                events_hosted=n % 3,
                created_at=T0 + timedelta(minutes=n % 2),
            )
            for n in range(17)
        ),
    )
    sort = "company,-events_hosted,created_at"
    everything = ids(await client.get(USERS, params={"sort": sort, "limit": 100}))
    pages = await walk(client, {"sort": sort, "limit": 4})
    assert [len(p) for p in pages] == [4, 4, 4, 4, 1]
    assert [i for page in pages for i in page] == everything
    assert len(set(everything)) == 17


async def test_pages_keep_the_filter(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(
        storage, *(make_user(id=f"u{n:02d}", city=("Austin", "Boston")[n % 2]) for n in range(9))
    )
    pages = await walk(client, {"city": "austin", "limit": 2})
    assert [i for page in pages for i in page] == ["u00", "u02", "u04", "u06", "u08"]


async def test_include_total_counts_every_match_not_just_the_page(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage, *(make_user(id=f"u{n}", city=("Austin", "Boston")[n % 2]) for n in range(7))
    )
    response = await client.get(
        USERS, params={"city": "Austin", "limit": 2, "include_total": "true"}
    )
    assert len(ids(response)) == 2
    assert response.json()["total"] == 4


async def test_total_is_not_given_unless_asked_for(client: httpx.AsyncClient) -> None:
    await create_user(client)
    assert (await client.get(USERS)).json().get("total") is None
