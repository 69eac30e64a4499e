"""The team's reading list and a small keyword search over it."""

from __future__ import annotations

import re

from .models import Paper

PAPERS: list[Paper] = [
    Paper(
        id="p1",
        title="Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
        authors=["Lewis", "Perez", "Piktus"],
        year=2020,
        abstract="Combines a retriever with a generator; retrieval reduces hallucination "
        "on open-domain question answering.",
    ),
    Paper(
        id="p2",
        title="Lost in the Middle: How Language Models Use Long Contexts",
        authors=["Liu", "Lin", "Hewitt"],
        year=2023,
        abstract="Models use information at the start and end of long contexts best; "
        "relevant passages in the middle are often ignored.",
    ),
    Paper(
        id="p3",
        title="Self-RAG: Learning to Retrieve, Generate, and Critique",
        authors=["Asai", "Wu", "Wang"],
        year=2023,
        abstract="A model decides when to retrieve and critiques its own generations, "
        "improving factuality and citation accuracy.",
    ),
    Paper(
        id="p4",
        title="Measuring Faithfulness in Chain-of-Thought Reasoning",
        authors=["Lanham", "Chen", "Radhakrishnan"],
        year=2023,
        abstract="Tests whether stated reasoning reflects how models reach answers; "
        "faithfulness varies with model size and task.",
    ),
    Paper(
        id="p5",
        title="Evaluating Verifiability in Generative Search Engines",
        authors=["Liu", "Zhang", "Liang"],
        year=2023,
        abstract="Generative search answers often cite sources that do not support them; "
        "citation recall and precision are low.",
    ),
    Paper(
        id="p6",
        title="Efficient Streaming Language Models with Attention Sinks",
        authors=["Xiao", "Tian", "Chen"],
        year=2023,
        abstract="Keeping a few initial tokens as attention sinks lets models stream "
        "over very long inputs with stable quality.",
    ),
]

_BY_ID = {p.id: p for p in PAPERS}
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def search(query: str, limit: int = 3) -> list[Paper]:
    """Papers sharing the most words with the query, best first; ties keep list order."""
    wanted = _words(query)
    scored = [(len(wanted & _words(f"{p.title} {p.abstract}")), i, p) for i, p in enumerate(PAPERS)]
    hits = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    return [p for _, _, p in hits[:limit]]


def get_many(ids: list[str]) -> list[Paper]:
    """The papers with these ids, in the given order; unknown ids are skipped."""
    return [_BY_ID[i] for i in ids if i in _BY_ID]
