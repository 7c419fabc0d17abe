"""Actions builder: raw input events → high-level computer-use actions (clicks, drags, scrolls,
typed text, keys, hotkeys), each with its raw time range, raw event range and context.

``reduce_actions`` is the fast, vectorised reducer; ``reduce_actions_reference`` the per-event
oracle it is tested and benchmarked against. docs/actions.md describes the rules.
"""

from workprint.builders.actions.episodes import (
    EpisodeConfig,
    label_actions,
    split_episodes,
)
from workprint.builders.actions.fast import reduce_actions
from workprint.builders.actions.model import (
    ACTION_SCHEMA,
    BUILDER_NAME,
    BUILDER_VERSION,
    Action,
    ActionKind,
    actions_to_table,
    empty_actions,
    table_to_actions,
)
from workprint.builders.actions.reference import (
    reduce_actions_reference,
    reduce_events_reference,
)
from workprint.builders.actions.thresholds import DEFAULT_THRESHOLDS, Thresholds

__all__ = [
    "ACTION_SCHEMA",
    "BUILDER_NAME",
    "BUILDER_VERSION",
    "DEFAULT_THRESHOLDS",
    "Action",
    "ActionKind",
    "EpisodeConfig",
    "Thresholds",
    "actions_to_table",
    "empty_actions",
    "label_actions",
    "reduce_actions",
    "reduce_actions_reference",
    "reduce_events_reference",
    "split_episodes",
    "table_to_actions",
]
