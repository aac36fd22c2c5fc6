"""Question answering floor: retrieve passages, pick the answering sentence, cite it."""
