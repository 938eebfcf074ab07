"""The sandboxed template engine letters are rendered with, apart from the site's own engines.

A coordinator edits letter templates in the admin, so a template is untrusted input: it gets no loaders
(no ``{% include %}`` or ``{% extends %}``), no libraries to ``{% load %}``, no tag that prints server internals
and no filter that marks text as safe. An unknown variable renders as a marker found afterwards
(``unknown_variables``) rather than as nothing, so the letter is refused instead of sent with a hole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Library, Template, defaultfilters, defaulttags

# What an unknown variable renders as: invisible separators around a marker nobody types into a template,
# so it can be found in the output and named in the refusal.
_MARK = "\u2063"
UNKNOWN_VARIABLE = f"{_MARK}unknown-variable:%s{_MARK}"
_UNKNOWN_VARIABLE_RE = re.compile(f"{_MARK}unknown-variable:(.*?){_MARK}")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TRAILING_SPACE_RE = re.compile(r"[ \t]+\n")

# Tags and filters a letter template may not use: they print server internals ({% debug %}), load code
# ({% load %}), reverse URLs, or mark text as safe HTML so a customer's name could inject markup.
_BLOCKED_TAGS = frozenset({"debug", "load", "url", "csrf_token", "autoescape"})
_BLOCKED_FILTERS = frozenset({"safe", "safeseq"})


def _letter_library() -> Library:
    library = Library()
    library.tags = {name: tag for name, tag in defaulttags.register.tags.items() if name not in _BLOCKED_TAGS}
    library.filters = {
        name: function for name, function in defaultfilters.register.filters.items() if name not in _BLOCKED_FILTERS
    }
    return library


def _engine(*, autoescape: bool) -> Engine:
    """An engine of our own: no loaders (no {% include %} or {% extends %}), no libraries to {% load %}."""
    engine = Engine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        autoescape=autoescape,
        string_if_invalid=UNKNOWN_VARIABLE,
        debug=False,
    )
    # Replaces Django's default builtins (which include {% debug %}, {% load %} and |safe) with the vetted set.
    engine.template_builtins = [_letter_library()]
    return engine


_TEXT_ENGINE = _engine(autoescape=False)
_HTML_ENGINE = _engine(autoescape=True)


@lru_cache(maxsize=512)
def _compiled(source: str, *, html: bool) -> Template:
    # Keyed by the source itself, so an edited template can never be served from a stale compilation.
    return (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(source)


def render_source(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """``source`` rendered with ``context``; ``html`` escapes the variables (for an HTML body)."""
    if not source:
        return ""
    return _compiled(source, html=html).render(Context(dict(context), autoescape=html))


def tidy(text: str) -> str:
    """Template tags on lines of their own leave blank lines and trailing spaces behind; an email should not."""
    text = _TRAILING_SPACE_RE.sub("\n", text.replace("\r\n", "\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def unknown_variables(*texts: str) -> list[str]:
    """The names of the unknown variables these rendered texts used, sorted."""
    names: set[str] = set()
    for text in texts:
        names.update(_UNKNOWN_VARIABLE_RE.findall(text))
    return sorted(names)
