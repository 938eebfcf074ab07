"""SMS, the second channel of letters: the short texts per kind and language with their segment count and the check
that holds a text that would not fit (``texts``, ``segments``, ``check``), the backends (outbox, locmem, Twilio), the
rate limit, the local SMS outbox and the provider's signed webhooks. Not wired into sending yet (issue 15)."""
