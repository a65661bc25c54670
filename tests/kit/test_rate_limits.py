"""Request budgets count the same in memory (``limits``) and with the
one-round-trip Redis script a server with Redis uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from eventcrm.kit.rate_limits import Decision, RequestBudgets, build_counter_storage
from tests.support.redis import require_redis

BUDGETS = {"default": "3/minute", "email": "2/minute;4/hour"}


@pytest.fixture
async def counters() -> AsyncIterator[dict[str, RequestBudgets]]:
    url = require_redis()
    prefix = f"test-{uuid.uuid4().hex}"
    made = {
        "memory": RequestBudgets(build_counter_storage(None, key_prefix=prefix), BUDGETS),
        "one script in Redis": RequestBudgets(
            build_counter_storage(None, key_prefix=prefix),
            BUDGETS,
            redis_url=url,
            key_prefix=f"{prefix}-script",
        ),
    }
    try:
        yield made
    finally:
        for budgets in made.values():
            await budgets.close()


def _seen(decision: Decision | None) -> tuple[bool, int, int]:
    assert decision is not None  # the storage answered
    return decision.allowed, decision.limit, decision.remaining


@pytest.mark.parametrize(("budget", "hits"), [("default", 5), ("email", 4)])
async def test_the_same_decisions_whatever_counts_them(
    counters: dict[str, RequestBudgets], budget: str, hits: int
) -> None:
    answers = {
        name: [await budgets.hit(budget, "actor:k1") for _ in range(hits)]
        for name, budgets in counters.items()
    }
    expected = [_seen(d) for d in answers["memory"]]
    assert [a for a, _, _ in expected].count(True) == (3 if budget == "default" else 2)
    for name, decisions in answers.items():
        assert [_seen(d) for d in decisions] == expected, name
        for decision in decisions:
            assert decision is not None
            assert 1 <= decision.reset_after <= 61, name


async def test_callers_have_their_own_budgets(counters: dict[str, RequestBudgets]) -> None:
    budgets = counters["one script in Redis"]
    for _ in range(3):
        await budgets.hit("default", "actor:a")
    assert _seen(await budgets.hit("default", "actor:a"))[0] is False
    assert _seen(await budgets.hit("default", "actor:b")) == (True, 3, 2)


async def test_an_unreachable_redis_lets_requests_through() -> None:
    budgets = RequestBudgets(
        build_counter_storage(None, key_prefix="x"),
        BUDGETS,
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
    )
    try:
        assert await budgets.hit("default", "actor:a") is None
    finally:
        await budgets.close()
