"""The diff engine: pure functions, no I/O, plain data in and out.

`assess(old, new, seen)` is what the crawl and `import-history` call for every new version of a
document: it says whether the change matters, how much, and why. Its parts are public too:
`normalize` (the cosmetic-free form of a text), `compare` (the structured diff, a
`ChangeReport`), `classify` (the rules' verdict on a report, a `Classification`), `load_rules`
(the shipped rules plus the user's YAML files) and `days_left`. The only I/O is reading rule
files. Nothing here imports the other rooms of policywatch.
"""

from diffengine.assessment import (
    Assessment,
    CaptureProblem,
    assess,
    capture_problem,
    text_fingerprint,
)
from diffengine.classify import Classification, classify
from diffengine.compare import ChangeReport, Hunk, ParagraphChange, SentenceChange, compare
from diffengine.dates import days_left
from diffengine.normalize import normalize
from diffengine.rules import Rule, RuleError, RuleMatch, load_rules
from diffengine.words import Span

__all__ = [
    "Assessment",
    "CaptureProblem",
    "ChangeReport",
    "Classification",
    "Hunk",
    "ParagraphChange",
    "Rule",
    "RuleError",
    "RuleMatch",
    "SentenceChange",
    "Span",
    "assess",
    "capture_problem",
    "classify",
    "compare",
    "days_left",
    "load_rules",
    "normalize",
    "text_fingerprint",
]
