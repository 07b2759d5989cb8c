"""``python -m estimate sqlite``: one SQLite file with every table, its keys, typed columns
and flat views, and Datasette metadata from the codebook."""

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, copy_whole
from estimate.cli import main
from estimate.publish.database import database, metadata
from estimate.package.outputs import valid_package

PACKAGE = valid_package(REPO)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "package.sqlite"
    path.write_bytes(database(PACKAGE))
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


def test_every_table_is_there_with_every_row(db):
    for resource in PACKAGE.descriptor["resources"]:
        if resource.get("type") != "table":
            continue
        lines = (REPO / resource["path"]).read_text(encoding="utf-8").count("\n") - 1
        if resource["name"] in PACKAGE.tables:
            lines = len(PACKAGE.tables[resource["name"]].rows)
        assert db.execute(f'SELECT count(*) FROM "{resource["name"]}"').fetchone()[0] == lines, resource["name"]


def pragma(db, query: str) -> list[dict]:
    """A PRAGMA's rows by column name (SQLite documents them by name, not position)."""
    cursor = db.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_keys_are_declared_and_hold(db):
    primary = [row["name"] for row in pragma(db, "PRAGMA table_info(claims)") if row["pk"]]
    assert primary == ["claim_id"]
    assert [row["name"] for row in pragma(db, "PRAGMA table_info(ranges)") if row["pk"]] == ["claim_id", "lexicon"]
    targets = {(row["table"], row["from"]) for row in pragma(db, "PRAGMA foreign_key_list(claims)")}
    assert {("sources", "source_id"), ("claimants", "claimant_id"), ("claims", "origin_id")} <= targets
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("INSERT INTO claim_fit (claim_id, origin_id, used_in_fit, unit) VALUES ('c999999', 'c999999', 1, 'persons')")


def test_columns_are_typed(db):
    row = db.execute("SELECT typeof(as_of_date_latest), as_of_date_latest, typeof(stated_value) FROM claims WHERE claim_id = 'c019'").fetchone()
    assert row == ("text", "2025-04-30", "real")
    assert db.execute("SELECT DISTINCT typeof(origins_used) FROM estimates").fetchall() == [("integer",)]
    assert set(db.execute("SELECT DISTINCT high_is_open FROM ranges").fetchall()) == {(0,), (1,)}
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE claims SET as_of_date_latest = '30/04/2025' WHERE claim_id = 'c019'")


def test_the_flat_view_reads_a_claim_in_one_row(db):
    db.row_factory = sqlite3.Row
    nis = db.execute("SELECT * FROM claims_flat WHERE claimant_id = 'kor-nis' AND quantity = 'killed' AND is_origin "
                     "ORDER BY as_of_date_latest").fetchall()
    db.row_factory = None
    assert [r["phrase"] for r in nis][-1] == "alrededor de 2 mil"
    last = nis[-1]
    assert last["claimant"].startswith("National Intelligence Service") and last["value_low"] == 1500 and last["used_in_fit"] == 1
    assert all(r["outlet"] is not None or r["source_kind"] == "archived" for r in nis)
    assert db.execute("SELECT count(*) FROM claims_flat").fetchone()[0] == len(PACKAGE.tables["claims"].rows)


def test_datasette_metadata_comes_from_the_codebook():
    meta = metadata(PACKAGE, "db")
    assert meta["license"] == "CC-BY-4.0" and meta["title"] == PACKAGE.descriptor["title"]
    claims = meta["databases"]["db"]["tables"]["claims"]
    resource = next(r for r in PACKAGE.descriptor["resources"] if r["name"] == "claims")
    field = next(f for f in resource["schema"]["fields"] if f["name"] == "phrase")
    assert claims["columns"]["phrase"] == field["description"]
    assert "claims_flat" in meta["databases"]["db"]["tables"]


def test_the_command_writes_the_same_database_twice_inside_the_package(tmp_path):
    root = copy_whole(tmp_path / "package")
    assert main(["sqlite", "--root", str(root)]) == 0
    stem = PACKAGE.descriptor["name"]
    first = (root / "dist" / f"{stem}.sqlite").read_bytes()
    assert json.loads((root / "dist" / f"{stem}.datasette.json").read_text(encoding="utf-8"))["databases"][stem]["tables"]
    assert main(["sqlite", "--root", str(root)]) == 0
    assert (root / "dist" / f"{stem}.sqlite").read_bytes() == first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_datasette_serves_the_database_documented_on_localhost(tmp_path):
    """Datasette started on the file and its metadata answers a filtered query and shows the
    codebook's titles. The client runs in a child process: this test process may open no
    connection at all (conftest.no_network)."""
    (tmp_path / "claims.sqlite").write_bytes(database(PACKAGE))
    (tmp_path / "meta.json").write_text(json.dumps(metadata(PACKAGE, "claims")), encoding="utf-8")
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("datasette")), "serve", str(tmp_path / "claims.sqlite"),
                               "-m", str(tmp_path / "meta.json"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = textwrap.dedent(f"""
        import json, sys, time, urllib.request
        base = "http://127.0.0.1:{port}/claims"
        for _ in range(100):
            try:
                rows = json.load(urllib.request.urlopen(base + "/claims_flat.json?claimant_id=kor-nis&quantity=killed&_shape=array"))
                break
            except OSError:
                time.sleep(0.2)
        page = urllib.request.urlopen(base + "/claims").read().decode()
        print(json.dumps({{"phrases": [r["phrase"] for r in rows], "title": "<h1>Claims</h1>" in page}}))
    """)
    try:
        answer = subprocess.run([sys.executable, "-c", client], capture_output=True, text=True, timeout=60)
    finally:
        server.terminate()
        server.wait(10)
    assert answer.returncode == 0, answer.stderr
    said = json.loads(answer.stdout)
    assert "alrededor de 2 mil" in said["phrases"] and said["title"]
