"""One definition per table (``schemas/tables/*.json``) and per signal (``otellake.signals``).

The schema files carry each table's role, signal, decoder array, derived columns and dedup
key; every table list in the package is derived from them (a hard-coded copy fails here),
and the JVM decoders' return structs agree with them by column name and type.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from otellake import jvm_decoders, schemas
from otellake.settings import Settings
from otellake.signals import SIGNALS

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "schemas" / "tables").glob("*.json"))
FIELDS = ("role", "signal", "items", "derived_columns", "dedup_key")
# roles whose rows are a signal's decoded items, one row per item
ITEM_ROLES = ("span", "log", "metric")


def _docs() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in FILES}


# ---- the schema files carry the definitions ------------------------------------------------


def test_every_schema_file_carries_the_table_definition() -> None:
    assert FILES, "no schema files"
    for name, doc in _docs().items():
        assert doc["table"] == name
        assert set(FIELDS) <= doc.keys(), f"{name}.json lacks {sorted(set(FIELDS) - doc.keys())}"
        assert doc["role"] in schemas.ROLES, name
        assert doc["signal"] is None or doc["signal"] in SIGNALS, name
        columns = [f["name"] for f in doc["schema"]["fields"]]
        if doc["role"] in ITEM_ROLES:
            assert doc["signal"] and doc["items"], f"{name}: a {doc['role']} table needs both"
            assert set(doc["derived_columns"]) < set(columns), name
        if doc["role"] == "metric":
            assert doc["otlp_metric_data"], name
        else:
            assert "otlp_metric_data" not in doc, name
        for part in doc["dedup_key"] or ():
            named = re.findall(r"\{a\}\.(\w+)", part) if "{a}" in part else [part]
            assert named and set(named) <= set(columns), f"{name}: dedup key {part!r}"


def _parquet_paths(fields: list[dict[str, Any]], prefix: str = "") -> set[str]:
    """The Parquet column paths Spark writes for a schema (lists as ``list.element``, maps
    as ``key_value.key``/``key_value.value``), leaves and groups alike."""
    paths: set[str] = set()

    def walk(kind: Any, path: str) -> None:
        paths.add(path)
        if isinstance(kind, dict) and kind["type"] == "struct":
            for field in kind["fields"]:
                walk(field["type"], f"{path}.{field['name']}")
        elif isinstance(kind, dict) and kind["type"] == "array":
            walk(kind["elementType"], f"{path}.list.element")
        elif isinstance(kind, dict) and kind["type"] == "map":
            walk(kind["keyType"], f"{path}.key_value.key")
            walk(kind["valueType"], f"{path}.key_value.value")

    for field in fields:
        walk(field["type"], prefix + field["name"])
    return paths


@pytest.mark.parametrize(
    ("key", "columns", "expected"),
    [
        ("plain_columns", schemas.plain_encoded_columns, "span_id"),
        ("bloom_columns", schemas.bloom_filtered_columns, "trace_id"),
    ],
)
def test_parquet_column_settings_name_paths_of_their_table_and_hold_wherever_they_occur(
    key: str, columns: Any, expected: str
) -> None:
    """Parquet's dictionary and bloom-filter switches are set per column path for the whole
    session, so a path set in one table is set in every table that has it: the files must
    say so."""
    docs = _docs()
    paths = {name: _parquet_paths(doc["schema"]["fields"]) for name, doc in docs.items()}
    chosen = columns()
    assert expected in chosen and "service_name" not in chosen
    for name, doc in docs.items():
        assert set(doc.get(key, ())) <= paths[name], name
        for path in chosen:
            if path in paths[name]:
                assert path in doc.get(key, ()), f"{name}.json: {path} is in {key}"


def test_schemas_answers_from_the_files() -> None:
    docs = _docs()
    assert schemas.table_names() == sorted(docs)
    assert schemas.metric_tables() == tuple(
        sorted(t for t, d in docs.items() if d["role"] == "metric")
    )
    with_service = [
        t for t, d in docs.items() if "service_name" in [f["name"] for f in d["schema"]["fields"]]
    ]
    assert schemas.tables(column="service_name") == tuple(sorted(with_service))
    for name, doc in docs.items():
        assert schemas.role(name) == doc["role"]
        if doc["dedup_key"] is None:
            with pytest.raises(ValueError, match="no dedup key"):
                schemas.dedup_key(name)
        else:
            assert schemas.dedup_key(name) == tuple(doc["dedup_key"])
        if doc["role"] == "metric":
            assert schemas.metric_table(doc["items"]) == name
            assert schemas.otlp_metric_tables()[doc["otlp_metric_data"]] == name


def test_metric_types_are_the_otlp_metric_data_fields() -> None:
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    data = {f.name for f in metrics_pb2.Metric.DESCRIPTOR.oneofs_by_name["data"].fields}
    assert set(schemas.otlp_metric_tables()) == data


# ---- one definition per signal ---------------------------------------------------------------


def test_every_signal_definition_is_complete() -> None:
    from otellake.ingest.pipelines import PIPELINES

    assert set(SIGNALS) == set(PIPELINES)
    written = set()
    for name, signal in SIGNALS.items():
        assert signal.name == name
        assert signal.topic_setting in Settings.model_fields, signal.topic_setting
        assert signal.topic(Settings()) == Settings().topics[name]
        request = signal.request_type()()
        resource_group = getattr(request, signal.resource_field).add()
        scope_group = getattr(resource_group, signal.scope_field).add()
        getattr(scope_group, signal.item_field).add()
        assert signal.outputs, name
        pipeline = PIPELINES[name]
        assert pipeline.definition is signal and pipeline.tables == signal.outputs
        for output in pipeline.outputs:
            assert output.primary == (schemas.role(output.table) != "derived")
        written |= set(signal.outputs)
    item_tables = {t for t in schemas.table_names() if schemas.role(t) in ITEM_ROLES}
    assert item_tables <= written


# ---- no copy of a table list -------------------------------------------------------------------

# Collections naming tables for table-specific reasons (not a list of a kind of table):
# (file, the assignment or function holding it) -> why.
TABLE_SPECIFIC = {
    ("src/otellake/demo.py", "_lake_counts"): "where each of the demo probe's items lands",
}


def _names_of_tables(nodes: list[ast.expr | None], tables: set[str]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and n.value in tables}


def _reads_of_a_query(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """The tables argument of ``Query(sql, params, tables)`` / ``engine.query(...)``: the
    tables its SQL text reads, named there too."""
    call = parents.get(node)
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name in ("Query", "query") and node in call.args[2:]


def _holder(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The function holding ``node``, else the module-level name it is assigned to."""
    assigned = ""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node.name
        if isinstance(node, ast.Assign | ast.AnnAssign) and not assigned:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assigned = ",".join(t.id for t in targets if isinstance(t, ast.Name))
    return assigned


def hard_coded_table_lists(root: Path, tables: set[str]) -> list[str]:
    """Tuples, lists, sets, dict keys or call arguments naming two or more tables."""
    found = []
    for path in sorted([*(root / "src").rglob("*.py"), *(root / "jobs").rglob("*.py")]):
        rel = path.relative_to(root).as_posix()
        if rel == "src/otellake/schemas.py":
            continue
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                named = _names_of_tables(list(node.elts), tables)
            elif isinstance(node, ast.Dict):
                named = _names_of_tables(list(node.keys), tables)
            elif isinstance(node, ast.Call):
                named = _names_of_tables(list(node.args), tables)
            else:
                continue
            if len(named) < 2 or _reads_of_a_query(node, parents):
                continue
            if (rel, _holder(node, parents)) in TABLE_SPECIFIC:
                continue
            found.append(f"{rel}:{node.lineno}: {sorted(named)}")
    return found


def test_no_table_list_is_spelled_out_in_the_package() -> None:
    found = hard_coded_table_lists(ROOT, set(schemas.table_names()))
    assert not found, "ask otellake.schemas for these tables instead:\n" + "\n".join(found)


def test_the_check_finds_a_copy(tmp_path: Path) -> None:
    module = tmp_path / "src" / "m.py"
    module.parent.mkdir()
    module.write_text('A = ("spans", "logs")\nB = {"logs": 1}\nC = f("spans", "spans")\n')
    (tmp_path / "jobs").mkdir()
    assert hard_coded_table_lists(tmp_path, {"spans", "logs"}) == ["src/m.py:1: ['logs', 'spans']"]


# ---- the JVM decoders agree with the schema files ---------------------------------------------


def test_decoder_structs_match_the_schema_files(spark: Any, tmp_path: Path) -> None:
    """Each table fed by a signal's decoded items: every column not derived in Python comes
    from the decoder's item with the same name and type, a derived one is not in the item,
    and the rows ingest builds from a decoded batch have exactly the schema file's types."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    from otellake.ingest.pipelines import PIPELINES

    settings = Settings(home=tmp_path)
    mismatches = []
    for name, signal in SIGNALS.items():
        udf = jvm_decoders.register(spark, settings, name)
        decoded_type = spark.range(0).select(F.call_udf(udf, F.lit(b"")).alias("d")).schema["d"]
        decoded = spark.createDataFrame([], StructType([decoded_type]))
        for output in PIPELINES[name].outputs:
            spec = schemas.table(output.table)
            wanted = spec.spark_schema()
            if spec.role in ITEM_ROLES:
                assert spec.items is not None
                item = decoded_type.dataType[spec.items].dataType.elementType
                for column in wanted.fields:
                    if column.name in spec.derived_columns:
                        if column.name in item.fieldNames():
                            mismatches.append(f"{spec.name}.{column.name}: derived, yet decoded")
                    elif column.name not in item.fieldNames():
                        mismatches.append(
                            f"{spec.name}.{column.name}: not in {signal.decoder_class}"
                        )
                    elif item[column.name].dataType != column.dataType:
                        got = item[column.name].dataType.simpleString()
                        mismatches.append(
                            f"{spec.name}.{column.name}: decoder {got}, "
                            f"schema {column.dataType.simpleString()}"
                        )
            rows = output.rows(decoded, datetime.now(UTC)).schema
            if [(f.name, f.dataType) for f in rows.fields] != [
                (f.name, f.dataType) for f in wanted.fields
            ]:
                mismatches.append(
                    f"{spec.name}: rows {rows.simpleString()}, schema {wanted.simpleString()}"
                )
    assert not mismatches, "\n".join(mismatches)
