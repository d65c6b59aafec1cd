"""Keywords found by checking the best paragraphs first are those found by checking all."""

import tempfile
from pathlib import Path

import jieba
import jieba.posseg
import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.index import prefixdict
from retrieval.index.tokenize import _load_jieba, _load_tagger
from retrieval.query.ranking import Ranking
from retrieval.query.search import SearchEngine

CORPUS = BUNDLED_CORPUS / "000_31ab44726c7746e9.txt"


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


def test_question_words_are_tagged_as_jieba_posseg_tags_them() -> None:
    reference = jieba.posseg.POSTokenizer(_load_jieba())
    texts = [
        "哈尔滨那次大会讲话里关于劳模精神是怎么说的",
        "靖江今年1到9月GDP是多少？ 第3.5条 abc",
        "在杭州市余杭区工会第十次代表大会上的讲话\r\n二○一六年",
        *CORPUS.read_text(encoding="utf-8").splitlines()[:120],
    ]
    for text in texts:
        assert list(_load_tagger().cut(text)) == [
            (p.word, p.flag) for p in reference.cut(text, HMM=False)
        ]


def test_the_prefix_dictionary_read_from_our_cache_is_jiebas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    plain = jieba.Tokenizer()
    plain.initialize()
    written, read = jieba.Tokenizer(), jieba.Tokenizer()
    prefixdict.initialize(written)  # no cache yet: jieba builds it, and it is saved
    assert list(tmp_path.glob("speechbot-prefixdict-*"))
    prefixdict.initialize(read)
    for tok in (written, read):
        assert tok.initialized and tok.total == plain.total and tok.FREQ == plain.FREQ
    # A cache cut short is not read: jieba's own is.
    cache = next(tmp_path.glob("speechbot-prefixdict-*"))
    cache.write_bytes(cache.read_bytes()[:1000])
    again = jieba.Tokenizer()
    prefixdict.initialize(again)
    assert again.FREQ == plain.FREQ
