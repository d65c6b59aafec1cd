"""Every CLI command, through `bot.cli.main`, with its JSON shape."""

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import BUNDLED_CORPUS, ConfigError, default_store_path, load_config


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("cli")
    path = base / "config.toml"
    path.write_text(
        f'[corpus]\ndir = "{BUNDLED_CORPUS.as_posix()}"\n[store]\npath = "cli.db"\n'
        "[search]\ntop_k = 3\n",
        encoding="utf-8",
    )
    assert main(["--config", str(path), "index"]) == 0
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_reports_counts(config_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "index", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["speeches"] == 8
    assert report["unchanged"] == 1 and report["added"] == []


def test_search_json_finds_every_niangjiaren_paragraph(
    config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "search", "--json", "-k", "10", "娘家人")
    answer = json.loads(out)
    assert code == 0 and answer["answered"]
    assert set(answer) >= {"query", "answered", "took_ms", "hits"}
    containing = [h for h in answer["hits"] if "娘家人" in h["text"]]
    assert len(containing) == 4
    for hit in answer["hits"]:
        assert set(hit) >= {
            "rank", "score", "speech_id", "speech_title", "event", "paragraph",
            "heading", "text", "snippet", "highlights",
        }  # fmt: skip
        assert hit["speech_title"]
        for start, end in hit["highlights"]:
            assert 0 <= start < end <= len(hit["snippet"])


def test_search_reads_queries_from_stdin(
    config_file: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("娘家人\n\n医保报销比例是多少\n"))
    code, out, _ = _run(capsys, "--config", config_file, "search", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [a["query"] for a in lines] == ["娘家人", "医保报销比例是多少"]
    assert lines[0]["answered"] and not lines[1]["answered"]
    assert lines[0]["confidence"] == "answer" and lines[1]["confidence"] == "none"
    assert lines[1]["hits"] == []


def test_speeches_and_show(config_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "speeches", "--json")
    speeches = json.loads(out)
    assert code == 0 and len(speeches) == 8
    assert all(s["event"] and s["title"] and s["paragraphs"] > 0 for s in speeches)
    first = speeches[0]
    code, out, _ = _run(capsys, "--config", config_file, "show", "--json", first["id"])
    speech = json.loads(out)
    assert code == 0
    assert speech["id"] == first["id"] and speech["event"] == first["event"]
    assert [p["n"] for p in speech["paragraphs"]] == list(range(1, first["paragraphs"] + 1))
    assert set(speech["paragraphs"][0]) == {"n", "heading", "text", "damaged"}


def test_ask_prints_passages_with_sources(
    config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "ask", "工会工作的立身之本是什么？")
    assert code == 0
    assert "为职工服务是工会的立身之本" in out
    assert "第" in out and "段" in out


def test_errors_are_one_line_and_non_zero(
    config_file: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "--config", config_file, "show", "nosuchid")
    assert code != 0 and err.count("\n") == 1 and "nosuchid" in err
    code, _, err = _run(capsys, "--config", config_file, "ask", "   ")
    assert code != 0 and err.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[search\ntop_k = ", encoding="utf-8")
    code, _, err = _run(capsys, "--config", str(bad), "speeches")
    assert code != 0 and err.count("\n") == 1 and "bad.toml" in err
    code, _, err = _run(capsys, "--config", str(tmp_path / "missing.toml"), "speeches")
    assert code != 0 and "not found" in err


def test_config_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPEECHBOT_CONFIG", raising=False)
    assert load_config().store_path == default_store_path()
    (tmp_path / "config.toml").write_text('[store]\npath = "local.db"\n', encoding="utf-8")
    assert load_config().store_path == tmp_path / "local.db"
    env = tmp_path / "env.toml"
    env.write_text('[store]\npath = "env.db"\n', encoding="utf-8")
    monkeypatch.setenv("SPEECHBOT_CONFIG", str(env))
    assert load_config().store_path == tmp_path / "env.db"
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[store]\npath = "x.db"\n[telegram]\ntoken = "1:a"\n', encoding="utf-8")
    assert load_config(str(explicit)).store_path == tmp_path / "x.db"
    monkeypatch.setenv("SPEECHBOT_TOKEN", "2:b")
    assert load_config(str(explicit)).telegram.token == "2:b"


def test_example_config_documents_every_key() -> None:
    import tomllib

    from bot.config import TelegramSettings, parse_config

    example = Path(__file__).parents[1] / "config.example.toml"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    config = parse_config(raw, base=example.parent)
    # Paths are read relative to the file; every other value is the documented default
    # but the salt, which each deployment sets.
    assert config.corpus_dir.resolve() == BUNDLED_CORPUS
    assert config.store_path == example.parent / "speechbot.db"
    assert config.top_k == 3
    assert config.telegram == dataclasses.replace(TelegramSettings(), salt="change-me")
    assert set(raw["telegram"]) == set(TelegramSettings.__dataclass_fields__)
    assert set(raw) == {"corpus", "store", "search", "telegram"}


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`speechbot search --json < queries | head -1` must not end in a traceback."""
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "s.db"}"\n', encoding="utf-8")
    cli = [sys.executable, "-m", "bot.cli", "--config", str(config)]
    subprocess.run([*cli, "index"], check=True, capture_output=True)
    search = subprocess.Popen(
        [*cli, "search", "--json", "-k", "20"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert search.stdin is not None and search.stdout is not None
    # Far more answers than a pipe holds, so the writer meets the closed end.
    search.stdin.write("工会\n".encode() * 300)
    search.stdin.close()
    search.stdout.readline()
    search.stdout.close()
    search.wait(timeout=120)
    err = search.stderr.read() if search.stderr else b""
    assert b"Traceback" not in err
    assert search.returncode == 141


def test_ask_prints_the_answer_as_the_bot_sends_it(
    config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "ask", "工会工作的立身之本是什么？")
    assert code == 0
    # One format for the bot, `chat` and `ask`: the number inside the quotation marks.
    assert out.startswith("为您找到以下内容：") and "「1. 为职工服务是工会的立身之本" in out
    assert "\n—— 在清远市清新区工会第六次代表大会上的讲话" in out


def test_speeches_and_show_carry_date_and_speaker(
    config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "speeches", "--json")
    first = json.loads(out)[0]
    assert code == 0 and first["date"] == "" and first["speaker"] == ""
    code, out, _ = _run(capsys, "--config", config_file, "show", "--json", first["id"])
    shown = json.loads(out)
    assert {"date", "speaker"} <= set(shown)


def test_index_reports_the_encoding_damage(
    config_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", config_file, "index", "--json")
    damage = json.loads(out)["damage"]
    assert code == 0 and damage["mended"] == [] and len(damage["marked"]) == 7
    assert ["b7a2db95", 3, "芦@得"] in damage["marked"]


def test_an_unknown_config_key_is_named_with_the_closest_known_one(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\nadmin = [1]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"telegram\.admin \(did you mean telegram\.admins\?\)"):
        load_config(str(config))
