class DomainError(Exception):
    """A refusal a coordinator can read: the message says what and why, nothing was changed."""
