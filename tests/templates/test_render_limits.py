"""Rendering is bounded: output size, steps and time; growing operations are refused up front."""

from __future__ import annotations

import tracemalloc

import pytest

from eventcrm.templates.rendering import (
    MessageTemplate,
    RenderError,
    RenderLimitExceeded,
    RenderLimits,
)

VARIABLES = {"user": {"firstName": "Ada"}, "items": ["a", "b"]}
SMALL = RenderLimits(max_output=10_000, max_steps=1_000, timeout=5.0)


def render(text: str, limits: RenderLimits = SMALL) -> str:
    return MessageTemplate(subject="s", html=None, text=text).render(VARIABLES, limits=limits).text


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 100000000 }}",
        "{{ ['a' * 100] * 1000 }}",
        "{{ 'a'|center(100000000) }}",
        "{{ 'a'.ljust(100000000) }}",
        "{{ '{:>100000000}'.format(1) }}",
        "{{ '{:>{}}'.format(1, 100000000) }}",
        "{{ '%0100000000d' % 1 }}",
        "{{ '%0100000000d'|format(1) }}",
        "{{ ('a' * 5000)|replace('a', 'bbbbbbbbbb') }}",
        "{{ range(500)|join('x' * 1000) }}",
        "{{ 'x'.join(['y' * 1000] * 11) }}",
        "{{ [1]|batch(100000000, 'x') }}",
        "{% set ns = namespace(s='a') %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='a') %}"
        "{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set s = 'x' * 5000 %}{% macro m() %}{% for i in range(900) %}{{ s }}"
        "{% endfor %}{% endmacro %}{{ m()|length }}",
        "{% for i in range(200) %}{{ 'y' * 100 }}{% endfor %}",
    ],
)
def test_output_that_would_outgrow_the_cap_is_refused(source: str) -> None:
    with pytest.raises(RenderLimitExceeded) as caught:
        render(source)
    assert caught.value.limit == "output"


def test_huge_numbers_are_refused() -> None:
    with pytest.raises(RenderLimitExceeded):
        render("{{ 7 ** 100000000 }}")


@pytest.mark.parametrize(
    "source",
    [
        # The sandbox caps each range, not their nesting.
        "{% for i in range(100000) %}{% for j in range(300) %}{% endfor %}{% endfor %}",
        "{% for x in range(10) recursive %}"
        "{% if loop.depth < 4 %}{{ loop(range(1000)) }}{% endif %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
    ],
)
def test_unbounded_work_stops_at_the_step_limit(source: str) -> None:
    with pytest.raises(RenderLimitExceeded) as caught:
        render(source)
    assert caught.value.limit == "steps"


def test_a_render_stops_at_its_deadline() -> None:
    limits = RenderLimits(max_output=10_000, max_steps=10**9, timeout=0.2)
    source = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    with pytest.raises(RenderLimitExceeded) as caught:
        render(source + "{{ f(60) }}", limits)
    assert caught.value.limit == "time"


def test_runaway_recursion_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="recursion"):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


def test_ordinary_templates_render_within_the_limits() -> None:
    text = render(
        "Hi {{ user.firstName }}: {% for i in items %}{{ loop.index }}{{ i }} {% endfor %}"
        "{{ 'x' ~ 'y' }} {{ items|join(', ') }} {{ '%05d'|format(42) }} "
        "{{ '{:,}'.format(1234567) }} {{ 'ab' * 3 }} {{ 'a'|center(5) }}|"
    )
    assert text == "Hi Ada: 1a 2b xy a, b 00042 1,234,567 ababab   a  |"


def test_compiling_never_evaluates_the_template() -> None:
    # Jinja folds constant expressions while compiling; that would run this at save time.
    tracemalloc.start()
    try:
        MessageTemplate(subject="s", html="{{ 'a'|center(200000000) }}", text="{{ 'b' * 10**8 }}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
