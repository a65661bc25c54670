"""Compile and render message templates with Jinja2 in a sandbox.

Templates are written by staff, but the values put in them come from contacts
(names, companies), so rendering runs in Jinja's ``SandboxedEnvironment`` (no
access to Python internals) and the HTML part is auto-escaped. A template is
compiled once (at save time, to report syntax errors, and once per campaign in
the worker); rendering a compiled template per recipient is cheap.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from eventcrm.errors import FieldProblem
from eventcrm.templates.errors import InvalidTemplate

MAX_SUBJECT_LENGTH = 998  # RFC 5322 §2.1.1: a header line is at most 998 characters


def _finalize(value: Any) -> Any:
    # An absent optional field (None) prints as nothing, not as "None".
    return "" if value is None else value


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=autoescape,
        finalize=_finalize,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=0,
    )


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)


class RenderError(Exception):
    """A compiled template failed on the data it was given."""


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

    def render(self, variables: Mapping[str, Any]) -> RenderedContent:
        try:
            subject = _one_line(self._subject.render(variables)) if self._subject else ""
            html = self._html.render(variables) if self._html is not None else None
            text = self._text.render(variables) if self._text is not None else None
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}") from None
        if html is None:
            html = text_to_html(text or "")
        if text is None:
            text = html_to_text(html)
        return RenderedContent(subject=subject[:MAX_SUBJECT_LENGTH], html=html, text=text)


def _compile(
    env: SandboxedEnvironment, source: str, field: str, problems: list[FieldProblem]
) -> jinja2.Template | None:
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        message = f"line {exc.lineno}: {exc.message}"
        problems.append(FieldProblem(("body", field), message, "template_syntax"))
        return None


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
