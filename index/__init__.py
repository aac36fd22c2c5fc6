"""Ingestion floor: clean article text, chunk it into passages, embed and store them."""
