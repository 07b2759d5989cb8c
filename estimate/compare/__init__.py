"""Stage 4, comparisons: claims that conflict with one another or with the fit, the simple
estimates the fit must beat, and the simulated worlds the benchmark scores them on."""
