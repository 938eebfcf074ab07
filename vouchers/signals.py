"""What vouchers tell the layers above them, without importing them.

Sent inside the transaction that changes the vouchers, with ``send`` (not ``send_robust``): a receiver that
fails rolls the change back, so no letter is left out of step with the vouchers it carries. Correspondence
connects its receivers in ``CareConfig.ready`` (``care.correspondence.voucher_letters``).
"""

from __future__ import annotations

from django.dispatch import Signal

# Vouchers were issued to these customers: kwargs ``customer_ids: set[int]``.
vouchers_issued = Signal()
# These vouchers were voided: kwargs ``voucher_ids: list[int]``, ``actor`` (who voided them).
vouchers_voided = Signal()
