from care.briefings.models import (
    BRIEFING_SECTIONS,
    BriefingRead,
    ContactNote,
    CustomerPageView,
    IncidentBriefing,
)
from care.core.api.models import ApiScope, ApiToken, token_digest
from care.core.audit import AuditEntry
from care.correspondence.models.letters import (
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
from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage, SmsStatus
from care.correspondence.models.templates import LetterTemplate
from care.customers.models import Customer, SuppressionReason

__all__ = [
    "BRIEFING_SECTIONS",
    "KINDS_NEEDING_APPROVAL",
    "LETTER_LIFECYCLE",
    "ApiScope",
    "ApiToken",
    "AuditEntry",
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
    "SmsEvent",
    "SmsOutboxMessage",
    "SmsStatus",
    "SuppressionReason",
    "token_digest",
]
