"""The README, docs/, Makefile and CI script stay true to the code.

README.md is the front page (short); docs/*.md hold the rest, with docs/contract.md the
contract (settings, tables, CLI, analytics semantics, benchmark output) that these tests check
against the settings object, the schema files, the typer app and the benchmark's goals.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer

from otellake import schemas
from otellake.benchmark import results
from otellake.settings import Settings, env_var_for

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
CONTRACT = (DOCS / "contract.md").read_text()
README_MAX_LINES = 250
# OTELLAKE_* names the docs may mention that are not fields of Settings.
EXTRA_ENV_NAMES = {
    "OTELLAKE_RETENTION_DAYS_<TABLE>",  # per-table TTL, read by Settings.retention_days_for
    "OTELLAKE_TEST_SCALE",  # soak size of the reliability tests (make test-long)
    "OTELLAKE_SOAK_MINUTES",  # the soak's length (tests/reliability/test_soak.py)
    "OTELLAKE_SOAK_RATE",  # the soak's spans per second
}
# Dotted names in the docs that look like modules but are not (a Delta table property).
NOT_MODULES = {"otellake.schema.version"}
# Phrases of documentation written while things were unfinished.
STALE_PHRASES = ("being built", "as far as it exists today", "exists today")


def _pages() -> dict[Path, str]:
    pages = {ROOT / "README.md": README}
    pages.update({p: p.read_text() for p in sorted(DOCS.glob("*.md"))})
    return pages


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _section(text: str, heading: str) -> str:
    """The body of the `## heading...` section (up to the next `## `)."""
    start = re.search(rf"^## {re.escape(heading)}.*$", text, flags=re.M)
    assert start, f"no section {heading!r}"
    rest = text[start.end() :]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest if end is None else rest[: end.start()]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", _without_code_blocks(text), flags=re.M)}


def _make_targets() -> set[str]:
    out = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"make (\S+)", out))


def _commands() -> dict[str, Any]:
    """Every command of the typer app (click commands) by its path ("ingest", "cluster up")."""
    from otellake.cli import app

    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            if hasattr(command, "commands"):  # a group (typer vendors click's classes)
                walk(command, f"{path} ")
            else:
                found[path] = command

    walk(typer.main.get_command(app), "")
    return found


# ---- README and Makefile ---------------------------------------------------------------------


def test_readme_is_a_short_front_page() -> None:
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; keep it ≤ {README_MAX_LINES}"


def test_quickstart_commands_are_real_targets() -> None:
    # .ci/run runs `make setup` then `make test`: the README's quickstart says the same.
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make (\S+)", quickstart, flags=re.M)
    assert commands == ["setup", "demo", "test"]
    targets = _make_targets()
    assert set(commands) <= targets
    for page, text in _pages().items():
        for mentioned in re.findall(r"`make ([a-z-]+)`", text):
            assert mentioned in targets, f"{page.name}: make {mentioned}"


def test_ci_runs_setup_then_test() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert script.index("make setup") < script.index("make test")


def test_required_top_level_entries_exist() -> None:
    for entry in [
        "pyproject.toml",
        "jobs",
        "schemas",
        "otel-collector",
        "notebooks",
        "tests",
        "docker-compose.yml",
        "Makefile",
        "README.md",
        "docs/contract.md",
        ".ci/run",
        "uv.lock",
    ]:
        assert (ROOT / entry).exists(), entry


# ---- links, paths and modules ------------------------------------------------------------------


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {m.split("#")[0] for m in re.findall(r"\]\((docs/[^)\s]+)\)", README)}
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert pages - linked == set(), "docs pages the README does not link"
    assert linked - pages == set(), "README links to missing docs pages"


def test_links_between_pages_resolve() -> None:
    for page, text in _pages().items():
        for target in re.findall(r"\]\(([^)\s]+)\)", _without_code_blocks(text)):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto
            file_part, _, anchor = target.partition("#")
            path = (page.parent / file_part).resolve() if file_part else page
            assert path.exists(), f"{page.name}: link to missing {target}"
            if anchor:
                assert anchor in _anchors(path.read_text()), f"{page.name}: no anchor {target}"


def _inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", _without_code_blocks(text))


def test_paths_named_in_the_docs_exist() -> None:
    roots = ("src/", "tests/", "jobs/", "schemas/", "jvm/", "otel-collector/", "bench/", "docs/")
    for page, text in _pages().items():
        for code in _inline_code(text):
            if not code.startswith(roots) or " " in code or "<" in code or "…" in code:
                continue
            if "*" in code:
                assert list(ROOT.glob(code)), f"{page.name}: nothing matches {code}"
            else:
                assert (ROOT / code).exists(), f"{page.name}: no such path {code}"


def _defines(module: Path, name: str) -> bool:
    pattern = rf"^(?:def|class) {re.escape(name)}\b|^{re.escape(name)}\s*[:=]"
    return re.search(pattern, module.read_text(), flags=re.M) is not None


def test_modules_named_in_the_docs_exist() -> None:
    for page, text in _pages().items():
        for code in _inline_code(text):
            for dotted in re.findall(r"\botellake(?:\.\w+)+", code):
                if dotted in NOT_MODULES:
                    continue
                where = ROOT / "src" / "otellake"
                parts = dotted.split(".")[1:]
                for i, part in enumerate(parts):
                    if (where / part).is_dir():
                        where = where / part
                    elif (where / f"{part}.py").is_file():
                        module = where / f"{part}.py"
                        rest = parts[i + 1 :]
                        assert len(rest) <= 1, f"{page.name}: {dotted}"
                        assert not rest or _defines(module, rest[0]), f"{page.name}: {dotted}"
                        break
                    else:
                        raise AssertionError(f"{page.name}: no module {dotted}")


def test_no_file_refers_to_the_shared_folder() -> None:
    needles = ("../" + "shared", "shared/" + "docs", "interfaces" + ".md")
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in {".json", ".lock", ".pb", ".desc", ".png"}:
            continue
        text = path.read_text(errors="replace")
        for needle in needles:
            assert needle not in text, f"{name} refers to {needle}: use docs/contract.md"


def test_no_sentence_describes_an_unfinished_state() -> None:
    texts = dict(_pages())
    texts.update({p: p.read_text() for p in (ROOT / "src").rglob("*.py")})
    for path, text in texts.items():
        for phrase in STALE_PHRASES:
            assert phrase not in text, f"{path.relative_to(ROOT)}: {phrase!r}"


# ---- settings ----------------------------------------------------------------------------------


def _contract_settings() -> dict[str, str]:
    """env var -> the default column of the contract's settings table."""
    section = _section(CONTRACT, "Settings")
    rows = re.findall(r"^\| `(OTELLAKE_[A-Z0-9_]+)` \| ([^|]*) \|", section, flags=re.M)
    return {name: default.strip() for name, default in rows}


def _shown(default: Any) -> str:
    if default is None:
        return "unset"
    if default == ():
        return "empty"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def test_every_setting_is_in_the_contract_with_its_default() -> None:
    table = _contract_settings()
    for name, field in Settings.model_fields.items():
        var = env_var_for(name)
        assert var in table, f"{var} is missing from docs/contract.md (Settings)"
        expected = "`$OTELLAKE_HOME/lake`" if name == "lake" else _shown(field.default)
        assert table[var].startswith(expected), (var, table[var], expected)
    assert set(table) == {env_var_for(n) for n in Settings.model_fields}


def test_the_docs_name_no_setting_that_does_not_exist() -> None:
    known = {env_var_for(n) for n in Settings.model_fields} | EXTRA_ENV_NAMES
    known |= {f"OTELLAKE_RETENTION_DAYS_{t.upper()}" for t in schemas.table_names()}
    for page, text in _pages().items():
        for name in re.findall(r"OTELLAKE_[A-Z0-9_]+(?:<TABLE>|\*)?", text):
            if name.endswith("*"):
                assert any(k.startswith(name[:-1]) for k in known), f"{page.name}: {name}"
            else:
                assert name in known, f"{page.name} names {name}, which is no setting"


# ---- commands ----------------------------------------------------------------------------------


def test_every_command_is_documented() -> None:
    everything = "\n".join(_pages().values())
    cli = _section(CONTRACT, "CLI")
    for path in _commands():
        assert f"otellake {path}" in everything, f"`otellake {path}` is in no page"
        assert f"`{path.split()[0]}" in cli, f"{path} is missing from docs/contract.md (CLI)"


def test_every_option_is_in_the_contract() -> None:
    cli = _section(CONTRACT, "CLI")
    for path, command in _commands().items():
        for param in command.params:
            if param.param_type_name != "option":
                continue
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert re.search(re.escape(opt) + r"(?![\w-])", cli), (
                        f"otellake {path} {opt} is missing from docs/contract.md (CLI)"
                    )


def test_every_analysis_is_documented() -> None:
    from otellake.analytics.api import ANALYSES

    analytics = (DOCS / "analytics.md").read_text()
    cli = _section(CONTRACT, "CLI")
    for analysis in ANALYSES:
        assert f"| `{analysis}" in analytics, f"{analysis} has no row in docs/analytics.md"
        assert re.search(rf"[<|]{re.escape(analysis)}[ |>]", cli), analysis


# ---- tables and benchmark ----------------------------------------------------------------------


def test_contract_lists_every_column_of_every_table() -> None:
    section = _section(CONTRACT, "Lake tables")
    rows = dict(re.findall(r"^\| `([a-z_<>]+)` \| (.*) \|$", section, flags=re.M))
    common = set(schemas.table("metrics_gauge").columns[:12])
    assert "first twelve of `metrics_gauge`" in section
    for table in schemas.table_names():
        assert table in rows, f"table {table} is missing from docs/contract.md"
        documented = set(re.findall(r"\b[a-z0-9_]+\b", rows[table]))
        if "common metric columns" in rows[table]:
            documented |= common
        missing = set(schemas.table(table).columns) - documented
        assert not missing, f"{table}: {sorted(missing)} not in docs/contract.md"


def test_contract_names_every_benchmark_figure() -> None:
    section = _section(CONTRACT, "Benchmark output")
    for name in results.GOALS:
        assert f"`{name}`" in section, f"{name} is missing from docs/contract.md"


def test_benchmark_page_shows_the_latest_results() -> None:
    latest = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    table = results.table_in(ROOT / results.RESULTS_DOC)
    assert table is not None, f"no bench markers in {results.RESULTS_DOC}"
    assert table == results.markdown_table(latest), "run `make bench` or restore the table"


@pytest.mark.parametrize("heading", ["Critical path", "SLO burn rates"])
def test_analytics_page_has_a_section_per_analysis(heading: str) -> None:
    assert _slug(heading) in _anchors((DOCS / "analytics.md").read_text())
