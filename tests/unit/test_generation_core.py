"""The pure core of data generation: replies read as lists in every shape models write them,
prompt templates checked with a message that says what to do, task ids that never move,
sources that report each record they skip by line, and the dedupe (exact, ROUGE-L with a
prefilter that must not change the answer, MinHash)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from ftui.core.generation.dedupe import DedupeIndex, Duplicate, exact_form
from ftui.core.generation.parse import parse_items
from ftui.core.generation.plan import plan_distill, plan_paraphrase, plan_synth
from ftui.core.generation.prompts import (
    PARAPHRASE,
    SYNTH_ANSWER,
    SYNTH_QUESTIONS,
    TemplateError,
    placeholders_in,
    prompt_for,
)
from ftui.core.generation.sources import (
    Scenario,
    SourceError,
    SourceExample,
    read_examples,
    read_scenarios,
)
from ftui.core.judge.metrics import lcs_length

DATASETS = Path(os.environ.get("FTUI_SHARED_DATASETS", "/work/shared/datasets"))
INSTRUCTION = "Write 3 different questions a user in this scenario might ask."

# -- parse_items ---------------------------------------------------------------------------------

SHAPES = {
    "numbered with dots": "1. Why is the sky blue?\n2. How do tides work?",
    "numbered with parens": "1) Why is the sky blue?\n2) How do tides work?",
    "parenthesised and hashed": "(1) Why is the sky blue?\n#2 How do tides work?",
    "dash bullets": "- Why is the sky blue?\n- How do tides work?",
    "star and dot bullets": "* Why is the sky blue?\n• How do tides work?",
    "json strings": '["Why is the sky blue?", "How do tides work?"]',
    "json objects": '[{"question": "Why is the sky blue?"}, {"text": "How do tides work?"}]',
    "fenced json": '```json\n["Why is the sky blue?", "How do tides work?"]\n```',
    "fenced list": "Sure:\n```\n1. Why is the sky blue?\n2. How do tides work?\n```\nEnjoy!",
    "fence never closed": "```text\nWhy is the sky blue?\nHow do tides work?",
    "plain lines": "Why is the sky blue?\n\nHow do tides work?\n",
    "crlf": "1. Why is the sky blue?\r\n2. How do tides work?\r\n",
    "chatter around a list": (
        "Here are 2 questions:\n\n1. Why is the sky blue?\n2. How do tides work?\n\n"
        "I hope these help!"
    ),
    "chatter around plain lines": (
        "Here are 5 questions:\nWhy is the sky blue?\nHow do tides work?\n"
        "Let me know if you want more."
    ),
    "labels, quotes and bold": ('1. Question 1: "Why is the sky blue?"\n2. **How do tides work?**'),
    "json after a preamble": 'Here you go: ["Why is the sky blue?", "How do tides work?"]',
}


@pytest.mark.parametrize("reply", SHAPES.values(), ids=SHAPES.keys())
def test_every_shape_reads_as_the_same_two_items(reply: str) -> None:
    assert parse_items(reply) == ["Why is the sky blue?", "How do tides work?"]


def test_an_items_wrapped_line_joins_it_and_a_closing_remark_does_not() -> None:
    reply = "1. Why is the sky\n   so very blue?\n2. How do tides work?\nThese should help."
    assert parse_items(reply) == ["Why is the sky so very blue?", "How do tides work?"]


def test_empties_and_repeats_are_dropped_in_order() -> None:
    reply = '1. B?\n2. ""\n3. a?\n4. b?\n5. **  **\n6. A?'
    assert parse_items(reply) == ["B?", "a?"]


def test_an_echo_of_the_instruction_is_dropped_but_a_short_item_inside_it_is_kept() -> None:
    reply = f"1. {INSTRUCTION.upper()}\n2. Might ask?\n3. {INSTRUCTION[:-1]}\n4. Why?"
    # "might ask?" appears in the instruction, but is too short to be taken for an echo of it;
    # the instruction cut short is an echo all the same.
    assert parse_items(reply, echo_of=INSTRUCTION) == ["Might ask?", "Why?"]
    assert parse_items(reply) == [INSTRUCTION.upper(), "Might ask?", INSTRUCTION[:-1], "Why?"]


@pytest.mark.parametrize(
    "reply",
    ["", "   \n\n\t", "Here are 5 questions:", "```\n```", "Sure! Here is the list:\n\n"],
    ids=["empty", "blank", "only a preamble", "an empty fence", "preamble and blanks"],
)
def test_a_reply_with_nothing_usable_is_an_empty_list(reply: str) -> None:
    assert parse_items(reply) == []


def test_numbers_inside_a_plain_line_are_not_list_markers() -> None:
    assert parse_items("1.5 million people live here?\n2024 was a year") == [
        "1.5 million people live here?",
        "2024 was a year",
    ]


def test_a_json_array_of_no_text_falls_back_to_the_lines() -> None:
    assert parse_items('[{"score": 1}]\nWhy?') == ['[{"score": 1}]', "Why?"]


# -- prompt templates -----------------------------------------------------------------------------


def test_a_default_prompt_renders_its_placeholders() -> None:
    prompt = prompt_for(SYNTH_QUESTIONS)
    assert prompt.name == "synth-questions"
    text = prompt.render(scenario="a bakery's customers", n=4)
    assert "Scenario: a bakery's customers" in text and "Write 4 different" in text


def test_a_custom_prompt_with_escaped_braces_renders_them_literally() -> None:
    prompt = prompt_for(PARAPHRASE, 'Give {k} as JSON {{"items": [...]}}:\n{question}')
    assert prompt.name == "custom"
    assert prompt.render(question="Why?", k=2) == 'Give 2 as JSON {"items": [...]}:\nWhy?'
    assert placeholders_in("{{not}} {question} {k} {question}") == ["question", "k", "question"]


def test_an_optional_placeholder_may_be_left_out() -> None:
    assert prompt_for(SYNTH_ANSWER, "Answer briefly: {question}").render(
        question="Why?", scenario="ignored"
    ) == ("Answer briefly: Why?")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{scenario} {n} {senario}",
            "q.txt uses {senario}, which the synth-questions step does not fill; "
            "it knows {scenario}, {n}",
        ),
        ("Scenario: {scenario}", "q.txt leaves out {n}: the synth-questions step needs it"),
        ("   \n", "q.txt is empty; write the prompt of the synth-questions step in it"),
        (
            "{scenario} {n",
            "q.txt: expected '}' before end of string; write a literal brace as {{ or }} "
            "and a placeholder as {name}",
        ),
        ("{scenario} {n} }", "q.txt: Single '}' encountered in format string"),
        ("{scenario} {n} {0}", "q.txt: {0} is not a placeholder name"),
        ("{scenario} {n} {}", "q.txt: {} is not a placeholder name"),
        ("{scenario} {n.real}", "q.txt: {n.real} is not a placeholder name"),
        (
            "{scenario:d} {n}",
            "q.txt: {scenario:d} has a format or conversion; "
            "a placeholder is its name alone, {scenario}",
        ),
        ("{scenario!r} {n}", "q.txt: {scenario!r} has a format or conversion"),
    ],
    ids=[
        "unknown",
        "missing",
        "empty",
        "unclosed",
        "stray close",
        "positional",
        "unnamed",
        "attribute",
        "format spec",
        "conversion",
    ],
)
def test_a_bad_template_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        prompt_for(SYNTH_QUESTIONS, text, where="q.txt")
    assert str(caught.value).startswith(message)


def test_prompt_hashes_tell_texts_apart() -> None:
    default = prompt_for(PARAPHRASE)
    assert default.sha256 == prompt_for(PARAPHRASE).sha256
    assert default.sha256 != prompt_for(PARAPHRASE, default.text + " ").sha256


# -- plan -----------------------------------------------------------------------------------------


def chat(line: int, question: str, answer: str = "old", system: str | None = None) -> SourceExample:
    turns = [{"role": "system", "content": system}] if system else []
    turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return SourceExample(line, tuple(turns))


def test_task_ids_are_pinned_and_do_not_depend_on_the_rest_of_the_file() -> None:
    alone = plan_distill([chat(1, "Why?")])
    among = plan_distill([chat(1, "How?"), chat(2, "When?"), chat(7, "Why?", answer="new")])
    # The id hashes the prompt (turns up to the last user one): not the line, not the answer.
    assert alone[0].id == among[2].id == "distill:51ce2e32ea943357"
    assert among[2].line == 7 and among[2].sample == 0
    assert plan_distill([chat(1, "Why?", system="Be brief.")])[0].id != alone[0].id


def test_repeated_inputs_get_numbered_ids_and_samples() -> None:
    tasks = plan_synth([Scenario(1, "a bakery"), Scenario(2, "a bank"), Scenario(3, "a bakery")])
    tasks += plan_synth([Scenario(9, "a bakery")])
    assert [t.sample for t in tasks] == [0, 0, 1, 0]
    assert tasks[2].id == tasks[0].id + "-2" and tasks[3].id == tasks[0].id
    assert tasks[0].id.startswith("synth:") and tasks[1].id != tasks[0].id
    repeats = plan_paraphrase([chat(1, "Why?"), chat(2, "Why?"), chat(3, "Why?")])
    assert [t.id.removeprefix(repeats[0].id) for t in repeats] == ["", "-2", "-3"]


def test_task_ids_are_the_same_in_another_process() -> None:
    code = (
        "from ftui.core.generation.plan import plan_paraphrase, plan_synth\n"
        "from ftui.core.generation.sources import Scenario, SourceExample\n"
        "e = SourceExample(1, ({'role': 'user', 'content': 'Wie spät? ✓'},))\n"
        "print(plan_paraphrase([e])[0].id, plan_synth([Scenario(1, 'a bakery')])[0].id)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    here = plan_paraphrase([SourceExample(1, ({"role": "user", "content": "Wie spät? ✓"},))])
    assert out == [here[0].id, plan_synth([Scenario(1, "a bakery")])[0].id]


# -- sources --------------------------------------------------------------------------------------


def test_unusable_records_are_skipped_by_line_with_the_reason(tmp_path: Path) -> None:
    rows = [
        orjson.dumps({"messages": [{"role": "user", "content": "Why?"}]}),
        b'{"messages": [{"role": "user", "content": "broken',
        orjson.dumps({"messages": [{"role": "assistant", "content": "no question"}]}),
        b"",
        orjson.dumps({"messages": [{"role": "user", "content": {"image": "x.png"}}]}),
        orjson.dumps({"messages": [{"role": "user", "content": "How?"}]}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(rows) + b"\n")
    examples, skipped = read_examples(path)
    assert [(e.line, e.messages[e.last_user]["content"]) for e in examples] == [
        (1, "Why?"),
        (6, "How?"),
    ]
    assert [s.line for s in skipped] == [2, 3, 5]
    assert "JSON" in skipped[0].reason or "json" in skipped[0].reason
    assert skipped[1].reason == "the example has no user turn with text"
    assert "message 1 (user) has no text content" in skipped[2].reason
    assert skipped[1].describe(path) == f"{path}:3: skipped: the example has no user turn with text"


def test_a_limit_counts_usable_examples(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"Q{i}?"}]} for i in range(5)]
    rows.insert(1, {"messages": []})
    path = tmp_path / "limited.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    examples, skipped = read_examples(path, limit=3)
    assert [e.line for e in examples] == [1, 3, 4] and [s.line for s in skipped] == [2]


def test_real_datasets_read_in_every_format() -> None:
    for name, usable in [
        ("openai-chat/fluid_train.jsonl", 257),
        ("sharegpt/fastchat_dummy_conversation.json", 500),
        ("alpaca/alpaca_en_demo.json", None),
        ("llamafactory-v1/v1_multimodal_demo.jsonl", None),
    ]:
        path = DATASETS / name
        if not path.exists():
            pytest.skip(f"{path} is not here")
        examples, skipped = read_examples(path)
        assert examples and not skipped, name
        if usable is not None:
            assert len(examples) == usable, name
        assert all(isinstance(m["content"], str) for e in examples for m in e.messages)


def test_a_scenarios_file_skips_blank_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.txt"
    path.write_text("\ufeff# customers of a bakery\n\n  a bakery's customers  \n#x\n\ta bank\n")
    scenarios, skipped = read_scenarios(path)
    assert scenarios == [Scenario(3, "a bakery's customers"), Scenario(5, "a bank")]
    assert skipped == []
    assert read_scenarios(path, limit=1)[0] == [Scenario(3, "a bakery's customers")]


def test_scenarios_from_a_dataset_are_its_last_user_turns(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    turns = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    path.write_bytes(orjson.dumps({"messages": turns}) + b"\nnot json\n")
    scenarios, skipped = read_scenarios(path)
    assert scenarios == [Scenario(1, "second")] and [s.line for s in skipped] == [2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"# only a comment\n\n", "no scenarios in it; write one scenario a line"),
        (b"caf\xe9\n", "not UTF-8 text (byte 3)"),
    ],
    ids=["missing", "no scenarios", "not utf-8"],
)
def test_an_unreadable_scenarios_file_says_why(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "scenarios.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        read_scenarios(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_missing_dataset_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file; give the path of a dataset"):
        read_examples(tmp_path / "nope.jsonl")


# -- dedupe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["rougeL", "minhash"])
def test_exact_duplicates_ignore_case_punctuation_and_spacing(method: str) -> None:
    index = DedupeIndex(method)  # type: ignore[arg-type]
    index.add("How do I reset my password?", "source row 1")
    index.add("How do I reset my password", "out line 4")  # the same words: the first is kept
    assert index.check("  how do i RESET my password!!") == Duplicate("exact", "source row 1", 1.0)
    assert index.check("Ｈow do I reset my passwords?") != Duplicate("exact", "source row 1", 1.0)
    assert exact_form("Ｈｏｗ, do?") == ("how", "do")
    assert index.check("?!") is None and len(index) == 2
    index.add("...", "nothing in it")
    assert len(index) == 2


def test_rouge_l_is_near_above_the_threshold_only() -> None:
    index = DedupeIndex("rougeL", threshold=0.7)
    index.add("how do i reset my account password today", "a")  # 8 words
    # 6 of 8 words in order, 7 words long: F = 2*6/15 = 0.8
    assert index.check("how do i reset my password now") == Duplicate("near", "a", 0.8)
    # 6 of 8 in order, 9 words: F = 12/17 = 0.706 > 0.7
    assert index.check("how do i reset my password on my phone") == Duplicate("near", "a", 0.7059)
    # 5 of 8 in order, 8 words: F = 10/16 = 0.625
    assert index.check("how do i reset the router password again") is None
    # exactly at the threshold is not above it: 7 of 10 words against 10: F = 0.7
    index = DedupeIndex("rougeL", threshold=0.7)
    index.add("a b c d e f g h i j", "ten")
    assert index.check("a b c d e f g x y z") is None
    assert DedupeIndex("rougeL", threshold=0.69).check("x") is None


def test_the_best_match_is_reported_and_ties_go_to_the_first_added() -> None:
    index = DedupeIndex("rougeL", threshold=0.5)
    index.add("alpha beta gamma delta epsilon", "far")
    index.add("alpha beta gamma delta zeta", "first close")
    index.add("alpha beta gamma delta eta", "second close")
    index.add("alpha beta gamma delta theta", "closest")  # not closer: an equal score
    found = index.check("alpha beta gamma delta iota")
    assert found == Duplicate("near", "far", 0.8)
    index.add("alpha beta gamma delta kappa iota", "closest")
    assert index.check("alpha beta gamma delta iota") == Duplicate("near", "closest", 0.9091)


def brute_force(pool: list[str], text: str, threshold: float) -> Duplicate | None:
    """ROUGE-L against every entry, no prefilter: what the index must answer."""
    tokens = list(exact_form(text))
    if not tokens:
        return None
    for i, entry in enumerate(pool):
        if tuple(exact_form(entry)) == tuple(tokens):
            return Duplicate("exact", str(i), 1.0)
    best: tuple[float, int] | None = None
    for i, entry in enumerate(pool):
        other = list(exact_form(entry))
        if not other:
            continue
        score = 2 * lcs_length(other, tokens) / (len(other) + len(tokens))
        if score > threshold and (best is None or score > best[0]):
            best = (score, i)
    return None if best is None else Duplicate("near", str(best[1]), round(best[0], 4))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.85, 1.0])
def test_the_rouge_l_prefilter_never_changes_the_answer(threshold: float) -> None:
    rng = random.Random(20261107 + int(threshold * 100))
    vocabulary = [f"w{i}" for i in range(40)]

    def fresh() -> list[str]:
        return [rng.choice(vocabulary) for _ in range(rng.randint(1, 14))]

    def edited(words: list[str]) -> list[str]:
        words = list(words)
        for _ in range(rng.randint(1, 4)):  # a word replaced, inserted or deleted
            at = rng.randrange(len(words) + 1)
            edit = rng.choice(("replace", "insert", "delete"))
            if edit == "insert" or not words:
                words.insert(at, rng.choice(vocabulary))
            elif edit == "replace":
                words[min(at, len(words) - 1)] = rng.choice(vocabulary)
            elif len(words) > 1:
                del words[min(at, len(words) - 1)]
        return words

    pool = [" ".join(fresh()) for _ in range(150)]
    index = DedupeIndex("rougeL", threshold=threshold)
    for i, entry in enumerate(pool):
        index.add(entry, str(i))
    queries = [
        " ".join(edited(rng.choice(pool).split()) if rng.random() < 0.6 else fresh())
        for _ in range(300)
    ]
    answers = [(index.check(q), brute_force(pool, q, threshold)) for q in queries]
    assert [got for got, _ in answers] == [want for _, want in answers]
    kinds = Counter(got.kind if got else None for got, _ in answers)
    assert kinds["exact"] > 0 and kinds[None] > 0  # every answer was put to the test
    if threshold < 1:
        assert kinds["near"] > 20
    # and the prefilter cut the work: fewer LCS than the brute force's pool x queries (far
    # fewer at the thresholds dedupe uses)
    brute = len(pool) * len(queries)
    assert index.compared < (brute // 2 if threshold >= 0.7 else brute)


def test_minhash_finds_a_one_word_change_and_not_another_question() -> None:
    index = DedupeIndex("minhash", threshold=0.7)
    base = "what is the best way to keep sourdough starter alive while on a long holiday"
    index.add(base, "source row 3")
    index.add("how do i change the oil filter in a diesel engine", "source row 4")
    found = index.check(base.replace("long", "short"))
    assert found is not None and found.kind == "near" and found.of == "source row 3"
    assert 0.7 <= found.score < 1
    assert index.check("which train goes from paris to lyon on sunday mornings") is None
    assert index.compared >= 1


def test_minhash_signatures_are_the_same_in_another_process() -> None:
    code = (
        "from ftui.core.generation.dedupe import minhash\n"
        "print(minhash(('keep', 'sourdough', 'alive'))[:4])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    from ftui.core.generation.dedupe import minhash

    assert out == str(minhash(("keep", "sourdough", "alive"))[:4])


def test_bad_dedupe_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown dedupe method 'lsh'"):
        DedupeIndex("lsh")  # type: ignore[arg-type]
    for threshold in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="above 0 and at most 1"):
            DedupeIndex("rougeL", threshold=threshold)
