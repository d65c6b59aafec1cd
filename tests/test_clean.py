"""Every cleaning rule, with real lines of the bundled source document."""

import re

import opencc
import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.ingest.clean import (
    clean_line,
    clean_speech,
    derive_title,
    extract_date,
    extract_event,
    extract_place,
    extract_speaker,
    is_damaged,
    is_furniture,
    normalize_punctuation,
    speech_id,
    split_heading,
    strip_pinyin,
    to_simplified,
)
from retrieval.ingest.sources import read_file
from retrieval.model import RawSpeech, Speech

SOURCE = next(BUNDLED_CORPUS.glob("*.txt"))
TONED = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")


@pytest.fixture(scope="module")
def speeches() -> list[Speech]:
    return [clean_speech(raw) for raw in read_file(SOURCE, BUNDLED_CORPUS)]


def test_pinyin_annotations_are_removed() -> None:
    text, broken = strip_pinyin("為職工服務(wù)是工會的立身之本。")
    assert text == "為職工服務是工會的立身之本。" and not broken
    text, _ = strip_pinyin("學(xué)習(xí)啦>實用范文>致辭講話>領(lǐng)導(dǎo)講話稿>講話稿大全>")
    assert text == "學習啦>實用范文>致辭講話>領導講話稿>講話稿大全>"


def test_broken_pinyin_without_opening_parenthesis_is_removed_and_flagged() -> None:
    text, broken = strip_pinyin("識所肩負(fù)的光榮歷史使命,勇挑重?fù)?dān),積極作為")
    assert broken
    assert not TONED.search(text) and ")" not in text
    _, damaged = clean_line("識所肩負(fù)的光榮歷史使命,勇挑重?fù)?dān),積極作為")
    assert damaged


def test_real_parentheses_survive() -> None:
    text, _ = clean_line(
        "認(rèn)真協(xié)調(diào)勞動(人事)關(guān)系,維護(hù)職工合法權(quán)益。"
    )
    assert text == "认真协调劳动（人事）关系，维护职工合法权益。"


@pytest.mark.parametrize(
    "line",
    [
        "學(xué)習(xí)啦>實用范文>致辭講話>領(lǐng)導(dǎo)講話稿>講話稿大全>",
        "時間: 航就0 分享",
        "2023工會代表大會領(lǐng)導(dǎo)講話稿【精選8篇】",
        "重要場合的講話稿怎么準(zhǔn)備?看一下吧。下面是小編精心整理的2023工會代表大會領(lǐng)導(dǎo)講話稿,歡迎大家分享。",
        "1644741",
    ],
)
def test_page_furniture_is_recognised(line: str) -> None:
    assert is_furniture(clean_line(line)[0])


def test_speech_text_is_not_furniture() -> None:
    assert not is_furniture("各位代表、同志们：")
    assert not is_furniture("最后，预祝会议取得圆满成功！谢谢大家！")


def test_traditional_becomes_simplified_with_mainland_zhe() -> None:
    assert to_simplified("隨著社會不斷地進步") == "随着社会不断地进步"
    assert to_simplified("一、著力于服務大局") == "一、着力于服务大局"
    # t2s would leave 随著/著力: that is why tw2s is the converter.
    assert opencc.OpenCC("t2s").convert("隨著") == "随著"


def test_source_text_is_kept_beside_the_clean_text(speeches: list[Speech]) -> None:
    first = speeches[0].paragraphs[1]
    assert "(" in first.source_text and "清遠" in first.source_text
    assert first.text.startswith("清远市清新区工会第六次代表大会")


def test_punctuation_in_chinese_text_becomes_full_width() -> None:
    assert normalize_punctuation("各位代表、同志們:") == "各位代表、同志們："
    assert normalize_punctuation("開好這次大會,對于") == "開好這次大會，對于"
    assert normalize_punctuation("最后,預祝會議取得圓滿成功!謝謝大家!") == (
        "最后，預祝會議取得圓滿成功！謝謝大家！"
    )
    assert normalize_punctuation("增長1.5倍,達到2023年") == "增長1.5倍，達到2023年"


def test_stray_spaces_inside_chinese_text_go() -> None:
    text, _ = clean_line("要注意理順工作的組織 領(lǐng)導(dǎo) 關(guān)系")
    assert text == "要注意理顺工作的组织领导关系"
    text, _ = clean_line(
        "二、各級工會組織要當(dāng)好“ 娘家人” 、“ 貼心人” ,積極履職創(chuàng)佳績"
    )
    assert text.startswith("二、各级工会组织要当好“娘家人”、“贴心人”，积极")


def test_standalone_heading_lines() -> None:
    heading, standalone = split_heading("一、着力于服务大局，在促进发展上创造新的业绩")
    assert standalone and heading == "一、着力于服务大局，在促进发展上创造新的业绩"
    assert split_heading("为职工服务是工会的立身之本。全区各级工会组织要始终坚持") == ("", False)


def test_heading_clause_opening_a_long_paragraph() -> None:
    line = (
        "一是要争当改革创新的推动者。创新是推动社会发展的不竭动力，也是工人阶级永葆先进的不竭源泉。"
    )
    assert split_heading(line) == ("一是要争当改革创新的推动者", False)
    line = "一要在推动科学发展、加快追赶超越上走在最前列。当前，我市正处于战略关键期。"
    assert split_heading(line) == ("一要在推动科学发展、加快追赶超越上走在最前列", False)


def test_paragraphs_carry_their_heading(speeches: list[Speech]) -> None:
    qingxin = speeches[0]
    root = next(p for p in qingxin.paragraphs if p.text.startswith("为职工服务是工会的立身之本"))
    assert root.heading == "二、着力于服务职工，在维权扶困上创造新的业绩"
    assert all(not p.text.startswith("一、") for p in qingxin.paragraphs)
    closing = next(p for p in qingxin.paragraphs if p.text.startswith("各位代表、同志们，站在"))
    assert closing.heading == ""


def test_encoding_damage_is_flagged_and_unambiguous_damage_repaired() -> None:
    text, damaged = clean_line(
        "一是深入學(xué)習(xí)貫徹“4?28”重要講話精神?!?·28”重要講話,是新形勢下"
    )
    assert damaged and "“4·28”" in text
    assert clean_line("出1名全國勞動模范、1名全國“五一”勞動獎?wù)芦@得者、2個全國")[1]
    assert clean_line("大病救助以及“二次醫(yī)?!薄⑿撵`驛站、女職工關(guān)愛行動")[1]
    assert is_damaged("面对面、心贴心、实打嵎\ue848职工")
    assert not is_damaged("为职工服务是工会的立身之本。")
    assert not clean_line("重要場合的講話稿怎么準(zhǔn)備?看一下吧。")[1]


def test_event_place_and_title() -> None:
    paragraphs = [
        "各位代表、同志们：",
        "我市“两会”刚刚闭幕，全市上下正在按照既定的决策部署，打造核心增长极的重要时刻，"
        "南昌市工会第十三次代表大会隆重开幕了。",
    ]
    assert extract_event(paragraphs) == "南昌市工会第十三次代表大会"
    opening = ["靖江市工会第十五次代表大会以来的五年，是我市工会事业与时俱进的五年。"]
    assert extract_event(opening) == ""
    assert extract_place("清远市清新区工会第六次代表大会") == "清远市清新区"
    assert extract_place("滨州市工会第五次代表大会") == "滨州市"
    assert derive_title("2023工会代表大会领导讲话稿【篇4】", "宜宾市工会第四次代表大会") == (
        "在宜宾市工会第四次代表大会上的讲话"
    )
    assert derive_title("在职工代表大会上的讲话", "x工会第一次代表大会") == "在职工代表大会上的讲话"


def test_speech_ids_are_stable(speeches: list[Speech]) -> None:
    # Users keep ids from earlier answers (/speech ID): the same file and place, the same id.
    assert speeches[0].id == speech_id(SOURCE.name, 1) == "b7a2db95"
    assert speech_id("a.txt", 1) == "f86bef9b"
    assert speech_id("a.txt", 1) != speech_id("a.txt", 2)
    assert re.fullmatch(r"[0-9a-f]{8}", speech_id("a.txt", 1))


def test_whole_bundled_corpus_comes_out_clean(speeches: list[Speech]) -> None:
    assert len(speeches) == 8
    events = [s.event for s in speeches]
    assert events == [
        "清远市清新区工会第六次代表大会",
        "杭州市余杭区工会第十次代表大会",
        "南昌市工会第十三次代表大会",
        "宜宾市工会第四次代表大会",
        "哈尔滨市工会第十七次代表大会",
        "靖江市工会第十六次代表大会",
        "滨州市工会第五次代表大会",
        "市教科文卫体工会第一次代表大会",
    ]
    assert speeches[0].title == "在清远市清新区工会第六次代表大会上的讲话"
    t2s = opencc.OpenCC("t2s")
    for speech in speeches:
        assert speech.title == to_simplified(speech.title)
        for p in speech.paragraphs:
            for text in (p.text, p.heading):
                assert not TONED.search(text), text
                assert not re.search(r"\([a-z]", text), text
                # 著 is Simplified too (著作); every other character must already be Simplified.
                assert all(t2s.convert(ch) == ch or ch == "著" for ch in text), text
                assert ">" not in text and "小编" not in text and "精选" not in text
            assert not re.fullmatch(r"\d+", p.text)
            assert p.n >= 1
        assert [p.n for p in speech.paragraphs] == list(range(1, len(speech.paragraphs) + 1))
    niangjiaren = [p for s in speeches for p in s.paragraphs if "娘家人" in p.text]
    assert len(niangjiaren) == 4
    damaged = [(s.ordinal, p.n) for s in speeches for p in s.paragraphs if p.damaged]
    assert len(damaged) == 8


def test_plain_speech_uses_first_line_as_title() -> None:
    raw = RawSpeech(
        "在职工代表大会上的讲话", ("同志們:", "為職工服務(wù)是工會的立身之本。"), "a.txt", 1
    )
    speech = clean_speech(raw)
    assert speech.title == "在职工代表大会上的讲话"
    assert [p.text for p in speech.paragraphs] == ["同志们：", "为职工服务是工会的立身之本。"]


def test_date_and_speaker_come_from_the_text_where_it_gives_them() -> None:
    assert extract_speaker("王明同志在某市工会第一次代表大会上的讲话") == "王明"
    assert extract_speaker("在南昌市工会第十三次代表大会上的讲话") == ""
    assert extract_date(["某讲话", "（2015年7月6日）"]) == "2015年7月6日"
    assert extract_date(["各位代表、同志们："]) == ""
