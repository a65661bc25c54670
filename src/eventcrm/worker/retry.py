"""When to try a transiently failed delivery again."""

from __future__ import annotations

import random

MAX_DELAY_SECONDS = 3600.0
_RNG = random.Random()


def backoff_seconds(attempt: int, *, base: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about ``base * 2**(attempt-1)``, capped at an hour.

    The delay is drawn from the upper half of the window ("equal jitter"), so
    retries of one failed batch spread out instead of returning as one burst,
    yet never come back sooner than half the nominal delay.
    """
    nominal = min(MAX_DELAY_SECONDS, base * 2.0 ** max(0, attempt - 1))
    return nominal * (rng or _RNG).uniform(0.5, 1.0)
