"""Service settings, read from ``QA_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; ``QA_DATA_DIR=/srv/qa`` sets ``data_dir`` and so on."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder of the database, index and manifest.")
    model_path: str | None = Field(
        None, description="Local sentence-transformers model folder; default: the packaged one."
    )
    model_name: str = Field("all-MiniLM-L6-v2", description="Name recorded in the manifest.")
    ingest_default_corpus: bool = Field(
        True, description="Ingest the bundled article when the data directory is empty."
    )
    default_top_k: int = Field(5, ge=1, le=50)
    min_score: float = Field(
        0.35, description="Best passage score under which a question is refused."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
