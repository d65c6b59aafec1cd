"""Keywords found by checking the best paragraphs first are those found by checking all."""

from retrieval.query.ranking import Ranking
from retrieval.query.search import SearchEngine


def test_keywords_found_by_checking_the_best_first_as_by_checking_all(
    engine: SearchEngine,
) -> None:
    keywords = ["工会", "职工之家", "劳模精神", "四季送", "代表大会", "工会工作", "娘家人", "职工"]
    # Keywords whose query words are split otherwise in the text (各位代 → 代): few or no
    # paragraphs match a word, and those holding the keyword come by id.
    keywords += ["各位代", "作在全", "局的高"]
    # Quoted phrases and pasted fragments: the best of the paragraphs holding them.
    keywords += ["“工会”", "“各位代”", "“职工群众”", "全心全意依靠工人阶级"]
    checked_all = {k: engine.search(k, k=8) for k in keywords}
    best_first = SearchEngine(engine.snapshot, engine.tokenizer, Ranking(check_all=0))
    for keyword in keywords:
        got, want = best_first.search(keyword, k=8), checked_all[keyword]
        assert got.hits == want.hits and got.phrase_count == want.phrase_count, keyword
        if want.phrase_count:
            assert len(got.hits) == min(8, want.phrase_count), keyword
