"""One turn of a conversation: read the question in context, answer it, store it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from qa.answer import Answerer
from qa.conversation.followup import resolve_followup
from qa.conversation.models import Turn
from qa.conversation.store import ConversationError, ConversationStore
from qa.models import Answer, Filters


@dataclass(frozen=True)
class ConversationTurn:
    """A question answered as a turn: where it was stored and what was searched."""

    conversation_id: str
    index: int  # the turn's index in the conversation, from 0
    resolved: str  # the text retrieval used: the question, or it read after the turn before
    answer: Answer


def ask_in_conversation(
    answerer: Answerer,
    store: ConversationStore,
    question: str,
    *,
    top_k: int = 5,
    filters: Filters | None = None,
    conversation_id: str | None = None,
    followup_specificity: float,
    known_only: bool = False,
    as_of: date | None = None,
) -> ConversationTurn:
    """Answer ``question`` as the next turn of a conversation (a new one when no id is given):
    read it after the turn before when it is a vague follow-up, answer, and store the turn.

    Returns the answer with the conversation id, the stored turn's index and the resolved query.
    Raises ``QuestionError`` for an unusable question (nothing is stored then). With
    ``known_only``, a given id must name a stored conversation (``ConversationError``
    otherwise): ids are then only ever made here, random and unguessable. A question that
    names no period keeps the turn before's (``time_window``); periods are read against
    ``as_of`` (default today).
    """
    given = conversation_id
    conversation_id = conversation_id or store.new_id()
    # A new id is random and unstored: only a given one has a turn before to read.
    last = store.last_turn(conversation_id) if given is not None else None
    if known_only and given is not None and last is None:
        raise ConversationError(
            f"no conversation with id {given!r}: omit conversation_id to start a new one"
        )
    snapshot = answerer.corpus.snapshot  # one view of the corpus for the whole turn
    resolved = resolve_followup(
        question,
        last.resolved if last is not None else None,
        snapshot.lexical,
        followup_specificity,
    )
    answer = answerer.ask(
        question,
        top_k,
        filters,
        resolved if resolved != question else None,
        snapshot,
        as_of=as_of,
        inherited=last.time_window if last is not None else None,
    )
    index = store.append(conversation_id, Turn.of(answer, resolved))
    return ConversationTurn(conversation_id, index, resolved, answer)
