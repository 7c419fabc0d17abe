"""Exports: agent action formats, streaming dataset writers (JSONL, Parquet, a Hugging Face
dataset directory) and the dataset card every export carries."""

from workprint.export.action_formats import (
    FORMATS,
    ExportError,
    to_anthropic,
    to_computer13,
    to_openai,
    to_pyautogui,
    with_action_format,
)
from workprint.export.card import DatasetCard, render_card
from workprint.export.writers import WriteResult, write_dataset

__all__ = [
    "FORMATS",
    "DatasetCard",
    "ExportError",
    "WriteResult",
    "render_card",
    "to_anthropic",
    "to_computer13",
    "to_openai",
    "to_pyautogui",
    "with_action_format",
    "write_dataset",
]
