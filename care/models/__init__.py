from care.models.customers import Customer, SuppressionReason
from care.models.letters import (
    LETTER_LIFECYCLE,
    Channel,
    Letter,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
)
from care.models.templates import LetterTemplate

__all__ = [
    "LETTER_LIFECYCLE",
    "Channel",
    "Customer",
    "Letter",
    "LetterKind",
    "LetterStatus",
    "LetterStatusChange",
    "LetterTemplate",
    "SuppressionReason",
]
