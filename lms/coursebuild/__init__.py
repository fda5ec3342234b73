"""Deterministic builder of the catalog's SCORM modules from `courses/modules/*.yaml`."""
