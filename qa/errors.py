"""Errors raised by the answering floor."""


class QuestionError(ValueError):
    """The question or its options cannot be answered as given; the message says why."""


class ModelError(RuntimeError):
    """A learned model cannot be loaded: its file is missing, damaged or its runtime is absent."""
