from care.models.api_tokens import ApiScope, ApiToken, token_digest
from care.models.briefings import (
    BRIEFING_SECTIONS,
    BriefingRead,
    ContactNote,
    CustomerPageView,
    IncidentBriefing,
)
from care.models.customers import Customer, SuppressionReason
from care.models.letters import (
    KINDS_NEEDING_APPROVAL,
    LETTER_LIFECYCLE,
    BatchStatus,
    Channel,
    Letter,
    LetterBatch,
    LetterEvent,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
    OutboxMessage,
)
from care.models.templates import LetterTemplate

__all__ = [
    "BRIEFING_SECTIONS",
    "KINDS_NEEDING_APPROVAL",
    "LETTER_LIFECYCLE",
    "ApiScope",
    "ApiToken",
    "BatchStatus",
    "BriefingRead",
    "Channel",
    "ContactNote",
    "Customer",
    "CustomerPageView",
    "IncidentBriefing",
    "Letter",
    "LetterBatch",
    "LetterEvent",
    "LetterKind",
    "LetterStatus",
    "LetterStatusChange",
    "LetterTemplate",
    "OutboxMessage",
    "SuppressionReason",
    "token_digest",
]
