"""Claims about North Korean troops in Russia's war: validation, ranges and estimates.

Run ``python -m estimate --help`` for the commands.
"""
