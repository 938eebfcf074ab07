"""The letters' HTML from plain text is Django's ``linebreaks`` with our paragraph style, byte for byte."""

from __future__ import annotations

from django.utils.html import linebreaks
from hypothesis import given
from hypothesis import strategies as st

from care.correspondence.rendering.layout import PARAGRAPH_STYLE, html_from_text

TEXT = st.text(alphabet=st.sampled_from(list("ab <>&\"'\n\r\t é€")), max_size=80)


@given(TEXT)
def test_html_from_text_is_djangos_linebreaks(text: str) -> None:
    assert str(html_from_text(text)) == linebreaks(text, autoescape=True).replace("<p>", PARAGRAPH_STYLE)


def test_html_from_text_escapes_and_breaks_lines() -> None:
    html = str(html_from_text("Dear <Ann>,\nyour flight.\n\n\nSorry & thanks"))
    assert html == (
        f"{PARAGRAPH_STYLE}Dear &lt;Ann&gt;,<br>your flight.</p>\n\n{PARAGRAPH_STYLE}Sorry &amp; thanks</p>"
    )
