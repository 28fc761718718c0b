"""The diff engine: pure functions, no I/O, plain data in and out.

`assess(old, new, seen)` is what the crawl and `import-history` call for every new version of a
document: it says whether the change matters, how much, and why. Nothing here imports the other
rooms of policywatch.
"""

from diffengine.assessment import Assessment, RuleMatch, assess, text_fingerprint

__all__ = ["Assessment", "RuleMatch", "assess", "text_fingerprint"]
