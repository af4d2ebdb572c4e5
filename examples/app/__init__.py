"""A small session service on `migrator.open_store`: what an application looks like after
adopting the dual-write store (run it with `uvicorn examples.app.service:app`)."""
