"""The search language every store understands, and what a search returns.

Small on purpose, so the JSON scan can give the same answer as the SQL indexes:

- `word`: a token; text is cut into tokens at every character that is not a letter or a
  digit, and compared case-insensitively (`Timeout,` holds the token `timeout`);
- `word*`: any token that starts with `word`;
- `"a quoted phrase"`: those tokens next to each other, in that order (`"a phrase"*` too);
- several of them: a value must hold every one (AND). A word that holds separators (`e-mail`)
  is the phrase of its tokens (`"e mail"`). Nothing else is an operator: `OR`, `NOT`, `:` and
  parentheses are plain text, so no input reaches the database as syntax.

A match is one field value (a session's task, one chat message, one instance's output)
holding every term; a document is found once, by its best-ranked value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.errors import SearchQueryError, UsageError

#: A token: a run of letters and digits (Unicode), as SQLite's unicode61 tokenizer cuts them.
TOKEN = re.compile(r"[^\W_]+")
#: More terms than this is not a search any index answers quickly.
MAX_TERMS = 16
_PART = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')


@dataclass(frozen=True)
class Term:
    """One term: its tokens in order (one for a word, more for a phrase); the last a prefix?"""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """Parsed search text: every term must match within one field value."""

    text: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class SearchHit:
    """One document found: its best-ranked field value and a snippet of it.

    `score`: higher is more relevant (bm25 on SQLite and in the JSON scan, `ts_rank` on
    PostgreSQL: comparable within one answer, not across backends)."""

    doc_id: str
    partition: str
    score: float
    #: Where the best match is: `task`, `chat_history[3].content`.
    field: str
    #: A few words around the match, matched tokens in [brackets].
    snippet: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.doc_id,
            "partition": self.partition,
            "score": self.score,
            "field": self.field,
            "snippet": self.snippet,
        }


def tokenize(text: str) -> list[str]:
    """The tokens of `text`, lower-cased."""
    return TOKEN.findall(text.lower())


def parse(text: str) -> SearchQuery:
    """`text` as a query; `SearchQueryError` when it holds nothing to look for."""
    if not isinstance(text, str):
        raise SearchQueryError(str(text), "search text must be a string")
    if text.count('"') % 2:
        raise SearchQueryError(text, 'a quote is not closed (write "a phrase" in pairs of ")')
    terms: list[Term] = []
    for match in _PART.finditer(text):
        phrase, star, word = match.groups()
        if word is not None:
            star = "*" if word.endswith("*") else ""
            phrase = word.rstrip("*")
        tokens = tuple(tokenize(phrase))
        if not tokens:
            continue  # punctuation alone, an empty phrase: nothing to match
        terms.append(Term(tokens, prefix=bool(star)))
    if not terms:
        raise SearchQueryError(text, "no word to search for (words are letters and digits)")
    if len(terms) > MAX_TERMS:
        raise SearchQueryError(text, f"more than {MAX_TERMS} terms")
    return SearchQuery(text, tuple(dict.fromkeys(terms)))


def check_limit(limit: int) -> int:
    """`limit` when it is a usable number of results."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"search limit must be a whole number of at least 1, got {limit!r}")
    return limit


def fts5_match(query: SearchQuery) -> str:
    """The query in SQLite FTS5 syntax: every term a quoted string, so none is an operator."""
    return " AND ".join(
        '"' + " ".join(term.tokens) + '"' + (" *" if term.prefix else "") for term in query.terms
    )
