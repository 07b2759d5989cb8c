"""Maintenance commands beside the pipeline: add a source or a claim (intake), give a
version (bump), say what changed between versions (diff), check that the committed
outputs are what the code makes (reproduce), and write the README's coverage table."""
