"""The sections of a letter's context, one builder each, composed by ``rendering.context.letter_context``.

- ``customer``: who the letter is for and how to greet them.
- ``flight``: their flight, its stations and its departure in the station's time and theirs.
- ``impact``: what happened to them on that flight, and the other disrupted flights the letter acknowledges.
- ``incident``: the incident's own texts, the latest news from its timeline, and the next update promised.
- ``entitlements``: what the law owes them, stated before any voucher.
- ``vouchers``: the vouchers they were given.
- ``signature``: who signs the letter and how to reach us.
"""
