"""A chat turn read from a transcript, and the answer written for a chat window.

Chat protocols (OpenAI's chat completions, an MCP client's ``ask``) send the whole conversation
with every question and keep no state on the server. The last user message is the question;
the user messages before it are replayed through ``resolve_followup`` in order, which gives the
same query a stored conversation would have (a stored turn keeps exactly that chain's last
link), so a vague follow-up is read after what came before with nothing stored. Assistant,
system and tool messages carry no question and are not read.

The reply is the quoted sentence with its numbered marker, then the sources as Markdown: what a
chat front end shows as it is. ``ChatReply.pieces`` cuts it into the pieces a stream sends;
joined, they are the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.lexical import TermStatistics
from qa.answer import Answerer
from qa.conversation.followup import resolve_followup
from qa.conversation.store import ConversationStore
from qa.conversation.turn import ask_in_conversation
from qa.errors import QuestionError
from qa.models import Answer, Citation, Filters

REFUSAL = "The articles do not hold the answer to this question."
# A source's quote, when it is not the answer sentence: the passage's opening words.
QUOTE_CHARS = 240
_MARKDOWN = re.compile(r"([\\`*_\[\]<>])")
_SPACE = re.compile(r"\s+")
# Words with the spaces after them: joined, the pieces are the text.
_PIECE = re.compile(r"\s*\S+\s*")


@dataclass(frozen=True)
class ChatMessage:
    """One message of a transcript: who said it (``user``, ``assistant``, ``system``...) and
    its text."""

    role: str
    text: str


@dataclass(frozen=True)
class ChatTurn:
    """A question answered from a transcript: the query retrieval used and the answer; the
    conversation and turn index when the turn was stored in a conversation."""

    question: str
    resolved: str
    answer: Answer
    conversation_id: str | None = None
    index: int | None = None


def split_transcript(messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
    """The question (the last user message, stripped) and the user messages before it; raises
    ``QuestionError`` when no user message has words."""
    asked = [m.text.strip() for m in messages if m.role == "user"]
    if not asked or not asked[-1]:
        raise QuestionError("the last user message is the question, and there is none with words")
    return asked[-1], asked[:-1]


def resolve_transcript(
    question: str, earlier: Sequence[str], lexical: TermStatistics, min_specificity: float
) -> str:
    """The text to retrieve with for ``question`` asked after ``earlier`` (oldest first): each
    earlier question read after the one before, as a stored conversation reads them."""
    previous: str | None = None
    for asked in earlier:
        if asked:
            previous = resolve_followup(asked, previous, lexical, min_specificity)
    return resolve_followup(question, previous, lexical, min_specificity)


def chat_turn(
    answerer: Answerer,
    store: ConversationStore,
    messages: Sequence[ChatMessage],
    *,
    top_k: int = 5,
    filters: Filters | None = None,
    conversation_id: str | None = None,
    followup_specificity: float,
) -> ChatTurn:
    """Answer the transcript's last user message, read after the earlier ones.

    With ``conversation_id`` the turn is asked and stored in that conversation, as
    ``POST /api/ask`` does (its stored turns give the context, the transcript's earlier
    messages are not read; ``ConversationError`` for an unknown id); without, nothing is
    stored. Raises ``QuestionError`` for an unusable question.
    """
    question, earlier = split_transcript(messages)
    if conversation_id is not None:
        turn = ask_in_conversation(
            answerer,
            store,
            question,
            top_k=top_k,
            filters=filters,
            conversation_id=conversation_id,
            followup_specificity=followup_specificity,
            known_only=True,
        )
        return ChatTurn(question, turn.resolved, turn.answer, turn.conversation_id, turn.index)
    snapshot = answerer.corpus.snapshot  # one view of the corpus for the whole turn
    resolved = resolve_transcript(question, earlier, snapshot.lexical, followup_specificity)
    answer = answerer.ask(question, top_k, filters, resolved, snapshot)
    return ChatTurn(question, resolved, answer)


@dataclass(frozen=True)
class ChatReply:
    """The answer as a chat shows it: ``answer`` (the quoted sentence and its marker, or the
    refusal) and ``sources`` (a Markdown list, "Sources" or "Related reading")."""

    answer: str
    sources: str

    @property
    def text(self) -> str:
        """The whole reply."""
        return self.answer + self.sources

    def pieces(self) -> list[str]:
        """The reply cut for streaming: the answer a word at a time, then the sources a line
        at a time. Joined, they are ``text``."""
        words = _PIECE.findall(self.answer) or [self.answer]
        return [*words, *self.sources.splitlines(keepends=True)]


def chat_reply(answer: Answer) -> ChatReply:
    """The reply for ``answer``: its quoted sentence and numbered marker with the cited
    passages as sources, or the refusal with the nearest passages as related reading."""
    heading = "Sources" if answer.answered else "Related reading"
    lines = [_source(c) for c in answer.citations]
    sources = f"\n\n**{heading}**\n\n" + "\n".join(lines) if lines else ""
    return ChatReply(answer.text if answer.answered and answer.text else REFUSAL, sources)


def _escape(text: str) -> str:
    """``text`` on one line, with the characters Markdown would act on escaped."""
    return _MARKDOWN.sub(r"\\\1", _SPACE.sub(" ", text).strip())


def _source(citation: Citation) -> str:
    """One numbered source: title (linked when the URL is http(s)), outlet, date, and the
    quote: the answer sentence when this passage holds it, else the passage's opening."""
    article = citation.hit.article
    title = _escape(article.title) or article.id
    url = article.url or ""
    if re.fullmatch(r"https?://[^\s<>]+", url):
        title = f"[{title}](<{url}>)"
    details = [_escape(x) for x in (article.outlet, (article.published or "")[:10]) if x]
    head = " · ".join([f"**{title}**" if "](" not in title else title, *details])
    if citation.highlight is not None:
        quote = citation.highlight.text
    else:
        quote = citation.hit.passage.text
        if len(quote) > QUOTE_CHARS:
            quote = quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    return f"{citation.rank}. {head}\n   > {_escape(quote)}"
