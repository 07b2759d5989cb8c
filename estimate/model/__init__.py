"""Stage 3, the model: its equations, the sampler that draws from the exact posterior and
the checks the draws must pass, and the fit that turns claims into estimates. Its settings
are model.toml; how far its numbers may move between machines is reproducibility.toml."""
