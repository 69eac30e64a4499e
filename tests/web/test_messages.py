"""Each websocket consumer sends only the message kinds web/messages.py declares for it."""

from __future__ import annotations

import ast
from pathlib import Path

from web import consumers, messages

SOURCE = Path(consumers.__file__).read_text()


def _sent_kinds(node: ast.AST, constants: dict[str, set[str]]) -> set[str]:
    """The "type" of every payload passed to send_json or reply under `node`."""
    kinds: set[str] = set()
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr not in {"send_json", "reply"} or not call.args:
            continue
        payload = call.args[-1]
        if isinstance(payload, ast.Call) and payload.args:  # dict(DISPLACED)
            payload = payload.args[0]
        if isinstance(payload, ast.Name) and payload.id in constants:
            kinds |= constants[payload.id]
        elif isinstance(payload, ast.Dict):
            for key, value in zip(payload.keys, payload.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type":
                    assert isinstance(value, ast.Constant), "a message type is a literal"
                    kinds.add(value.value)
        elif call.func.attr == "send_json" and isinstance(payload, ast.Name):
            assert payload.id == "payload", f"line {call.lineno}: an unchecked payload"
    return kinds


def test_each_consumer_sends_only_declared_kinds() -> None:
    tree = ast.parse(SOURCE)
    constants = {
        target.id: _dict_types(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict)
    }
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    seen = 0
    for name, allowed in messages.KINDS_BY_CONSUMER.items():
        sent = _sent_kinds(classes[name], constants)
        assert sent, f"{name} sends nothing the check can see"
        assert sent <= allowed, f"{name} sends undeclared kinds: {sorted(sent - allowed)}"
        seen += 1
    consumer_classes = {n for n, c in classes.items() if n.endswith("Consumer")}
    assert consumer_classes == set(messages.KINDS_BY_CONSUMER), "a consumer with no kinds"
    assert seen == 3


def _dict_types(node: ast.Dict) -> set[str]:
    return {
        v.value
        for k, v in zip(node.keys, node.values, strict=True)
        if isinstance(k, ast.Constant) and k.value == "type" and isinstance(v, ast.Constant)
    }
