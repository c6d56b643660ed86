# Render & Refine — the two commands a newcomer needs:
#   make demo   render a few annotated scenes headless, refine them through a local server, write a report
#   make test   run the whole test suite (and the linter, the formatter check and the type checker)
.PHONY: demo test lint venv schemas addon clean

venv:
	@scripts/bootstrap.sh

demo: venv
	.venv/bin/python scripts/demo.py --out out/demo

test: venv
	.venv/bin/python -m pytest
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy shared_schema refine_server blender_addon/core

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy shared_schema refine_server blender_addon/core

schemas: venv
	.venv/bin/python -m shared_schema.jsonschema_export

addon: venv
	.venv/bin/python scripts/build_addon.py

clean:
	rm -rf out dist build .pytest_cache .ruff_cache
