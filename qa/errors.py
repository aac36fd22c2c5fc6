"""Errors raised by the answering floor."""


class QuestionError(ValueError):
    """The question or its options cannot be answered as given; the message says why."""
