"""Thin Celery tasks for vouchers: beat expires vouchers past their validity (vouchers.services does the work)."""

from __future__ import annotations

from celery import shared_task

from vouchers.services import vouchers_expire


@shared_task(acks_late=True)
def vouchers_expire_task() -> int:
    """Beat: mark issued vouchers past their expiry as expired; level-triggered, so a doubled run is harmless."""
    return vouchers_expire()
