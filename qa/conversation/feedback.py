"""Rated turns exported as evaluation cases."""

from __future__ import annotations

from typing import Any

from qa.articles import ArticleSource
from qa.conversation.history import resolve_turns
from qa.conversation.store import ConversationStore


def feedback_cases(store: ConversationStore, articles: ArticleSource) -> list[dict[str, Any]]:
    """Rated turns as evaluation cases in the gold set's format.

    A thumbs-up answer becomes an answerable question whose answer is the quoted sentence (read
    from the article as it is now); a thumbs-down one is marked ``needs_review`` with the rejected
    sentence, for a person to give the right span. A turn whose answer quoted a passage the
    corpus no longer holds exports no words of it: it is marked ``removed`` and ``needs_review``.
    The evaluation skips cases marked ``needs_review``.
    """
    cases = []
    for turn in resolve_turns(store.rated(), articles):
        stored = turn.stored
        case: dict[str, Any] = {
            "id": f"fb-{stored.conversation_id}-{stored.index}",
            "question": stored.turn.resolved,
            "answerable": True,
        }
        if turn.answer_removed:
            case.update(answers=[], needs_review=True, removed=True)
        elif stored.feedback == "up" and turn.sentence:
            case["answers"] = [turn.sentence]
        elif stored.feedback == "up":
            case.update(answerable=False, answers=[])  # the refusal was right
        else:
            rejected = [turn.sentence] if turn.sentence else []
            case.update(answers=[], needs_review=True, rejected=rejected)
        cases.append(case)
    return cases
