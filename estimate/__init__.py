"""Claims about North Korean troops in Russia's war: validation, ranges and estimates.

Run ``python -m estimate --help`` for the commands. In Python, ``load`` gives any table of
the package as a typed pandas DataFrame::

    from estimate import load
    claims = load("claims")
    claims[claims.claimant_id == "kor-nis"][["as_of_date_latest", "quantity", "phrase"]]
"""


def load(name: str, root=None):
    """The table ``name`` of the package as a typed DataFrame (estimate.publish.dataframes.load)."""
    # Imported here so that the command line does not pay for pandas.
    from estimate.publish.dataframes import load as typed_table
    return typed_table(name, root)
