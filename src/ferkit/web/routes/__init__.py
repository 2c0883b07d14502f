"""The HTTP and WebSocket routes, one module per resource: ``health`` (/healthz), ``models`` (/v1/models),
``photos`` (POST /v1/predict), ``videos`` (POST /v1/predict/video and /v1/jobs), ``live`` (the /v1/live
WebSocket) and ``browser`` (the in-browser mode's models and onnxruntime-web files). Handlers only parse,
validate and format: the work is the shared recogniser's, run off the event loop by the InferenceService and
the JobManager they receive as dependencies (``ferkit.web.deps``)."""
