"""``from estimate import load``: each table as its schema types it, refused when broken."""

import pandas as pd
import pytest

from conftest import REPO, set_cell
from estimate import load
from estimate.publish.dataframes import LoadError, tables


def test_claims_come_typed_by_their_schema():
    claims = load("claims")
    assert len(claims) == sum(1 for _ in (REPO / "data/claims.csv").open(encoding="utf-8")) - 1
    assert str(claims["as_of_date_latest"].dtype) == "datetime64[s]"
    assert isinstance(claims["quantity"].dtype, pd.CategoricalDtype)
    assert list(claims["status"].cat.categories)[:3] == ["active", "superseded", "retracted"]
    assert str(claims["stated_value"].dtype) == "Float64"
    c019 = claims.set_index("claim_id").loc["c019"]
    assert c019["stated_value"] == 600 and c019["as_of_date_earliest"] == pd.Timestamp("2025-04-01")
    assert pd.isna(claims.set_index("claim_id").loc["c001", "stated_value"])  # "varios cientos": no number
    assert claims.attrs["fields"]["phrase"]["title"] and claims.attrs["title"] == "Claims"


def test_an_open_bound_is_missing_beside_its_flag():
    ranges = load("ranges")
    assert str(ranges["high_is_open"].dtype) == "boolean"
    open_rows = ranges[ranges["high_is_open"]]
    assert len(open_rows) > 0 and open_rows["value_high"].isna().all()
    assert ranges.loc[~ranges["high_is_open"], "value_high"].notna().all()


def test_derived_counts_are_nullable_integers_and_every_table_loads():
    assert str(load("estimates")["origins_used"].dtype) == "Int64"
    for name in tables():
        assert len(load(name).columns) > 0, name


def test_an_unknown_table_names_the_tables_there_are():
    with pytest.raises(LoadError) as refused:
        load("claim")
    assert refused.value.code == "table-unknown" and "sources, claimants" in refused.value.message


def test_a_broken_package_is_refused_with_its_problems(package):
    set_cell(package, "claims", "c019", "as_of_date_latest", "30/04/2025")
    with pytest.raises(LoadError) as caught:
        load("claims", package)
    assert caught.value.code == "package-invalid"
    assert any(line.startswith("data/claims.csv row ") and ", column as_of_date_latest: " in line and line.endswith("]")
               for line in caught.value.message.splitlines())
