"""``make bench`` (scale): a generated package of 100,000 claims, validated and fitted.

The package is written as files, exactly as a real one: 200 claimants, 10 subjects, 2,000
archived texts of 50 sentences, each sentence one claim with its verbatim quote and a
hedged phrase ('al menos 3.400', 'unos 12.000'), figures drawn around smooth true curves
with claimant biases and noise. Each stage then runs in its own process, which reports
its wall time and peak memory (maximum resident set size): validation (files,
frictionless, integrity), the intervals, and the fit with its estimates — at this size by
the Laplace approximation (estimate/model/laplace.py), since NUTS would need hours.

That approximation is then checked against NUTS on a smaller generated package (2,000
claims, where the fit starts to use it; two subjects, 40 claimants): both fit the same
claims, and the report gives how far the approximation's 5%, 50% and 95% points fall
from NUTS's, on the log scale, against a stated accuracy it can fail. Writes
benchmarks/scale.md.
"""

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estimate.package import stamps  # noqa: E402
from estimate.package.outputs import commit  # noqa: E402

# Literal conflicts are left out: they are pairs, so their number (and the output) grows
# with the square of the claims on one subject; 20,000 noisy claims already give ~500,000.
BUDGET = {"seconds": {"validate": 300, "ranges": 120, "fit": 600}, "memory_gb": 4.0}
# The approximation passes where no published point of a well-informed estimate (central
# value above MEANINGFUL people) is further than ACCURACY from NUTS's on the log scale (15%).
ACCURACY = 0.15
MEANINGFUL = 50
VALIDATE_AT = (2000,)
GENERATED = {"sources", "claimants", "subjects", "claims"}   # the tables generate() writes
START = date(2024, 10, 1)
KINDS = ["intelligence", "think_tank", "military", "government", "head_of_state", "state_media", "media"]
SIDES = ["ukraine_and_backers", "russia_dprk", "independent"]
WORDS = {"deployed": "soldados desplegados", "killed": "muertos", "wounded": "heridos", "casualties": "bajas"}
HEDGES = {"at_least": "al menos {n}", "about": "unos {n}", "more_than": "más de {n}", "bare": "{n}"}


def printed(n: int) -> str:
    """A number as the Spanish texts print it: '.' groups thousands."""
    return f"{n:,}".replace(",", ".")


def rounded(x: float) -> int:
    """Two significant digits, as reported figures usually are."""
    if x < 10:
        return max(int(round(x)), 1)
    step = 10 ** (int(math.log10(x)) - 1)
    return int(round(x / step) * step)


def truth(quantity: str, scale: float, days: int) -> float:
    deployed = scale * min(1.0, 0.4 + days / 150)
    killed = 0.15 * scale * (days / 450) ** 1.2
    return {"deployed": deployed, "killed": killed, "wounded": 3 * killed, "casualties": 4 * killed}[quantity]


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """Rows by column name, in the order the codebook lists them: a column the generator
    does not fill is left empty, so that a column added to the schema breaks nothing here."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([row.get(name, "") for name in header] for row in rows)


def generate(root: Path, n_claims: int, n_claimants: int, n_subjects: int, per_source: int, seed: int) -> dict:
    """Write a valid package of ``n_claims`` claims to ``root``; returns its counts."""
    rng = np.random.default_rng(seed)
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    (root / "data/texts").mkdir(parents=True)
    # Every input table it does not generate (the lexicon, numerals, phrase words, reliability)
    # is the package's own, read from the descriptor so that a new lookup table comes along.
    for resource in descriptor["resources"]:
        path = resource["path"]
        if path.startswith("data/") and path.count("/") == 1 and resource["name"] not in GENERATED:
            shutil.copy(ROOT / path, root / path)
    fields = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in descriptor["resources"] if r.get("type") == "table"}

    subjects = [{"subject_id": f"force_{i}", "name": f"Force {i}", "name_es": f"Fuerza {i}", "side": SIDES[i % 2],
                 "description": f"Synthetic force {i}."} for i in range(n_subjects)]
    write_csv(root / "data/subjects.csv", fields["subjects"], subjects)
    scales = {s["subject_id"]: float(rng.uniform(5_000, 50_000)) for s in subjects}
    claimants = [{"claimant_id": f"cl-{i:03d}", "name": f"Claimant {i}", "name_es": f"Declarante {i}", "label": f"Claimant {i}",
                  "label_es": f"Declarante {i}", "kind": KINDS[i % len(KINDS)], "side": SIDES[i % 3]} for i in range(n_claimants)]
    write_csv(root / "data/claimants.csv", fields["claimants"], claimants)
    bias = rng.normal(0, 0.2, n_claimants)

    sources, claims, resources = [], [], []
    n_sources = math.ceil(n_claims / per_source)
    span = (date(2025, 12, 31) - date(2024, 11, 1)).days
    for s in range(n_sources):
        source_id = f"s{s:05d}"
        published = date(2024, 11, 1) + timedelta(days=int(rng.integers(0, span)))
        days = (published - START).days
        sentences, seen = [], set()
        wanted = min(per_source, n_claims - len(claims))
        k = 0
        while len(sentences) < wanted:  # a repeated figure (same claimant, subject, quantity and words) is drawn again
            k += 1
            c = int(rng.integers(n_claimants))
            subject = subjects[int(rng.integers(n_subjects))]
            quantity = list(WORDS)[int(rng.integers(4))]
            hedge = list(HEDGES)[int(rng.integers(4))]
            n = rounded(truth(quantity, scales[subject["subject_id"]], days) * math.exp(bias[c] + rng.normal(0, 0.25)))
            phrase = HEDGES[hedge].format(n=printed(n))
            key = (c, subject["subject_id"], quantity, phrase)
            if key in seen:
                continue
            seen.add(key)
            quote = f"Según {claimants[c]['name']}, {phrase} {WORDS[quantity]} de {subject['name']} (nota {source_id}-{k})."
            sentences.append(quote)
            claim_id = f"c{len(claims) + 1:06d}"
            row = {"claim_id": claim_id, "source_id": source_id, "claimant_id": claimants[c]["claimant_id"],
                   "attribution": "explicit", "origin_id": claim_id, "subject_id": subject["subject_id"], "quantity": quantity,
                   "casualty_definition": "killed_wounded" if quantity == "casualties" else "", "time_scope": "cumulative",
                   "as_of_date_earliest": published.isoformat(), "as_of_date_latest": published.isoformat(),
                   "as_of_date_precision": "day", "as_of_date_basis": "publication", "phrase": phrase, "hedge_id": hedge,
                   "stated_value": str(n), "unit": "persons", "quote": quote, "status": "active"}
            claims.append(row)
        text = ("\n".join(sentences) + "\n").encode("utf-8")
        rel = f"data/texts/{source_id}.txt"
        (root / rel).write_bytes(text)
        digest = hashlib.sha256(text).hexdigest()
        row = {"source_id": source_id, "kind": "archived", "title": sentences[0], "title_kind": "first_sentence", "language": "es",
               "published_date_earliest": published.isoformat(), "published_date_latest": published.isoformat(),
               "published_date_precision": "day", "published_date_basis": "printed", "published_date_evidence": "Generated.",
               "text_path": rel, "text_sha256": digest, "archived_from": "generated"}
        sources.append(row)
        resources.append({"name": f"text-{source_id}", "path": rel, "format": "txt", "mediatype": "text/plain",
                          "encoding": "utf-8", "hash": f"sha256:{digest}"})
    write_csv(root / "data/sources.csv", fields["sources"], sources)
    write_csv(root / "data/claims.csv", fields["claims"], claims)
    descriptor["resources"] = [r for r in descriptor["resources"] if not r["path"].startswith("data/texts/")] + resources
    descriptor["sources"] = []
    (root / "datapackage.json").write_text(json.dumps(descriptor, indent=1, ensure_ascii=False), encoding="utf-8")
    return {"claims": len(claims), "sources": n_sources, "claimants": n_claimants, "subjects": n_subjects}


# ---------------------------------------------------------------- stages, each in its own process

def scale_config(package) -> dict:
    """The model's configuration, with every generated subject starting on START."""
    from estimate.model.fit import load_config
    subjects = [r["subject_id"] for r in package.tables["subjects"].rows]
    return load_config() | {"start": {s: {"date": START.isoformat(), "basis": "generated"} for s in subjects}}


def stage(name: str, root: Path) -> str:
    """Run one stage in this process; returns a line saying what it produced."""
    from estimate.model.fit import built_for, estimate_rows, posterior
    from estimate.wording.ranges import claim_ranges
    from estimate.package.tables import load
    from estimate.package.validate import validate_package
    if name == "validate":
        problems = validate_package(root)
        if problems:
            raise SystemExit("the generated package is invalid:\n" + "\n".join(map(str, problems[:20])))
        return "valid"
    package, _ = load(root)
    if name == "ranges":
        return f"{len(claim_ranges(package))} intervals"
    config = scale_config(package)
    fit = posterior(built_for(package, config), config)
    rows = estimate_rows(fit, [], config, None).rows
    return (f"{len(fit.obs)} claims fitted ({fit.chains.method}), {fit.design.n_params} parameters, "
            f"{len(rows)} estimate rows")


def compared(n_claims: int) -> dict:
    """NUTS and the Laplace approximation on one small generated package: each one's time,
    and the distance between their published points (|log ratio| of value + 1)."""
    from estimate.model.fit import built_for, checked_fit, estimate_rows, posterior
    from estimate.package.tables import load
    points, seconds, checked = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="scale-check-") as scratch:
        root = Path(scratch)
        generate(root, n_claims, n_claimants=40, n_subjects=2, per_source=50, seed=11)
        package, _ = load(root)
        config = scale_config(package)
        built = built_for(package, config)
        # NUTS samples in the coordinates the Hessian at the mode whitens: still exact NUTS
        # of the same posterior, and the only way it finishes in minutes at this size.
        for method, claims_from, metric in (("nuts", math.inf, "hessian"), ("laplace", 0, "prior")):
            chosen = config | {"approximation": config["approximation"] | {"claims_from": claims_from},
                               "sampler": config["sampler"] | {"metric": metric}}
            started = time.perf_counter()
            fit = posterior(built, chosen)
            points[method] = np.array([[r["value_low"], r["value_central"], r["value_high"]]
                                       for r in estimate_rows(fit, [], chosen, None).rows], dtype=float)
            seconds[method] = time.perf_counter() - started
            checked[method] = checked_fit(method, fit, chosen)
    nuts, approx = points["nuts"], points["laplace"]
    kept = np.isfinite(nuts).all(axis=1) & (nuts[:, 1] > MEANINGFUL)
    distance = np.abs(np.log1p(approx[kept]) - np.log1p(nuts[kept]))
    return {"claims": n_claims, "rows": int(kept.sum()), "nuts_seconds": seconds["nuts"], "laplace_seconds": seconds["laplace"],
            "nuts_rhat": checked["nuts"].record["largest_rhat"], "nuts_gates_failed": len(checked["nuts"].failures),
            "median": np.median(distance, axis=0).tolist(), "largest": distance.max(axis=0).tolist()}


def measured(name: str, command: list[str]) -> dict:
    """Wall time and peak resident memory of one stage, run as a child process (also used by
    benchmarks/speed.py)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    out, err = child.stdout.read(), child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {name} failed:\n{err}")
    return {"stage": name, "seconds": seconds, "memory_gb": usage.ru_maxrss * 1024 / 1e9, "result": out.strip()}


def report(counts: dict, results: list[dict], generated: float, checks: list[dict]) -> list[str]:
    lines = [f"# Scale: a generated package of {counts['claims']:,} claims", "",
             f"Written by `make bench` (`benchmarks/scale.py`). The package: {counts['claims']:,} claims in "
             f"{counts['sources']:,} archived texts, {counts['claimants']} claimants, {counts['subjects']} subjects "
             f"(generated in {generated:.0f} s). Each stage runs in its own process; memory is its peak resident set.",
             "", "| stage | what it produced | time (s) | budget (s) | peak memory (GB) | within budget |", "|---|---|---|---|---|---|"]
    for r in results:
        ok = r["seconds"] <= BUDGET["seconds"][r["stage"]] and r["memory_gb"] < BUDGET["memory_gb"]
        lines.append(f"| {r['stage']} | {r['result']} | {r['seconds']:.1f} | {BUDGET['seconds'][r['stage']]} | "
                     f"{r['memory_gb']:.2f} | {'yes' if ok else '**no**'} |")
    lines += ["", f"Budgets: the times above, and under {BUDGET['memory_gb']:.0f} GB of memory for every stage.", "",
              "## The approximation against NUTS", "",
              "Both fit the same generated package (two subjects, 40 claimants), at the size from which the fit "
              "uses the approximation ([approximation] claims_from): the smallest packages it is used on, where it "
              "is least accurate. NUTS samples the coordinates that the Hessian at the mode whitens ([sampler] "
              "metric = \"hessian\"): exact NUTS of the same posterior, finished in minutes instead of hours. "
              "Distance: |log(approximation + 1) - "
              f"log(NUTS + 1)| of each published point, over estimates whose central value exceeds {MEANINGFUL} people; "
              f"the approximation passes where every distance is at most {ACCURACY} (about {ACCURACY:.0%}).", "",
              "| claims | estimates compared | NUTS (s) | NUTS largest R-hat | NUTS gates failed | approximation (s) | "
              "median distance (5% / 50% / 95%) | largest distance (5% / 50% / 95%) | passes |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        three = lambda values: " / ".join(f"{v:.3f}" for v in values)
        ok = max(c["largest"]) <= ACCURACY
        lines.append(f"| {c['claims']:,} | {c['rows']} | {c['nuts_seconds']:.0f} | {c['nuts_rhat']} | "
                     f"{c['nuts_gates_failed']} | {c['laplace_seconds']:.0f} | "
                     f"{three(c['median'])} | {three(c['largest'])} | {'yes' if ok else '**no**'} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=list(BUDGET["seconds"]))
    parser.add_argument("--root", type=Path)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--validate-at", type=int, nargs="*", default=list(VALIDATE_AT),
                        help="sizes of the packages on which the approximation is checked against NUTS")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/scale.md")
    args = parser.parse_args()
    if args.stage:
        print(stage(args.stage, args.root))
        return 0
    with tempfile.TemporaryDirectory(prefix="scale-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        counts = generate(root, args.claims, n_claimants=200, n_subjects=10, per_source=50, seed=7)
        generated = time.perf_counter() - started
        results = []
        for name in BUDGET["seconds"]:
            results.append(measured(name, [sys.executable, __file__, "--stage", name, "--root", str(root)]))
            print(f"{name}: {results[-1]}", file=sys.stderr)
    checks = []
    for n in args.validate_at:
        checks.append(compared(n))
        print(f"against NUTS: {checks[-1]}", file=sys.stderr)
    lines = report(counts, results, generated, checks)
    commit(args.output.parent, {Path(args.output.name): ("\n".join(lines) + "\n").encode("utf-8")})
    if args.output.resolve().is_relative_to(ROOT):   # run directly, not by make
        stamps.refresh(ROOT, "scale", [str(args.output.resolve().relative_to(ROOT))], stamps.BENCH_STAMPS)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
