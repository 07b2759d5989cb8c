"""Every command the README names and every Makefile target exists and runs (dry-run where slow)."""

import ast
import contextlib
import os
import signal
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from estimate.cli import COMMANDS

README = (REPO / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
PHONY = re.search(r"^\.PHONY: (.+)$", MAKEFILE, re.MULTILINE).group(1).split()
DOCUMENTED = re.findall(r"^([a-z][a-z_-]*):.*## ", MAKEFILE, re.MULTILINE)
# In code: `make x …` spans, and lines of code blocks that start with make.
CODE_BLOCKS = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", README, re.MULTILINE | re.DOTALL))
README_TARGETS = set(re.findall(r"`make ([a-z][a-z_-]*)", README) + re.findall(r"^make ([a-z][a-z_-]*)", CODE_BLOCKS, re.MULTILINE))
README_COMMANDS = set(re.findall(r"python -m estimate ([a-z][a-z-]*)", README))


def test_every_phony_target_has_a_help_line_and_every_help_line_is_phony():
    assert sorted(PHONY) == sorted(DOCUMENTED)


@pytest.mark.parametrize("target", PHONY)
def test_every_make_target_runs_as_a_dry_run(target):
    result = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_make_target_in_the_readme_exists_and_every_target_is_documented():
    assert README_TARGETS - set(PHONY) == set()
    assert set(PHONY) - README_TARGETS - {"help"} == set()


def test_every_estimate_command_in_the_readme_exists_and_every_command_is_documented():
    assert README_COMMANDS - set(COMMANDS) == set()
    assert set(COMMANDS) - README_COMMANDS == set()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_estimate_command_answers_help(command):
    result = subprocess.run([sys.executable, "-m", "estimate", command, "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0 and "usage: python -m estimate " + command in result.stdout


@pytest.mark.parametrize("argv, says", [
    (["validate"], "The data package is valid"),
    (["cite"], "BibTeX:"),
    (["ranges", "--lexicon", "wide"], "claim_id,"),
    (["diff", ".", "."], "No differences"),
])
def test_the_quick_readme_commands_run_for_real(argv, says):
    result = subprocess.run([sys.executable, "-m", "estimate", *argv], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert says in result.stdout


def test_a_failed_run_leaves_every_committed_output_in_place(tmp_path):
    """make fit that fails (here its Python is 'false') must not delete the last good outputs."""
    copy = tmp_path / "package"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "__pycache__"))
    (copy / ".venv").mkdir()
    (copy / ".venv/.installed").touch()
    outputs = sorted((copy / "data/derived").iterdir())
    before = {p.name: p.read_bytes() for p in outputs}
    stale = os.stat(copy / "estimate/model/fit.py").st_mtime + 10
    os.utime(copy / "estimate/model/fit.py", (stale, stale))   # newer than every output: the fit must run
    result = subprocess.run(["make", "fit", "PY=false"], cwd=copy, capture_output=True, text=True)
    assert result.returncode != 0
    assert {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())} == before


def test_an_interrupted_run_leaves_every_committed_output_in_place(tmp_path):
    """Ctrl-C or a kill during make fit: make deletes a target whose file changed while its
    recipe ran, unless the target is precious; the command's own writes are all or none, so
    make must leave the files alone. Here the 'Python' touches the outputs, then waits."""
    copy = tmp_path / "package"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "__pycache__"))
    (copy / ".venv").mkdir()
    (copy / ".venv/.installed").touch()
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\ntouch data/derived/*\nsleep 60\n", encoding="utf-8")
    slow.chmod(0o755)
    before = {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())}
    for p in (copy / "data/derived").iterdir():
        os.utime(p, (1e9, 1e9))   # long ago: the fit must run, and the touch is seen
    # SIGINT as a terminal's Ctrl-C finds it: under a non-interactive shell's `&` (as in
    # `nohup bash .ci/run &`) it is inherited ignored, and make keeps an ignored SIGINT ignored.
    # make's stderr goes to a file and only make is waited for; what is left of its group is
    # killed after, so no stray process outlives the test.
    with open(tmp_path / "make.err", "w", encoding="utf-8") as err_file:
        make = subprocess.Popen(["make", "fit", f"PY={slow}"], cwd=copy, stdout=subprocess.DEVNULL, stderr=err_file,
                                start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    while os.stat(copy / "data/derived/fit.json").st_mtime == 1e9 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(make.pid, signal.SIGINT)   # as Ctrl-C does: make and the command it runs
    try:
        make.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)   # whatever is left of the group
    err = (tmp_path / "make.err").read_text(encoding="utf-8")
    assert make.returncode != 0 and "Deleting file" not in err, err
    assert {p.name: p.read_bytes() for p in sorted((copy / "data/derived").iterdir())} == before


# ---------------------------------------------------------------- prerequisites derived from the imports

PACKAGE_CODE = REPO / "estimate"
# A module names a file it reads beside it by a literal such as "model.toml" (Path(__file__).with_name(...)).
READ_BESIDE = re.compile(r'"([A-Za-z_]+\.(?:toml|html|css|js))"')


def module_file(dotted: str) -> Path | None:
    """estimate.model.fit → estimate/model/fit.py; estimate.model → its __init__.py."""
    base = REPO.joinpath(*dotted.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def with_packages(dotted: str) -> set[str]:
    """A module and every package above it: importing estimate.model.fit runs
    estimate/__init__.py and estimate/model/__init__.py first."""
    parts = dotted.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


# Where the code a command runs lives: the toolkit, and the benchmarks (whose report runs the fitting script's code).
CODE_ROOTS = ("estimate", "benchmarks")


def estimate_imports(path: Path) -> set[str]:
    """The modules of CODE_ROOTS a file imports, wherever in it (imports inside functions
    too), as dotted names with the packages they run on the way."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in CODE_ROOTS:
            found |= with_packages(node.module)
            # from estimate.model import fit: fit is a module; from estimate.model.fit import x: x is not
            found |= {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
        elif isinstance(node, ast.Import):
            found |= {m for a in node.names if a.name.split(".")[0] in CODE_ROOTS for m in with_packages(a.name)}
    return {m for m in found if module_file(m)}


def code_needed(start: Path) -> set[str]:
    """Every file of estimate/ a script or module runs or reads: its imports, theirs, and
    the files they read beside them (configuration, words, templates)."""
    inside = start.is_relative_to(PACKAGE_CODE)
    own = ".".join(start.relative_to(REPO).with_suffix("").parts) if inside else None
    modules, todo = set(), list(estimate_imports(start)) + (list(with_packages(own)) if own else [])
    while todo:
        module = todo.pop()
        if module not in modules:
            modules.add(module)
            # estimate/__init__.py only offers load() to people in Python: no command calls it.
            todo += estimate_imports(module_file(module)) if module != "estimate" else []
    needed = set()
    for module in modules:
        path = module_file(module)
        needed.add(str(path.relative_to(REPO)))
        for name in READ_BESIDE.findall(path.read_text(encoding="utf-8")):
            needed |= {str(p.relative_to(REPO)) for p in (path.parent / name, path.parent / "web" / name) if p.is_file()}
    return needed


def file_rules() -> dict[str, tuple[set[str], str]]:
    """Each file target of the Makefile with its prerequisites, as make expands them, and
    its recipe (make's own database: no parsing of variables by hand)."""
    database = subprocess.run(["make", "-pqn"], cwd=REPO, capture_output=True, text=True).stdout
    rules = {}
    for block in re.split(r"\n\n", database):
        head = re.match(r"^([a-z][\w./-]*\.(?:csv|json|xlsx|md|png|svg)): ?(.*)$", block, re.MULTILINE)
        recipe = re.search(r"^\t(.+)$", block, re.MULTILINE)
        if head and recipe:
            rules[head.group(1)] = (set(head.group(2).split()), recipe.group(1))
    return rules


def test_each_target_lists_exactly_the_code_its_command_runs():
    """For every file the Makefile builds, the estimate/ files among its prerequisites are
    exactly those its command imports or reads, so that editing any of them rebuilds it,
    and nothing else does."""
    rules = file_rules()
    assert {"data/derived/ranges.csv", "data/derived/estimates.csv", "figures/README.md", "benchmarks/results.md"} <= set(rules)
    checked = 0
    for target, (prerequisites, recipe) in sorted(rules.items()):
        command = re.search(r"\$\(call run,([a-z-]+),", recipe) or re.search(r"-m estimate ([a-z-]+)", recipe)
        script = re.search(r"(?:\$\(PY\) |\$\(call bench_run,[^,]+,)(benchmarks/\S+\.py)", recipe)
        if command:
            module = COMMANDS[command.group(1)][0].split(":")[0]
            # The command line runs through the package's entry points before the module itself.
            needed = code_needed(module_file(f"estimate.{module}")) | code_needed(PACKAGE_CODE / "__main__.py")
        elif script:
            needed = code_needed(REPO / script.group(1)) | {script.group(1)}
        else:
            continue
        listed = {p for p in prerequisites if p.startswith("estimate/") or (p.startswith("benchmarks/") and p.endswith(".py"))}
        assert needed - listed == set(), f"{target}: add {sorted(needed - listed)} to its prerequisites in the Makefile"
        assert listed - needed == set(), f"{target}: {sorted(listed - needed)} are prerequisites its command never uses"
        checked += 1
    assert checked >= 7


def test_nothing_refers_to_a_document_outside_the_repository():
    """The design notes the project started from are not in the repository: code,
    configuration and README explain themselves."""
    outside = re.compile("DESIGN" + r"(\.md| ?§)")
    files = [p for p in (REPO / "estimate").rglob("*") if p.suffix in (".py", ".toml", ".html")]
    files += [REPO / "README.md", REPO / "Makefile", *(REPO / "benchmarks").glob("*.py")]
    assert [str(p.relative_to(REPO)) for p in files if outside.search(p.read_text(encoding="utf-8"))] == []
