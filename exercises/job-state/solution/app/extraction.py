"""Prompts for field extraction: one model call per paper."""

from __future__ import annotations

from .models import Paper

SYSTEM_PROMPT = (
    "You extract structured facts from research papers. For each requested field, "
    "answer with one short line `field: value`; write `field: unknown` when the paper "
    "does not say."
)


def build_messages(paper: Paper, fields: list[str]) -> list[dict[str, str]]:
    # The `[p3]` tag identifies the paper in the provider's request logs (the ops
    # dashboard attributes cost per paper by it), so keep it in the user message.
    wanted = ", ".join(fields)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": f"[{paper.id}] {paper.title} ({paper.year})\n{paper.abstract}\n\n"
            f"Fields: {wanted}",
        },
    ]
