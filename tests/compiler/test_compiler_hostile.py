"""Property tests: any input is answered (never a crash), and user text never changes the structure
of the generated program or of the SQL inside it."""

from __future__ import annotations

import ast
import copy
import json
import re
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from compiler import CompileError, check_shape, compile_pipeline, validate
from compiler.expressions import StudioSpark
from compiler.nodes import NODE_SPECS

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NASTY = [
    '"""',
    "'''",
    "\\",
    "\\\\",
    "\n",
    "\r\n",
    "\r",
    "--",
    "/*",
    "*/",
    "`",
    "``",
    "'",
    '"',
    "#",
    "\t",
    ";",
    "__import__('os').system('id')",
    "); print(1); (",
    "\u2028",
    "\x0b",
    "é",
    "中",
    "\\'",
    "\\n",
    "${",
    "}",
    " OR 1=1 --",
    "\x00",
    "\ud800",
]
hostile_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)), min_size=1, max_size=8).map("".join)
# Text the format accepts in names, paths and string values (no NUL, no unpaired surrogate, not blank).
printable_nasty = [t for t in NASTY if t not in ("\x00", "\ud800")]
clean_text = st.lists(st.one_of(st.sampled_from(printable_nasty), st.text(max_size=4)), min_size=1, max_size=8).map(
    lambda parts: "a" + "".join(parts)
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | hostile_text, children, max_size=4)
    ),
    max_leaves=20,
)

BASE: dict[str, Any] = {
    "format": "studio.pipeline/v1",
    "name": "base",
    "parameters": [{"name": "who", "type": "string", "default": "someone"}],
    "nodes": [
        {
            "id": "src",
            "type": "source.file",
            "label": "Source",
            "config": {
                "path": "in/*.csv",
                "format": "csv",
                "schema": [{"name": "customer", "type": "string"}, {"name": "amount", "type": "double"}],
            },
        },
        {
            "id": "keep",
            "type": "transform.filter",
            "config": {"condition": "customer = ${who} OR customer = 'literal' OR amount > 1"},
        },
        {
            "id": "calc",
            "type": "transform.derive",
            "config": {"columns": [{"name": "tag", "expression": "concat(customer, 'tag')"}]},
        },
        {"id": "dst", "type": "sink.file", "config": {"path": "out", "format": "csv"}},
    ],
    "edges": [
        {"from": {"node": "src", "port": "out"}, "to": {"node": "keep", "port": "in"}},
        {"from": {"node": "keep", "port": "out"}, "to": {"node": "calc", "port": "in"}},
        {"from": {"node": "calc", "port": "out"}, "to": {"node": "dst", "port": "in"}},
    ],
}


def answers(document: object, parameters: object = None) -> None:
    """Every public entry point answers; compile either returns code that parses or raises CompileError."""
    check_shape(document)
    result = validate(document, parameters=parameters)  # type: ignore[arg-type]
    result.to_dict()
    for engine in ("spark", "flink", "nope"):
        validate(document, engine=engine, parameters=parameters)  # type: ignore[arg-type]
    for engine in ("spark", "flink"):
        try:
            job = compile_pipeline(document, engine=engine, parameters=parameters)  # type: ignore[arg-type]
        except CompileError as error:
            assert not error.result.valid
        else:
            ast.parse(job.code)


@SETTINGS
@given(json_values)
def test_random_json_never_crashes(document: object) -> None:
    answers(document)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["nodes", "edges", "parameters", "top"]),
            st.integers(0, 3),
            st.sampled_from(
                [
                    "id",
                    "type",
                    "label",
                    "config",
                    "from",
                    "to",
                    "name",
                    "default",
                    "path",
                    "condition",
                    "schema",
                    "columns",
                    "format",
                    "mode",
                    "options",
                    "port",
                ]
            ),
            json_values,
        ),
        max_size=6,
    ),
    st.one_of(st.none(), json_values, st.dictionaries(hostile_text, json_values, max_size=3)),
)
def test_mutated_documents_never_crash(mutations: list[tuple[str, int, str, object]], parameters: object) -> None:
    document = copy.deepcopy(BASE)
    for section, index, key, value in mutations:
        if section == "top":
            document[key] = value
            continue
        items = document[section]
        if index < len(items) and isinstance(items[index], dict):
            target = items[index]
            if key in ("path", "condition", "schema", "columns", "format", "mode", "options") and isinstance(
                target.get("config"), dict
            ):
                target["config"][key] = value
            else:
                target[key] = value
    answers(document, parameters)


@SETTINGS
@given(
    st.sampled_from(sorted(NODE_SPECS)),
    st.dictionaries(
        st.sampled_from(
            [
                "path",
                "format",
                "schema",
                "condition",
                "columns",
                "query",
                "rules",
                "how",
                "on",
                "n",
                "order",
                "keys",
                "window",
                "table",
                "topic",
                "message",
                "mode",
                "partition_by",
                "aggregations",
                "group_by",
                "time_column",
            ]
        ),
        json_values,
        max_size=5,
    ),
)
def test_random_configs_of_every_node_type_never_crash(node_type: str, config: dict[str, Any]) -> None:
    document = copy.deepcopy(BASE)
    document["nodes"][1] = {"id": "keep", "type": node_type, "config": config}
    answers(document)


# Hostile text keeps the program's structure -------------------------------------------------


def _ok_text(text: str) -> bool:
    return bool(text.strip()) and "\x00" not in text and not re.search("[\ud800-\udfff]", text)


def spark_string(text: str) -> str:
    """How a person writes the text as a Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def with_text(label: str, name: str, path: str, value: str, literal: str) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    document["name"] = name
    document["nodes"][0]["label"] = label
    document["nodes"][0]["config"]["path"] = path
    document["nodes"][3]["config"]["path"] = path + "/out"
    document["parameters"][0]["default"] = value
    document["nodes"][1]["config"]["condition"] = (
        f"customer = ${{who}} OR customer = {spark_string(literal)} OR amount > 1"
    )
    document["nodes"][2]["config"]["columns"][0]["expression"] = f"concat(customer, {spark_string(literal)})"
    return document


def program_shape(code: str) -> str:
    """The module's syntax tree with every string constant blanked out."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "<text>"
    return ast.dump(tree)


def sql_texts(code: str) -> list[str]:
    """The SQL strings handed to F.expr(...)."""
    return [
        node.args[0].value
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "expr"
        and isinstance(node.args[0], ast.Constant)
    ]


def sql_shape(sql: str) -> tuple[str, list[str]]:
    """The SQL's tree with string literals blanked out, and the literals' values."""
    tree = StudioSpark().parse(sql)[0]
    assert tree is not None
    values = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    blank = tree.transform(lambda n: exp.Literal.string("") if isinstance(n, exp.Literal) and n.is_string else n)
    return repr(blank), values


@SETTINGS
# Paths start with "d/" so none reads as a URI ("a:" would be passed through without os.path.abspath), and
# have no "{" so none holds a "${" parameter reference (replacing "${" alone can form a new one: "$${{").
@given(hostile_text, clean_text, clean_text.map(lambda t: "d/" + t.replace("{", "(")), clean_text, clean_text)
def test_hostile_text_never_changes_the_program(label: str, name: str, path: str, value: str, literal: str) -> None:
    assume(_ok_text(name) and _ok_text(path) and _ok_text(value) and _ok_text(literal))
    hostile = compile_pipeline(with_text(label, name, path, value, literal)).code
    benign = compile_pipeline(with_text("x", "x", "x", "x", "x")).code

    assert program_shape(hostile) == program_shape(benign)
    assert len(hostile.splitlines()) == len(benign.splitlines())
    hostile_sql, benign_sql = sql_texts(hostile), sql_texts(benign)
    assert len(hostile_sql) == len(benign_sql) == 2
    for evil, plain in zip(hostile_sql, benign_sql, strict=True):
        evil_shape, evil_values = sql_shape(evil)
        assert evil_shape == sql_shape(plain)[0]
        assert literal in evil_values
    assert value in sql_shape(hostile_sql[0])[1]


@SETTINGS
@given(st.text(min_size=1, max_size=70))
def test_hostile_ids_and_column_names_are_rejected_not_emitted(text: str) -> None:
    document = copy.deepcopy(BASE)
    document["nodes"][1]["id"] = text
    document["nodes"][0]["config"]["schema"][0]["name"] = text
    result = validate(document)
    valid_id = re.fullmatch(r"[a-z][a-z0-9_]{0,62}", text) is not None
    valid_column = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", text) is not None
    assert any(d.path == "$.nodes[1].id" for d in result.errors) == (not valid_id)
    assert any(d.path == "$.nodes[0].config.schema[0].name" for d in result.errors) == (not valid_column)


# Random documents over the whole palette ----------------------------------------------------

PALETTE_SCHEMA = [
    {"name": "id", "type": "bigint", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "qty", "type": "int"},
    {"name": "at", "type": "timestamp"},
    {"name": "day", "type": "date"},
    {"name": "flag", "type": "boolean"},
]
COLUMN_NAMES = [c["name"] for c in PALETTE_SCHEMA]
# Mostly sensible choices (so a fair share of documents is valid and gets compiled), some broken ones.
some_column = st.sampled_from([*COLUMN_NAMES * 6, "nope", "Amount", "_failed_rules", "window_start"])
conditions = st.sampled_from([
    *["amount > 1", "qty + 1 > 2", "name IS NOT NULL", "upper(name) LIKE 'A%'", "flag", "day >= '2026-01-01'",
      "qty IN (1, 2) OR ${p} = 'x'"] * 3,
    "nope > 1", "sqrt(qty) > 1", "amount", "left.qty > right.qty", "qty > 1 AND",
])  # fmt: skip
values = st.sampled_from([
    *["amount * 2", "concat(name, 'x')", "qty / 2", "year(day)", "coalesce(qty, 0)", "CAST(qty AS string)",
      "round(amount, 1)", "date_trunc('hour', at)", "${p}"] * 2,
    "nope", "NULL",
])  # fmt: skip
intervals = st.sampled_from(["1 minute", "10 seconds", "2 hours", "1 day"])
functions = st.sampled_from(["count", "count_distinct", "sum", "avg", "min", "max"])
numeric_column = st.sampled_from(["amount", "qty", "id", "amount", "qty", "name"])
new_names = st.sampled_from(["x", "y", "total", "n", "name", "window_start", "Qty"])


def aggregations(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for i in range(draw(st.integers(1, 3))):
        function = draw(functions)
        entry = {"name": f"a{i}", "function": function}
        if function in ("sum", "avg"):
            entry["column"] = draw(numeric_column)
        elif function != "count" or draw(st.booleans()):
            entry["column"] = draw(some_column)
        found.append(entry)
    return found


def transform_config(draw: st.DrawFn, node_type: str, inputs: list[str]) -> dict[str, Any]:
    if node_type == "transform.filter":
        return {"condition": draw(conditions)}
    if node_type == "transform.select":
        entries = []
        for name in draw(st.lists(some_column, min_size=1, max_size=4, unique=True)):
            entry: dict[str, Any] = {"name": name}
            if draw(st.booleans()):
                entry["type"] = draw(st.sampled_from(["string", "double", "bigint", "date", "decimal(20,4)"]))
            entries.append(entry)
        return {"columns": entries}
    if node_type == "transform.derive":
        names = draw(st.lists(new_names, min_size=1, max_size=3, unique_by=str.lower))
        return {"columns": [{"name": n, "expression": draw(values)} for n in names]}
    if node_type == "transform.join":
        config: dict[str, Any] = {"how": draw(st.sampled_from(["inner", "left", "right", "full", "semi", "anti"])),
                                  "on": [{"left": draw(some_column), "right": draw(some_column)}]}  # fmt: skip
        if draw(st.booleans()):
            config["right_suffix"] = "_r"
        if draw(st.booleans()):
            config["condition"] = draw(conditions)
        return config
    if node_type == "transform.aggregate":
        return {"group_by": draw(st.lists(some_column, max_size=2, unique=True)), "aggregations": aggregations(draw)}
    if node_type == "transform.window_aggregate":
        kind = draw(st.sampled_from(["tumbling", "hopping", "session"]))
        window = {"type": kind, "gap" if kind == "session" else "size": draw(intervals)}
        if kind == "hopping":
            window["slide"] = draw(intervals)
        config = {"time_column": draw(st.sampled_from(["at", "at", "day", "name"])), "window": window,
                  "group_by": draw(st.lists(some_column, max_size=2, unique=True)), "aggregations": aggregations(draw)}
        if draw(st.booleans()):
            config["watermark"] = draw(intervals)
        return config
    if node_type == "transform.deduplicate":
        config = {"keys": draw(st.lists(some_column, min_size=1, max_size=2, unique=True)),
                  "keep": draw(st.sampled_from(["first", "last"]))}  # fmt: skip
        if draw(st.booleans()):
            config["order_by"] = {"column": draw(some_column), "direction": draw(st.sampled_from(["asc", "desc"]))}
        return config
    if node_type == "transform.union":
        return {"by_name": draw(st.booleans()), "allow_missing": draw(st.booleans())}
    if node_type == "transform.sort":
        return {"order": [{"column": draw(some_column), "direction": draw(st.sampled_from(["asc", "desc"])),
                           **draw(st.sampled_from([{}, {"nulls": "first"}, {"nulls": "last"}]))}]}  # fmt: skip
    if node_type == "transform.limit":
        return {"n": draw(st.integers(0, 100))}
    if node_type == "transform.sql":
        table = draw(st.sampled_from([*inputs, "nope"]))
        query = draw(st.sampled_from([
            "SELECT * FROM {t}", "SELECT name, count(*) AS n FROM {t} GROUP BY name", "SELECT qty FROM {t} WHERE qty > 1",
            "SELECT a.id, b.name AS other FROM {t} a JOIN {t} b ON a.id = b.id", "SELECT 1 AS one",
            "WITH c AS (SELECT * FROM {t}) SELECT max(amount) AS top FROM c ORDER BY top LIMIT 3",
            "SELECT name FROM {t} UNION ALL SELECT name FROM {t}", "SELECT '{{x}}' AS s, nope FROM {t}",
        ]))  # fmt: skip
        return {"query": query.format(t=table)}
    if node_type == "transform.quality":
        return {"rules": [{"name": f"r{i}", "expression": draw(conditions),
                           "on_fail": draw(st.sampled_from(["warn", "drop", "quarantine", "fail"]))}
                          for i in range(draw(st.integers(1, 3)))]}  # fmt: skip
    raise AssertionError(node_type)


def sink_node(draw: st.DrawFn, node_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sink.file", "sink.file", "sink.file", "sink.alert", "sink.kafka", "sink.iceberg"]))
    if kind == "sink.file":
        config: dict[str, Any] = {"path": f"out/{node_id}", "format": draw(st.sampled_from(["parquet", "csv", "json"]))}
        if draw(st.booleans()):
            config["mode"] = draw(st.sampled_from(["append", "overwrite"]))
        if draw(st.booleans()):
            config["partition_by"] = [draw(some_column)]
    elif kind == "sink.alert":
        config = {"message": draw(st.sampled_from(["{id} late", "{nope}", "{{x}} {name}", "bad {"])),
                  "severity": "info"}  # fmt: skip
        if draw(st.booleans()):
            config["condition"] = draw(conditions)
    elif kind == "sink.kafka":
        config = {"topic": "t", "key_columns": [draw(some_column)]}
    else:
        config = {"table": "lake.t", "mode": "upsert", "keys": [draw(some_column)]}
    return {"id": node_id, "type": kind, "config": config}


TRANSFORMS = sorted(t for t in NODE_SPECS if t.startswith("transform."))


@st.composite
def palette_documents(draw: st.DrawFn) -> dict[str, Any]:
    streaming = draw(st.integers(0, 3)) == 0
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    outputs: list[tuple[str, str]] = []  # (node, port) that may feed others
    for i in range(draw(st.integers(1, 2))):
        config: dict[str, Any] = {"path": f"in/s{i}/*.csv", "format": "csv", "schema": PALETTE_SCHEMA}
        if draw(st.integers(0, 5)) == 0:
            config = {"path": f"in/s{i}/", "format": "parquet"}
        if streaming and (i == 0 or draw(st.booleans())):
            config["streaming"] = True
        nodes.append({"id": f"s{i}", "type": "source.file", "config": config})
        outputs.append((f"s{i}", "out"))
    for i in range(draw(st.integers(1, 4))):
        node_type = draw(st.sampled_from(TRANSFORMS))
        node_id = f"t{i}"
        if node_type == "transform.join":
            feeds = [("left", draw(st.sampled_from(outputs))), ("right", draw(st.sampled_from(outputs)))]
        elif node_type in ("transform.union", "transform.sql"):
            picked = draw(st.lists(st.sampled_from(outputs), min_size=1, max_size=3, unique=True))
            feeds = [("in", p) for p in picked]
        else:
            feeds = [("in", draw(st.sampled_from(outputs)))]
        config = transform_config(draw, node_type, [source for _, (source, _) in feeds])
        nodes.append({"id": node_id, "type": node_type, "config": config})
        edges += [{"from": {"node": s, "port": p}, "to": {"node": node_id, "port": port}} for port, (s, p) in feeds]
        outputs.append((node_id, "out"))
        if node_type == "transform.quality" and draw(st.booleans()):
            outputs.append((node_id, "rejected"))
    fed = {e["from"]["node"] for e in edges}
    for i, (source, port) in enumerate(o for o in outputs if o[0] not in fed or o[1] == "rejected"):
        nodes.append(sink_node(draw, f"k{i}"))
        edges.append({"from": {"node": source, "port": port}, "to": {"node": f"k{i}", "port": "in"}})
    return {
        "format": "studio.pipeline/v1",
        "name": "random palette",
        "mode": "streaming" if streaming else "batch",
        "parameters": [{"name": "p", "type": "string", "default": "x"}],
        "nodes": nodes,
        "edges": edges,
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(palette_documents())
def test_random_documents_over_the_whole_palette(document: dict[str, Any]) -> None:
    """validate() answers for every engine; a document valid for spark compiles to a module that parses,
    and its lineage is JSON."""
    for engine in (None, "spark", "flink"):
        result = validate(document, engine=engine)
        json.dumps(result.to_dict())
    valid = validate(document, engine="spark").valid
    event("valid for spark" if valid else "not valid for spark")
    if valid:
        ast.parse(compile_pipeline(document, engine="spark").code)
