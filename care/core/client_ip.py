"""The address of the client a request came from, behind as many reverse proxies as we trust.

Used by the login lockouts (django-axes, ``AXES_CLIENT_IP_CALLABLE``) and the voucher-lookup throttle. axes'
own proxy settings (``AXES_IPWARE_PROXY_COUNT``, ``AXES_IPWARE_META_PRECEDENCE_ORDER``) only apply when
django-ipware is installed, and it is not one of our dependencies; this function is the single place that
reads the proxy header instead.

- ``TRUSTED_PROXY_COUNT = 0`` (the default: the app serves clients directly): ``REMOTE_ADDR``, and any
  ``X-Forwarded-For`` the client sends is ignored, so nobody can pick the address they are counted under.
- ``TRUSTED_PROXY_COUNT = n``: the ``n``-th address from the right of ``CLIENT_IP_HEADER`` (by default
  ``X-Forwarded-For``), i.e. the address the outermost of our ``n`` proxies saw. Each proxy appends the address
  it received the request from, so everything left of that is the client's own claim and is skipped. A header
  with fewer entries than ``n`` gives its left-most entry (the request passed fewer proxies; that entry was
  still written by one of ours).

A value that is not an IP address (a misconfigured proxy, a header the client forged past a proxy that does
not overwrite it) falls back to ``REMOTE_ADDR``: the lockout counts the proxy rather than trusting garbage.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def header_meta_key(header: str) -> str:
    """``X-Forwarded-For`` -> ``HTTP_X_FORWARDED_FOR`` (a ``request.META`` key is accepted as it is)."""
    if header.upper().startswith("HTTP_") or header.upper() == "REMOTE_ADDR":
        return header.upper()
    return "HTTP_" + header.upper().replace("-", "_")


def _valid(address: str) -> str | None:
    candidate = address.strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header = request.META.get(header_meta_key(settings.CLIENT_IP_HEADER), "")
    hops = [hop for hop in (part.strip() for part in header.split(",")) if hop]
    if not hops:
        return remote
    return _valid(hops[-min(proxies, len(hops))]) or remote
