"""Conversations: questions asked in turn, each read after the one before when it is vague.

- ``store.py``: the turns and their feedback in a SQLite file of their own
- ``followup.py``: reading a vague follow-up after the turn before it
- ``turn.py``: one turn: read the question in context, answer it, store it
- ``feedback.py``: rated turns exported as evaluation cases
"""
