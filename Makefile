# Two entry points: `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch is pinned here (not in setup.cfg) so pip takes the CPU wheel rather than a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test lint bench vignettes clean

$(VENV)/.installed-base: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed-base
	MPLBACKEND=Agg $(PY) -m bsdl.demo --out out

test: $(VENV)/.installed-test
	MPLBACKEND=Agg $(PY) -m pytest -q --doctest-modules bsdl tests

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check bsdl tests bench vignettes

bench: $(VENV)/.installed-base
	$(PY) -m pip install -q -e ".[bench]" "$(TORCH_PIN)"
	# laplace-torch and its light imports pin packages that would replace torch: no deps
	$(PY) -m pip install -q --no-deps laplace-torch==0.3 backpack-for-pytorch==1.7.1 curvlinops-for-pytorch==3.0.1
	$(PY) bench/overhead.py
	$(PY) bench/rnn.py
	$(PY) bench/intervals.py

vignettes: $(VENV)/.installed-test
	MPLBACKEND=Agg $(PY) vignettes/01_variable_selection.py
	MPLBACKEND=Agg $(PY) vignettes/02_ar_order_selection.py
	MPLBACKEND=Agg $(PY) vignettes/03_asymptotic_normality.py
	MPLBACKEND=Agg $(PY) vignettes/04_conformal_comparison.py
	MPLBACKEND=Agg $(PY) vignettes/05_local_traps_and_calibration.py
	MPLBACKEND=Agg $(PY) vignettes/06_compression.py
	MPLBACKEND=Agg $(PY) vignettes/07_sparse_transformer.py

clean:
	rm -rf $(VENV) out build *.egg-info
