"""``make bench`` (speed): the package's own fit, timed against its budgets.

Two stages, each in its own process on a scratch copy of the package (its datapackage.json
and data/), reporting wall time and peak memory (maximum resident set size):

- the main fit: the posterior of every claim by NUTS, as ``make fit`` runs it first;
- ``make fit`` itself (``python -m estimate fit``): the main fit, the four sensitivity runs,
  the as-of series and the exact leave-one-out refits, with every table they publish.

Compiled samplers are cached in the virtual environment (estimate.model.sampler), so the times are
those of a machine that has run the fit before; a first run adds about 25 s per compiled
sampler. Writes benchmarks/speed.md; exits non-zero, after writing it, if a stage is over
its budget.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import measured  # noqa: E402
from estimate.package import stamps  # noqa: E402
from estimate.package.outputs import commit  # noqa: E402

# What users wait for on a 2-core machine: a minute for the main fit, five for make fit.
BUDGET = {"main fit": 60, "make fit": 300}
MEMORY_GB = 4.0


def main_fit(root: Path) -> str:
    """The main fit alone, in this process: what it ran and how it converged."""
    from estimate.model.fit import built_for, checked_fit, load_config, posterior
    from estimate.package.outputs import valid_package
    config = load_config()
    fit = posterior(built_for(valid_package(root), config), config)
    record = checked_fit("main", fit, config).record
    return (f"{len(fit.obs)} claims, {fit.design.n_params} parameters, {record['chains']} chains x "
            f"{record['draws'] // record['chains']} draws, {record['integration_steps_per_draw']} integration "
            f"steps per draw, largest R-hat {record['largest_rhat']}")


def fit_record(root: Path) -> str:
    """What make fit ran, from the fit.json it wrote."""
    runs = json.loads((root / "data/derived/fit.json").read_text(encoding="utf-8"))["runs"]
    loo = runs["leave_one_out"]
    sampled = [name for name in runs if name != "leave_one_out"]
    return (f"{len(sampled)} runs published (main, sensitivity, as-of; an as-of date that knows every claim is the "
            f"main run), {loo['exact_refits']} exact leave-one-out refits")


def report(results: list[dict]) -> list[str]:
    lines = ["# Speed: the package's own fit", "",
             "Written by `make bench` (`benchmarks/speed.py`), on this package as committed, on a copy of it. Each "
             "stage runs in its own process; memory is its peak resident set. Compiled samplers come from the "
             "cache in `.venv/` (a first run on a machine adds about 25 s per compiled sampler).", "",
             "| stage | what it ran | time (s) | budget (s) | peak memory (GB) | within budget |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['stage']} | {r['result']} | {r['seconds']:.1f} | {BUDGET[r['stage']]} | {r['memory_gb']:.2f} | "
                     f"{'yes' if within(r) else '**no**'} |")
    lines += ["", f"Budgets: the times above, and under {MEMORY_GB:.0f} GB of memory, on a 2-core machine "
              f"({os.cpu_count()} cores here)."]
    return lines


def within(r: dict) -> bool:
    return r["seconds"] <= BUDGET[r["stage"]] and r["memory_gb"] < MEMORY_GB


def main() -> int:
    if sys.argv[1:2] == ["--main-fit"]:
        print(main_fit(Path(sys.argv[2])))
        return 0
    with tempfile.TemporaryDirectory(prefix="speed-") as scratch:
        root = Path(scratch)
        shutil.copy2(ROOT / "datapackage.json", root)
        shutil.copytree(ROOT / "data", root / "data")
        results = [measured("main fit", [sys.executable, __file__, "--main-fit", str(root)])]
        print(f"main fit: {results[-1]}", file=sys.stderr)
        results.append(measured("make fit", [sys.executable, "-m", "estimate", "fit", "--root", str(root)]))
        results[-1]["result"] = fit_record(root)
        print(f"make fit: {results[-1]}", file=sys.stderr)
    lines = report(results)
    commit(ROOT / "benchmarks", {Path("speed.md"): ("\n".join(lines) + "\n").encode("utf-8")})
    stamps.refresh(ROOT, "speed", ["benchmarks/speed.md"], stamps.BENCH_STAMPS)  # run directly, not by make
    print("\n".join(lines))
    failed = [r["stage"] for r in results if not within(r)]
    if failed:
        print(f"over budget: {', '.join(failed)} — see benchmarks/speed.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
