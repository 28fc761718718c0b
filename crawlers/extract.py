"""HTML to normalized Markdown (placeholder: implementation in progress)."""
