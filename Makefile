# Every target that needs Python depends on the virtual environment, which is rebuilt
# only when the pinned requirements change: a fresh clone needs just python3 and make.
# Packages are installed without compiling every module up front (a third of the set-up
# time): Python compiles each module the first time it is imported. The pins are exact and
# installed without resolving dependencies, so four pip processes can each take a share
# of them: most of the time is spent waiting for the package index, once per package
# (set-up takes about 26 s here instead of 39 s).
#
# No .DELETE_ON_ERROR: every command writes all its outputs or none, so a failed run leaves
# the last good outputs in place; with it, make deleted four of the fit's five files
# (the other members of a grouped target) whenever a fit failed its checks.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed

# Inputs every derived table depends on, and the code shared by every command: editing
# any of them rebuilds exactly the tables that depend on it.
INPUTS := datapackage.json $(wildcard data/*.csv) $(wildcard data/texts/*.txt)
# CORE is what every command and benchmark imports; CLI what a command adds. Each target lists
# the rest of the code its command imports or reads, as tests/test_wiring.py derives it.
CORE := estimate/__init__.py $(addprefix estimate/package/,__init__.py problems.py tables.py numbers.py integrity.py validate.py outputs.py stamps.py)
CLI := estimate/__main__.py estimate/cli.py
# Each stage's code, as its commands import it (estimate/<stage>/).
WORDING := $(addprefix estimate/wording/,__init__.py ranges.py evidence.py reasons.toml)
# The model's settings alone (model.toml, read without JAX), and the whole model.
SETTINGS := $(addprefix estimate/model/,__init__.py settings.py model.toml)
MODEL := $(SETTINGS) $(addprefix estimate/model/,equations.py sampler.py laplace.py fit.py tolerances.py reproducibility.toml)
DERIVED := data/derived
RANGES := $(DERIVED)/ranges.csv
CONFLICTS := $(DERIVED)/conflicts.csv
BASELINES := $(DERIVED)/baselines.csv
FIT := $(addprefix $(DERIVED)/,estimates.csv estimates_as_of.csv claimant_bias.csv claim_fit.csv fit.json)
XLSX := $(DERIVED)/dprk-troops-russia-claims.xlsx
STAMPS := .stamps
FIGURE_NAMES := $(addprefix who_said_,killed wounded casualties deployed) killed wounded casualties deployed claimants as_of_killed overview
FIGURES := figures/README.md $(foreach n,$(FIGURE_NAMES),figures/$(n).csv $(foreach l,en es,$(foreach e,png svg,figures/$(n).$(l).$(e))))

# Ctrl-C or a kill while a command runs: make would delete each target whose file changed
# meanwhile. Every command writes all its outputs or none (and a killed one is finished or
# undone by the next), so the files on disk are always a complete set: keep them.
.PRECIOUS: $(RANGES) $(FIT) $(CONFLICTS) $(BASELINES) $(XLSX) $(FIGURES)

.PHONY: help figures validate derived ranges fit conflicts baselines xlsx cite release sqlite site reproduce test check bench clean requirements

# $(call stamped,FOLDER,STAMP,PYTHON ARGUMENTS,OUTPUTS[,MORE INPUTS]): run 'python ARGUMENTS'
# unless the contents of its prerequisites (and MORE INPUTS) and outputs are those its last
# run recorded in FOLDER/STAMP.json (then the outputs are only touched). make alone goes by
# modification times, and a fresh clone has new times everywhere: it would refit and
# rewrite what is already current.
define stamped
@$(PY) -m estimate.package.stamps check $(2) --folder $(1) $(filter-out $(VENV_STAMP),$^) $(5) requirements.txt -- $(4) || { \
  echo "$(PY) $(3)"; \
  $(PY) $(3) && $(PY) -m estimate.package.stamps record $(2) --folder $(1) --runs "python $(3)" $(filter-out $(VENV_STAMP),$^) $(5) requirements.txt -- $(4); }
endef
# $(call run,COMMAND,OUTPUTS): 'python -m estimate COMMAND', stamped in .stamps/COMMAND.json.
run = $(call stamped,$(STAMPS),$(1),-m estimate $(1),$(2))
# $(call bench_run,STAMP,SCRIPT ARGUMENTS,OUTPUTS[,MORE INPUTS]): a benchmark's script, stamped
# in benchmarks/.stamps/STAMP.json, so that a fresh clone's make bench refits no seed whose
# code is unchanged (an hour each); apart from .stamps/, so that a benchmark not rerun since
# the code changed is never reported as a stale package table.
BENCH_STAMPS := benchmarks/.stamps
bench_run = $(call stamped,$(BENCH_STAMPS),$(1),$(2),$(3),$(4))

help: ## List the targets
	@echo "Usage: make <target>"
	@grep -E '^[a-z][a-z_-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16 | sed 's/^/  /'

$(VENV_STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python 3.11 or newer is needed: run 'make PYTHON=python3.11 ...'" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	grep -E '^[A-Za-z0-9]' requirements.txt \
	  | xargs -n 16 -P 4 $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile
	touch $@

figures: $(FIGURES) ## Draw every chart (English and Spanish, PNG and SVG) in figures/, building what it needs
# One run draws every figure (a grouped target); it needs the fit and the claims' intervals.
$(FIGURES) &: $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) $(FIT) $(WORDING) estimate/publish/__init__.py estimate/publish/figures.py estimate/publish/figure_words.py estimate/publish/figure_text.toml
	$(call run,figures,$(FIGURES))

validate: $(VENV_STAMP) ## Check the data package: schemas, keys, quotes, numbers, dates, hashes
	$(PY) -m estimate validate

derived: $(RANGES) $(FIT) $(CONFLICTS) $(BASELINES) $(XLSX) ## Build every derived table and the workbook in data/derived/

ranges: $(RANGES) ## Each claim's wording as an interval (data/derived/ranges.csv)
$(RANGES): $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) estimate/wording/__init__.py estimate/wording/ranges.py
	$(call run,ranges,$(RANGES))

fit: $(FIT) ## Fit the model: estimates, claimant biases, per-claim diagnostics (data/derived/)
# One run writes all five files (a grouped target, GNU make >= 4.3).
$(FIT) &: $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) $(WORDING) $(MODEL)
	$(call run,fit,$(FIT))

conflicts: $(CONFLICTS) ## Literal and model conflicts between claims (data/derived/conflicts.csv)
$(CONFLICTS): $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) $(FIT) $(WORDING) $(SETTINGS) estimate/compare/__init__.py estimate/compare/conflicts.py
	$(call run,conflicts,$(CONFLICTS))

baselines: $(BASELINES) ## The six baseline estimates (data/derived/baselines.csv)
$(BASELINES): $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) $(WORDING) estimate/compare/__init__.py estimate/compare/baselines.py
	$(call run,baselines,$(BASELINES))

xlsx: $(XLSX) ## Every table in one spreadsheet, with a README sheet and the codebook (data/derived/*.xlsx)
$(XLSX): $(VENV_STAMP) $(INPUTS) $(CORE) $(CLI) $(RANGES) $(FIT) $(CONFLICTS) $(BASELINES) CITATION.cff estimate/publish/__init__.py estimate/publish/citation.py estimate/package/versions.py estimate/publish/workbook.py
	$(call run,xlsx,$(XLSX))

release: $(VENV_STAMP) derived $(XLSX) $(FIGURES) ## The release zip dist/<name>-<version>.zip with SHA256SUMS (same bytes every time)
	$(PY) -m estimate release

sqlite: $(VENV_STAMP) derived ## Every table with its keys and flat views in one SQLite file, and Datasette metadata (dist/<name>.sqlite)
	$(PY) -m estimate sqlite

site: $(VENV_STAMP) derived $(FIGURES) ## The website in site/, English and Spanish: claims browser, claimant and source pages, charts, downloads (open site/index.html)
	$(PY) -m estimate site

cite: $(VENV_STAMP) ## Print how to cite this version (APA and BibTeX, from CITATION.cff)
	@$(PY) -m estimate cite

test: $(VENV_STAMP) ## Run the tests: the package, ~60 broken copies, ranges, conflicts, baselines, the model, spreadsheets, releases
# On every core, a test file per worker (its shared fixtures are built once).
	$(PY) -m pytest -n auto --dist loadfile

reproduce: $(VENV_STAMP) ## Rebuild every derived output in memory and compare: bytes, or the fit's numbers within tolerance
	$(PY) -m estimate reproduce

check: $(VENV_STAMP) ## What CI runs: validate, the tests, those that refit the whole package, and a clean git status
	$(PY) -m estimate validate
	$(MAKE) --no-print-directory test
	$(PY) -m pytest -m refit
	@test -z "$$(git status --porcelain)" \
	  || { git status --short; echo "The checks changed or added the files above: nothing run by 'make check' may write into the repository." >&2; exit 1; }
	@echo "check passed: valid, tested, and every committed output is what the code makes"

bench: benchmarks/results.md benchmarks/scale.md benchmarks/speed.md ## Calibration, baselines and speed on simulated truth; 100,000 claims at scale (hours; not in make test)
# The reporting seeds: each is fitted on its own (about an hour on 2 cores) into
# benchmarks/replicates/seed-S/ (points.csv and scenarios.csv, written together), so that
# seeds add up across runs; the report scores them together. The report is a script of its
# own, so that a change to it never refits a seed. The model's settings were chosen on
# seeds 0 to 300 (benchmarks/run.py CHOSEN_ON).
BENCH_SEEDS := 400 500 600 700 800 900
BENCH_CODE := $(VENV_STAMP) $(INPUTS) $(CORE) $(WORDING) $(MODEL) estimate/compare/__init__.py estimate/compare/baselines.py estimate/compare/simulate.py benchmarks/run.py
BENCH_REPLICATES := $(foreach s,$(BENCH_SEEDS),benchmarks/replicates/seed-$(s)/points.csv)
$(BENCH_REPLICATES): benchmarks/replicates/seed-%/points.csv: $(BENCH_CODE)
	$(call bench_run,seed-$*,benchmarks/run.py replicate --seed $*,$@ $(@D)/scenarios.csv)
benchmarks/results.md: $(BENCH_CODE) benchmarks/report.py $(BENCH_REPLICATES)
	$(call bench_run,results,benchmarks/report.py --seeds $(BENCH_SEEDS),$@,$(BENCH_REPLICATES:points.csv=scenarios.csv))
# An hour's fits are kept when make is interrupted (each seed's files are written all or none).
.PRECIOUS: $(BENCH_REPLICATES) benchmarks/results.md

benchmarks/speed.md: $(VENV_STAMP) $(INPUTS) $(CORE) $(WORDING) $(MODEL) benchmarks/speed.py benchmarks/scale.py
	$(call bench_run,speed,benchmarks/speed.py,$@)

benchmarks/scale.md: $(VENV_STAMP) $(CORE) $(WORDING) $(MODEL) benchmarks/scale.py
	$(call bench_run,scale,benchmarks/scale.py,$@)

requirements: ## Re-pin requirements.txt from requirements.in in a scratch environment
	rm -rf .venv-pin
	$(PYTHON) -m venv .venv-pin
	.venv-pin/bin/pip install --quiet --disable-pip-version-check -r requirements.in
	{ echo "# Exact pins of every package in .venv, generated by 'make requirements' from requirements.in."; \
	  .venv-pin/bin/pip freeze --exclude-editable; } > requirements.txt.tmp
	mv requirements.txt.tmp requirements.txt
	rm -rf .venv-pin

clean: ## Remove the virtual environment and Python caches
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
