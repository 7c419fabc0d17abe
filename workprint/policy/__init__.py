"""The edge policy: consent, the policy file and the gate that decides, before anything touches
disk, which captured events may be kept (docs/policy.md)."""

from workprint.policy.browser_policy import BrowserSettings, SearchSite
from workprint.policy.consent import (
    SCOPE_DESCRIPTIONS,
    SCOPE_REQUIRES,
    ConsentEntry,
    ConsentError,
    ConsentState,
    effective_scopes,
    grant,
    load_consent,
    parse_scopes,
    revoke,
)
from workprint.policy.gate import EdgePolicy
from workprint.policy.hotkey import Hotkey, parse_hotkey
from workprint.policy.policy_file import (
    CaptureSettings,
    ExclusionRule,
    Policy,
    PolicyError,
    SpoolSettings,
    default_policy,
    load_policy,
    parse_policy,
    to_toml,
)

__all__ = [
    "SCOPE_DESCRIPTIONS",
    "SCOPE_REQUIRES",
    "BrowserSettings",
    "CaptureSettings",
    "ConsentEntry",
    "ConsentError",
    "ConsentState",
    "EdgePolicy",
    "ExclusionRule",
    "Hotkey",
    "Policy",
    "PolicyError",
    "SearchSite",
    "SpoolSettings",
    "default_policy",
    "effective_scopes",
    "grant",
    "load_consent",
    "load_policy",
    "parse_hotkey",
    "parse_policy",
    "parse_scopes",
    "revoke",
    "to_toml",
]
