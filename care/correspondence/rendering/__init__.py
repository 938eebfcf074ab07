"""Rendering personal letters from the coordinator-editable templates.

Three steps, kept apart so each can be tested and reused (the admin preview calls the first two):

1. ``context.letter_context`` turns one affected customer into a plain dict (strings, numbers, booleans,
   lists, dicts), one section of the letter at a time (``sections``): their flight and what happened to them
   in their own language and local times, the incident's explanation, the coordinator's apology paragraph,
   what they are owed and the vouchers they were given. Templates never see a model instance, so an edited
   template cannot reach ``customer.delete`` or a related manager.
2. ``letter.render_letter`` renders a ``LetterTemplate`` with that context in a sandboxed engine of its own
   (``engine``) and refuses (``LetterRenderError``) a letter that fails to render, uses a variable letters do
   not have, or lacks a fact the letter needs.
3. ``services.letters_render`` does both for stored letters in bulk, runs the personal-letter check
   (``care.correspondence.letter_check``) and stores the result, in a number of queries that does not grow
   with the letters.

Nothing is re-exported here: import each name from the module that holds it.
"""
