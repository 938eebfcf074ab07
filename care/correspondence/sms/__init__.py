"""Letters sent as SMS: the short texts per kind and language, their segment count and the check that holds
a text that would not fit."""
