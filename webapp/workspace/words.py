"""Search terms of agent transcripts: terminal output is mostly ASCII (logs, code, commands), and at
megabytes a minute SudachiPy (about 0.4 ms a kilobyte) would cost more than everything else the
server does for a session. So an ASCII line is cut by a regular expression, about 50 times faster,
into the terms SudachiPy gives for ordinary English (words, contractions, numbers like 0013 and
2.5.1, lower-cased, the same stop words), and other lines (Japanese) go to documents/terms.py. A
question in ASCII is cut the same way, so what is stored and what is asked always agree.
"""

from __future__ import annotations

import re

from webapp.documents.terms import STOPWORDS, document_terms, query_terms, spans

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[0-9]+(?:\.[0-9]+)*")


def _ascii(text: str):
    for match in _WORD.finditer(text):
        term = match.group().lower()
        if term not in STOPWORDS and not (len(term) == 1 and term.isalpha()):
            yield term, match.span()


def transcript_terms(text: str) -> str:
    """What the index stores for a piece of transcript (text without ANSI): terms separated by spaces."""
    out: list[str] = []
    other: list[str] = []  # consecutive non-ASCII lines, cut together
    for line in text.split("\n"):
        if line.isascii():
            if other:
                out.append(document_terms("\n".join(other)))
                other.clear()
            out.extend(term for term, _ in _ascii(line))
        else:
            other.append(line)
    if other:
        out.append(document_terms("\n".join(other)))
    return " ".join(term for term in out if term)


def search_terms(query: str, limit: int = 32) -> list[str]:
    """A search's distinct terms, first ones first."""
    if query.isascii():
        return list(dict.fromkeys(term for term, _ in _ascii(query)))[:limit]
    return query_terms(query, limit)


def term_spans(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Where in `text` the words whose term is in `wanted` stand (for highlights)."""
    if text.isascii():
        return [span for term, span in _ascii(text) if term in wanted]
    return spans(text, wanted)
