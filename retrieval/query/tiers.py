"""How sure an answer is: `answer`, `related` or `none` (retrieval.model), from the evidence
a search leaves. The thresholds were calibrated on tests/data/staff-tune.jsonl and
staff-validation.jsonl and checked on staff-holdout.jsonl (docs/retrieval.md).

Ranking policy: safe to change; calibrate with bench/calibrate.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.model import ANSWER, NONE, RELATED


@dataclass(frozen=True)
class Evidence:
    """`coverage`: share of the question's weight the best passage covers (coverage.py).
    `unknown_names`: words that name something (a place, an organisation, a person, a
    date, a number) and that the corpus never uses. `unknown_congress`: the question names
    a congress the corpus does not hold. `scoped`: it named a speech the corpus holds.
    `fact_first` / `fact_shown`: the best passage / one of the passages shown holds the
    kind of fact asked for (a number, a date, a person), or none was asked for.
    `known_share`: share of the question's weight in words the corpus uses at all.
    `lone_word`: the corpus uses at most one of the question's words and never uses some
    others (明天会下雨吗: only 明天)."""

    coverage: float
    unknown_names: tuple[str, ...] = ()
    unknown_congress: bool = False
    scoped: bool = False
    fact_first: bool = True
    fact_shown: bool = True
    known_share: float = 1.0
    lone_word: bool = False


@dataclass(frozen=True)
class TierRule:
    answer_coverage: float = 0.5
    related_coverage: float = 0.1
    fact_missing_coverage: float = 0.9
    # Below this share of known words a question is never answered confidently: what it
    # is about is mostly words the speeches never use (明天会下雨吗).
    answer_known_share: float = 0.5

    def decide(self, evidence: Evidence) -> str:
        if evidence.unknown_congress or evidence.unknown_names:
            return NONE
        if evidence.lone_word and not evidence.scoped:
            # One common word in a question about something else is no match; a question
            # about a named speech still shows what that speech holds.
            return NONE
        tiers = [NONE, RELATED, ANSWER]
        if not evidence.fact_shown:
            # Asked for a date or a number that no passage shown gives: at best related,
            # and only when the passages cover the rest of the question well.
            return RELATED if evidence.coverage >= self.fact_missing_coverage else NONE
        level = (evidence.coverage >= self.related_coverage) + (
            evidence.coverage >= self.answer_coverage
        )
        if not evidence.fact_first:
            # Given, but not by the best passage: not confidently.
            level = min(level, 1)
        if evidence.known_share < self.answer_known_share:
            level = min(level, 1)
        return tiers[level]
