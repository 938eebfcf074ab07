"""Which kinds of letter say what: shared by the context, the rendering refusal and the bulk services."""

from __future__ import annotations

from care.correspondence.models.letters import LetterKind

# Kinds whose letter is about the disruption itself, so they must say what happened.
KINDS_NEEDING_EXPLANATION = frozenset({LetterKind.APOLOGY, LetterKind.INITIAL_NOTICE, LetterKind.UPDATE})
# The kinds that carry the coordinator's apology paragraph, so the paragraph must be this incident's own.
# They also acknowledge every incident the customer was affected by, so they carry the vouchers and state
# the entitlements of all of them.
KINDS_WITH_APOLOGY = frozenset({LetterKind.APOLOGY, LetterKind.VOUCHER})
