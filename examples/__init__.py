"""Examples that run: a web service on the migrator store (`examples.app`) and the live
migration rehearsal that drives it (`examples.rehearsal`)."""
