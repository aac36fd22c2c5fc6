"""Conversations: questions asked in turn, each read after the one before when it is vague.

- ``store.py``: the turns (the user's words, references to the passages) and their feedback
- ``history.py``: stored turns read back through the corpus; removed passages are not quoted
- ``followup.py``: reading a vague follow-up after the turn before it
- ``turn.py``: one turn: read the question in context, answer it, store it
- ``feedback.py``: rated turns exported as evaluation cases
"""
