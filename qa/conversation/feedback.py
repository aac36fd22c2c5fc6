"""Rated turns exported as evaluation cases."""

from __future__ import annotations

from typing import Any

from qa.conversation.store import ConversationStore


def feedback_cases(store: ConversationStore) -> list[dict[str, Any]]:
    """Rated turns as evaluation cases in the gold set's format.

    A thumbs-up answer becomes an answerable question whose answer is the quoted sentence; a
    thumbs-down one is marked ``needs_review`` with the rejected sentence, for a person to give the
    right span (the evaluation skips it until then).
    """
    cases = []
    for conversation_id, index, turn in store.rated():
        sentence = _without_marker(turn.answer) if turn.answer else None
        case: dict[str, Any] = {
            "id": f"fb-{conversation_id}-{index}",
            "question": turn.resolved,
            "answerable": True,
        }
        if turn.feedback == "up" and sentence:
            case["answers"] = [sentence]
        elif turn.feedback == "up":
            case.update(answerable=False, answers=[])  # the refusal was right
        else:
            case.update(answers=[], needs_review=True, rejected=[sentence] if sentence else [])
        cases.append(case)
    return cases


def _without_marker(answer: str) -> str:
    """The quoted sentence without its trailing citation marker, e.g. " [1]"."""
    head, sep, tail = answer.rpartition(" [")
    return head if sep and tail.endswith("]") and tail[:-1].isdigit() else answer
