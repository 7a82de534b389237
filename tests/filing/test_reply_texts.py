"""Every text a handler says, and every label a card shows, exists in both languages.

A key missing in zh-CN fails the handler (``KeyError``); one missing in en-US silently answers
an English user in Chinese; a placeholder that differs between the two fails to format.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

import handlers
from cards.i18n import LABELS
from handlers.texts import TEXTS

# Keys built at run time: f"ask_{field}" (drafts.ask) and f"notify_{status}" (approvals.announce).
DYNAMIC = {
    "ask_": ("category", "amount", "spent_on", "field"),
    "notify_": ("approving", "approved", "rejected", "returned"),
}


Scope = ast.FunctionDef | ast.AsyncFunctionDef


def said_keys() -> set[str]:
    """The first argument of every ``say(…)`` in the handlers' functions."""
    keys: set[str] = set()
    for path in sorted(Path(handlers.__file__).parent.glob("*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(module) if isinstance(n, Scope)):
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                        and node.func.id == "say" and node.args:
                    keys |= _keys(node.args[0], function, module)
    return keys


def _keys(arg: ast.expr, function: Scope, module: ast.Module) -> set[str]:
    """Constants, built keys, and what a variable is assigned or iterates over."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value}
    if isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
        prefix = str(arg.values[0].value)
        assert prefix in DYNAMIC, f"a built key this test does not know: {ast.unparse(arg)}"
        return {prefix + value for value in DYNAMIC[prefix]}
    if isinstance(arg, ast.IfExp):
        return _keys(arg.body, function, module) | _keys(arg.orelse, function, module)
    if isinstance(arg, ast.Tuple | ast.List):
        return set().union(*(_keys(e, function, module) for e in arg.elts))
    if isinstance(arg, ast.Name):
        sources = _sources(arg.id, ast.walk(function)) or _sources(arg.id, iter(module.body))
        if sources:
            return set().union(*(_keys(source, function, module) for source in sources))
    raise AssertionError(f"a text key this test cannot read: {ast.unparse(arg)}")


def _sources(name: str, nodes: Iterator[ast.AST]) -> list[ast.expr]:
    """The values assigned to ``name`` and the iterables a loop over ``name`` runs through."""
    found: list[ast.expr] = []
    for node in nodes:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            found.append(node.value)
        elif isinstance(node, ast.For | ast.comprehension) \
                and isinstance(node.target, ast.Name) and node.target.id == name:
            found.append(node.iter)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_the_handlers_say_is_written() -> None:
    keys = said_keys()
    assert {"cannot_submit", "invoice_in_use", "notify_rejected"} <= keys
    assert keys <= set(TEXTS["zh-CN"]), keys - set(TEXTS["zh-CN"])


@pytest.mark.parametrize("table", [TEXTS, LABELS], ids=["texts", "card labels"])
def test_both_languages_have_the_same_keys_and_placeholders(
    table: dict[str, dict[str, str]],
) -> None:
    chinese, english = table["zh-CN"], table["en-US"]
    assert set(chinese) == set(english), set(chinese) ^ set(english)
    differ = [k for k in chinese if placeholders(chinese[k]) != placeholders(english[k])]
    assert not differ, differ
