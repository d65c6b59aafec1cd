"""Coverage of a question by a passage: whole and within a few sentences."""

from retrieval.query.coverage import nearby_coverage, passage_coverage

WEIGHTS = {"劳模": 2.0, "精神": 1.0, "弘扬": 1.0}


def test_words_far_apart_cover_the_paragraph_but_not_a_stretch_of_it() -> None:
    far = "弘扬" + "工" * 60 + "劳模" + "会" * 60 + "精神"
    assert passage_coverage(WEIGHTS, far, "") == 1.0
    assert nearby_coverage(WEIGHTS, far, 40) == 0.5


def test_words_together_cover_a_stretch() -> None:
    near = "工" * 50 + "弘扬劳模精神" + "会" * 50
    assert nearby_coverage(WEIGHTS, near, 40) == 1.0


def test_a_related_word_counts_where_it_stands() -> None:
    text = "大力弘扬劳动模范的精神"
    assert nearby_coverage(WEIGHTS, text, 40, {"劳模": ("劳动模范",)}) == 1.0
    assert nearby_coverage(WEIGHTS, text, 40) == 0.5


def test_no_words_no_coverage() -> None:
    assert nearby_coverage({}, "弘扬劳模精神", 40) == 0.0
    assert nearby_coverage(WEIGHTS, "", 40) == 0.0
