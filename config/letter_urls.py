"""/l/: the public page of one letter, reached from the signed link an SMS carries (care.correspondence.letter_page).

Short on purpose: the whole URL goes into a two-segment SMS. No login: the signed token is the key.
"""

from __future__ import annotations

from django.urls import path

from care.correspondence.letter_page_view import letter_page

app_name = "letters"

urlpatterns = [
    # <path:…> rather than <str:…>: a damaged link with a slash in it still gets the page's own 404, its headers
    # and the rate limit, and no log line with the token in it.
    path("<path:token>/", letter_page, name="page"),
]
