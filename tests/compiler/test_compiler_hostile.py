"""Property tests: any input is answered (never a crash), and user text never changes the structure
of the generated program or of the SQL inside it."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
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
    try:
        job = compile_pipeline(document, parameters=parameters)  # type: ignore[arg-type]
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
@given(hostile_text, clean_text, clean_text.map(lambda t: t.replace("${", "$")), clean_text, clean_text)
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
