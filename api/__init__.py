"""HTTP floor: the FastAPI app, its chat page and the ``qa`` command line."""
