"""Conversations: questions asked in turn, each read after the one before when it is vague.

- ``models.py``: a turn as stored: the user's words and references to the passages
- ``schema.py``: the store's table, and turns written to rows and read back
- ``store.py``: the stored turns and their feedback; retention and the budget on turns
- ``history.py``: stored turns read back through the corpus; removed passages are not quoted
- ``followup.py``: reading a vague follow-up after the turn before it
- ``turn.py``: one turn: read the question in context, answer it, store it
- ``feedback.py``: rated turns exported as evaluation cases
"""
