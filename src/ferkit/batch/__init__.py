"""Analysis of whole photo and video collections: inputs split into tasks (a video, or a batch of photos), run
on every core (a local process pool) or on a Ray cluster, results streamed to Parquet, CSV, JSON or JSON lines
as each task completes, and resumable after a kill (``ferkit.analyze``, ``ferkit predict --workers/--parquet``).

Importing this package loads nothing heavy; the engines import their libraries when they start."""
