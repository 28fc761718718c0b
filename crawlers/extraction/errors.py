"""The error every extractor raises for a page that yields no policy text."""

# What to do about a page over the size cap, said wherever one is refused.
RAISE_THE_CAP = "a policy this large? raise max_bytes (POLICYWATCH_MAX_BYTES)"


class ExtractionError(Exception):
    """A page that yields no policy text. `kind` is a short machine-readable reason."""

    kind: str  # "selector-matched-nothing" | "empty-text" | "not-html"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
