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
    Paper(
        id="p7",
        title="Toolformer: Language Models Can Teach Themselves to Use Tools",
        authors=["Schick", "Dwivedi-Yu", "Dessi"],
        year=2023,
        abstract="A model learns from a few demonstrations when to call external tools "
        "such as a calculator or a search engine, without losing language ability.",
    ),
    Paper(
        id="p8",
        title="Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena",
        authors=["Zheng", "Chiang", "Sheng"],
        year=2023,
        abstract="Strong models used as judges agree with human preferences about as often "
        "as humans agree with each other, with position and verbosity biases.",
    ),
    Paper(
        id="p9",
        title="Large Language Models Can Be Easily Distracted by Irrelevant Context",
        authors=["Shi", "Chen", "Misra"],
        year=2023,
        abstract="Adding irrelevant sentences to arithmetic word problems sharply lowers "
        "accuracy; instructing the model to ignore them helps a little.",
    ),
    Paper(
        id="p10",
        title="Dense Passage Retrieval for Open-Domain Question Answering",
        authors=["Karpukhin", "Oguz", "Min"],
        year=2020,
        abstract="Dual-encoder dense retrieval trained on question-passage pairs beats BM25 "
        "on open-domain question answering benchmarks.",
    ),
    Paper(
        id="p11",
        title="Calibrate Before Use: Improving Few-Shot Performance of Language Models",
        authors=["Zhao", "Wallace", "Feng"],
        year=2021,
        abstract="Few-shot accuracy swings with prompt format and example order; "
        "a simple contextual calibration reduces the variance.",
    ),
    Paper(
        id="p12",
        title="Holistic Evaluation of Language Models",
        authors=["Liang", "Bommasani", "Lee"],
        year=2022,
        abstract="Evaluates many models across scenarios and metrics beyond accuracy, "
        "including calibration, robustness, fairness and efficiency.",
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


def get(paper_id: str) -> Paper | None:
    return _BY_ID.get(paper_id)
