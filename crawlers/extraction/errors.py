"""The error every extractor raises for a page that yields no policy text."""


class ExtractionError(Exception):
    """A page that yields no policy text. `kind` is a short machine-readable reason."""

    kind: str  # "selector-matched-nothing" | "empty-text" | "not-html"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
