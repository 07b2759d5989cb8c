"""Stage 2, from wording to evidence: each claim's words become an interval by the lexicon
(ranges), and the claims become the figures the model reads, one per origin (evidence)."""
