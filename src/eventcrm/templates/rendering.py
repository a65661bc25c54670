"""Compile and render message templates with Jinja2 in a sandbox, within limits.

Templates are written by staff, but the values put in them come from contacts
(names, companies), so rendering runs in Jinja's ``SandboxedEnvironment`` (no
access to Python internals) and the HTML part is auto-escaped. A template is
compiled once (at save time, to report syntax errors, and once per campaign in
the worker); rendering a compiled template per recipient is cheap.

A template can still ask for unbounded work (``'a' * 10**9``, nested loops,
runaway macro recursion), so every render runs against a budget
(:class:`RenderLimits`): a number of *steps* (loop iterations, calls, filters,
intercepted operators), a wall-clock deadline checked at every step, and a size
cap on every string or list a step builds and on each rendered part. Operations
whose result can be far larger than their operands (repetition, padding, joins,
replacements, format widths, big powers) are checked *before* they run, so no
step allocates more than the cap. Constant folding is off, so saving a template
never evaluates it. Callers run :meth:`MessageTemplate.render` in a worker
thread: the deadline bounds how long that thread runs, and the event loop keeps
serving meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import html as html_lib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

from eventcrm.errors import FieldProblem
from eventcrm.templates.errors import InvalidTemplate

MAX_SUBJECT_LENGTH = 998  # RFC 5322 §2.1.1: a header line is at most 998 characters
#: Integers a template computes stay below this many bits (``10 ** 10 ** 8`` is refused).
MAX_INT_BITS = 4096
_ITERATE = "eventcrm_iterate"
_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")


@dataclass(frozen=True, slots=True)
class RenderLimits:
    #: Characters in any rendered part, and in any string or list built on the way.
    max_output: int = 256 * 1024
    #: Loop iterations, calls, filters and checked operators per render.
    max_steps: int = 100_000
    #: Wall-clock seconds per render.
    timeout: float = 1.0


class RenderError(Exception):
    """A compiled template failed on the data it was given."""


class RenderLimitExceeded(RenderError):
    """A render asked for more work, time or output than its limits allow."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        #: ``output``, ``steps`` or ``time``.
        self.limit = limit


class _Budget:
    __slots__ = ("deadline", "limits", "steps")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.steps = limits.max_steps
        self.deadline = time.monotonic() + limits.timeout

    def tick(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise RenderLimitExceeded(
                "steps",
                f"more than {self.limits.max_steps} loop iterations, calls and filters",
            )
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded("time", f"took longer than {self.limits.timeout:g} s")

    def size(self, length: int) -> None:
        if length > self.limits.max_output:
            raise RenderLimitExceeded(
                "output", f"would produce more than {self.limits.max_output} characters"
            )

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.tick()
            yield item


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "eventcrm_render_budget", default=None
)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _too_big() -> RenderLimitExceeded:
    return RenderLimitExceeded("output", f"a number larger than {MAX_INT_BITS} bits")


def _check_binop(budget: _Budget, operator: str, left: Any, right: Any) -> None:
    limit = budget.limits.max_output
    both_int = isinstance(left, int) and isinstance(right, int)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                budget.size(_weight(seq, limit) * max(times, 0))
        if both_int and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _too_big()
    elif operator == "**":
        growing = both_int and abs(left) > 1 and right > 0
        if growing and abs(left).bit_length() * right > MAX_INT_BITS:
            raise _too_big()
    elif operator == "+":
        budget.size(_weight(left, limit) + _weight(right, limit))
    elif operator == "%" and isinstance(left, str):
        _check_percent_format(budget, left, [right])


def _width(budget: _Budget, digits: str) -> None:
    budget.size(budget.limits.max_output + 1 if len(digits) > 9 else int(digits))


def _flat(args: Iterable[Any]) -> Iterator[Any]:
    for arg in args:
        if isinstance(arg, tuple | list):
            yield from arg
        elif isinstance(arg, Mapping):
            yield from arg.values()
        else:
            yield arg


def _check_percent_format(budget: _Budget, template: str, args: Iterable[Any]) -> None:
    """``'%10s' % x`` and the ``format`` filter: widths and precisions, ``*`` arguments."""
    star = False
    for match in _PERCENT_SPEC.finditer(template):
        for group in match.groups():
            if group == "*":
                star = True
            elif group:
                _width(budget, group)
    if star:
        for value in _flat(args):
            if isinstance(value, int):
                budget.size(value)


def _check_brace_format(budget: _Budget, template: str, args: Iterable[Any]) -> None:
    """``'{:>10}'.format(x)``: widths in the specs, and arguments used as nested widths."""
    for match in _BRACE_SPEC.finditer(template):
        for digits in _NUMBER.findall(match.group(1)):
            _width(budget, digits)
    if _NESTED_FIELD.search(template):
        for value in _flat(args):
            if isinstance(value, int):
                budget.size(value)


def _check_replace(budget: _Budget, text: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    budget.size(len(text) + found * (len(new) - len(old)))


def _weight(value: Any, limit: int, depth: int = 0) -> int:
    """About how many characters ``str(value)`` takes; stops counting past ``limit``."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, range):
        return len(value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        if depth > 32:  # a list that contains itself
            return limit + 1
        total = len(value)
        for item in value.items() if isinstance(value, dict) else value:
            total += _weight(item, limit, depth + 1)
            if total > limit:
                break
        return total
    return 1


_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def _arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _check_call(
    budget: _Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Pre-check the methods whose result can dwarf their inputs; may materialise an iterable."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    limit = budget.limits.max_output
    if isinstance(owner, str):
        if name in _PADDING:
            width = _arg(args, kwargs, 0, "width", 0)
            if isinstance(width, int):
                budget.size(width)
        elif name == "expandtabs":
            tabsize = _arg(args, kwargs, 0, "tabsize", 8)
            if isinstance(tabsize, int):
                budget.size(len(owner) + owner.count("\t") * tabsize)
        elif name == "join" and args:
            items = list(budget.iterate(args[0]))
            budget.size(sum(_weight(i, limit) for i in items) + len(owner) * len(items))
            args = (items, *args[1:])
        elif name == "replace":
            count = _arg(args, kwargs, 2, "count", -1)
            _check_replace(
                budget,
                owner,
                _arg(args, kwargs, 0, "old", ""),
                _arg(args, kwargs, 1, "new", ""),
                count,
            )
        elif name in ("format", "format_map"):
            _check_brace_format(budget, owner, [*args, *kwargs.values()])
    elif isinstance(owner, list) and name in ("append", "extend", "insert") and args:
        added = args[-1]
        if name == "extend" and not isinstance(added, list | tuple | str):
            added = list(budget.iterate(added))
            args = (added,)
        grown = _weight(owner, limit) + _weight(added if name == "extend" else [added], limit)
        budget.size(grown)
    return args


_FilterCheck = Callable[[_Budget, tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]


def _filter_center(
    budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    width = _arg(args, kwargs, 1, "width", 80)
    if isinstance(width, int):
        budget.size(width)
    return args


def _filter_indent(
    budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    text = str(_arg(args, kwargs, 0, "s", ""))
    width = _arg(args, kwargs, 1, "width", 4)
    step = width if isinstance(width, int) else len(str(width))
    budget.size(len(text) + (text.count("\n") + 1) * step)
    return args


def _filter_wordwrap(
    budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    text = str(_arg(args, kwargs, 0, "s", ""))
    width = _arg(args, kwargs, 1, "width", 79)
    wrap = _arg(args, kwargs, 3, "wrapstring", None)
    if isinstance(width, int) and isinstance(wrap, str) and width > 0:
        budget.size(len(text) + (len(text) // width + 1) * len(wrap))
    return args


def _filter_format(
    budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    if args and isinstance(args[0], str):
        _check_percent_format(budget, args[0], [*args[1:], *kwargs.values()])
    return args


def _filter_join(budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if not args:
        return args
    items = list(budget.iterate(args[0]))
    separator = _arg(args, kwargs, 1, "d", "")
    limit = budget.limits.max_output
    budget.size(sum(_weight(i, limit) for i in items) + _weight(separator, limit) * len(items))
    return (items, *args[1:])


def _filter_replace(
    budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    count = _arg(args, kwargs, 3, "count", None)
    _check_replace(
        budget,
        _arg(args, kwargs, 0, "s", ""),
        _arg(args, kwargs, 1, "old", ""),
        _arg(args, kwargs, 2, "new", ""),
        -1 if count is None else count,
    )
    return args


def _filter_count(argument: str, index: int) -> _FilterCheck:
    def check(budget: _Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        value = _arg(args, kwargs, index, argument, 0)
        if isinstance(value, int):
            budget.size(value)
        return args

    return check


#: Filters whose result can be far larger than their input; called with the
#: filter's own arguments (after any context argument).
_FILTER_CHECKS: dict[str, _FilterCheck] = {
    "center": _filter_center,
    "indent": _filter_indent,
    "wordwrap": _filter_wordwrap,
    "format": _filter_format,
    "join": _filter_join,
    "replace": _filter_replace,
    "batch": _filter_count("linecount", 1),
    "slice": _filter_count("slices", 1),
}


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    leading = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.tick()
            limit = budget.limits.max_output
            for arg in args[leading:]:
                budget.size(_weight(arg, limit))
            if check is not None:
                args = (*args[:leading], *check(budget, args[leading:], kwargs))
        return func(*args, **kwargs)

    return bounded


def _iterate(value: Any) -> Any:
    budget = _BUDGET.get()
    return value if budget is None else budget.iterate(value)


class _BoundedCodeGenerator(CodeGenerator):
    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        # Jinja evaluates constant output expressions while compiling, outside
        # any budget (at save time); only literal text may become a constant.
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # As Jinja's own, but the joined parts are weighed before they are joined.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.bounded_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with every loop, call, filter and growing operator on the budget."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        # No constant folding: saving a template must never evaluate it.
        super().__init__(optimized=False, **options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_ITERATE] = _iterate

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            # Every iteration of every loop costs a step (nesting included).
            loop.iter = nodes.Filter(loop.iter, _ITERATE, [], [], None, None, lineno=loop.lineno)
        return tree

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.tick()
            _check_binop(budget, operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.tick()
            if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
                args = (budget.iterate(args[0]), *args[1:])
            else:
                args = _check_call(budget, obj, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        # Joins the buffer of a macro, a {% set %} block or a {% filter %} block.
        budget = _BUDGET.get()
        items = list(parts)
        if budget is not None:
            budget.size(sum(map(len, items)))
        return "".join(items)

    @staticmethod
    def bounded_concat(join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
        budget = _BUDGET.get()
        if budget is not None:
            limit = budget.limits.max_output
            budget.size(sum(_weight(p, limit) for p in parts))
        return join(parts)


def _finalize(value: Any) -> Any:
    # An absent optional field (None) prints as nothing, not as "None".
    if value is None:
        return ""
    budget = _BUDGET.get()
    if budget is not None and not isinstance(value, str):
        budget.size(_weight(value, budget.limits.max_output))
    return value


def _environment(*, autoescape: bool) -> _BoundedEnvironment:
    return _BoundedEnvironment(
        autoescape=autoescape,
        finalize=_finalize,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=0,
    )


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)


@dataclass(frozen=True, slots=True)
class RenderedContent:
    subject: str
    html: str
    text: str


class MessageTemplate:
    """A compiled subject/html/text triple."""

    def __init__(self, *, subject: str, html: str | None, text: str | None) -> None:
        problems: list[FieldProblem] = []
        self._subject = _compile(_TEXT_ENV, subject, "subject", problems)
        self._html = _compile(_HTML_ENV, html, "html", problems) if html is not None else None
        self._text = _compile(_TEXT_ENV, text, "text", problems) if text is not None else None
        if problems:
            raise InvalidTemplate(problems)
        if self._html is None and self._text is None:
            message = "a template needs an html or a text body (or both)"
            raise InvalidTemplate([FieldProblem(("body", "html"), message, "template_body")])

    def render(
        self, variables: Mapping[str, Any], *, limits: RenderLimits | None = None
    ) -> RenderedContent:
        """Render every part within ``limits``; raises RenderError.

        CPU-bound for up to ``limits.timeout``: async callers run it in a thread.
        """
        budget = _Budget(limits or RenderLimits())
        token = _BUDGET.set(budget)
        try:
            subject = _one_line(_render(self._subject, variables, budget)) if self._subject else ""
            html = _render(self._html, variables, budget) if self._html is not None else None
            text = _render(self._text, variables, budget) if self._text is not None else None
        except RenderError:
            raise
        except RecursionError:
            raise RenderError("recursion too deep (a macro or loop that calls itself)") from None
        except MemoryError:
            raise RenderLimitExceeded("output", "ran out of memory") from None
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}") from None
        finally:
            _BUDGET.reset(token)
        if html is None:
            html = text_to_html(text or "")
        if text is None:
            text = html_to_text(html)
        return RenderedContent(subject=subject[:MAX_SUBJECT_LENGTH], html=html, text=text)


async def compile_message(*, subject: str, html: str | None, text: str | None) -> MessageTemplate:
    """Compile in a thread: a large template takes a while; raises InvalidTemplate."""
    return await asyncio.to_thread(MessageTemplate, subject=subject, html=html, text=text)


def _compile(
    env: SandboxedEnvironment, source: str, field: str, problems: list[FieldProblem]
) -> jinja2.Template | None:
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        message = f"line {exc.lineno}: {exc.message}"
        problems.append(FieldProblem(("body", field), message, "template_syntax"))
        return None
    except RecursionError:
        message = "expressions or blocks are nested too deeply"
        problems.append(FieldProblem(("body", field), message, "template_syntax"))
        return None


def _render(template: jinja2.Template, variables: Mapping[str, Any], budget: _Budget) -> str:
    parts: list[str] = []
    size = 0
    for chunk in template.generate(variables):
        size += len(chunk)
        budget.size(size)
        budget.tick()
        parts.append(chunk)
    return "".join(parts)


def _one_line(value: str) -> str:
    # A header never spans lines: a newline from data must not start a new header.
    return " ".join(value.split())


def text_to_html(text: str) -> str:
    """A plain-text body as minimal HTML: paragraphs on blank lines, <br> on single ones."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    body = "\n".join(
        "<p>" + html_lib.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p
    )
    return f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n"


_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._href:
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A readable plain-text alternative of an HTML body (links kept as ``text (url)``)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n"
