"""The endpoint's text rules without a recogniser: numbers, vocabularies, filters, PII, scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from streaming.local.analytics import CategoryMatcher, Spoken, find_issues, sentiment_of
from streaming.local.numbers import normalize_numbers
from streaming.local.recognizer import Word, pronunciations
from streaming.local.resources import VocabularyPhrase, load_resources
from streaming.local.results import language_scores
from streaming.local.text import (
    apply_filter,
    apply_vocabulary,
    find_entities,
    finish_sentence,
    redact,
    tokens_of,
    transcript_of,
)
from streaming.proto.errors import ParameterError
from tests.helpers import ROOT


def said(text: str) -> list:
    """Words half a second apart, each 0.4 s long, confidence falling slowly."""
    return tokens_of(Word(w, i * 0.5, i * 0.5 + 0.4, 0.9 - i * 0.01) for i, w in enumerate(text.split()))


# The guide, "Transcribing numbers" (the rules table of the medical page, which the
# standard page's example follows): each row is one of its examples, "said" > "written".
GUIDE_NUMBERS = [
    ("fifty five", "55"),
    ("a hundred", "100"),
    ("one thousand and thirty one", "1031"),
    ("one hundred twenty three million four hundred fifty six thousand seven hundred eighty nine", "123,456,789"),
    ("one hundred million", "100 million"),
    ("one billion", "1 billion"),
    ("two point three million", "2.3 million"),
    ("forty third", "43rd"),
    ("twenty sixth avenue", "26th avenue"),
    ("a quarter", "1/4"),
    ("three sixteenths", "3/16"),
    ("a half", "1/2"),
    ("a hundredth", "1/100"),
    ("three four five", "345"),
    ("my phone number is four two five five five five one two one two", "my phone number is 4255551212"),
    ("three hundred and three dot five", "303.5"),
    ("three point twenty three", "3.23"),
    ("zero point four", "0.4"),
    ("point three", "0.3"),
    ("twenty three to thirty seven", "23 to 37"),  # "use 'to' for a continuous range"
    ("nineteen sixty two", "1962"),  # years said in pairs
    ("may fifth twenty twelve", "may 5th 2012"),
    # "Meet me at eight-thirty AM on June first at one-hundred Main Street with
    # three-dollars-and-fifty-cents and one-point-five chocolate bars"
    (
        "meet me at eight thirty a m on june first at one hundred main street with three dollars and fifty cents "
        "and one point five chocolate bars",
        "meet me at 8:30 a.m. on june 1st at 100 main street with $3.50 and 1.5 chocolate bars",
    ),
]
OUR_NUMBERS = [
    ("i have twenty five apples", "i have 25 apples"),
    ("i have one dog and two cats and eleven fish", "i have one dog and two cats and 11 fish"),
    ("ten apples", "ten apples"),  # cardinals greater than ten become digits; ten does not
    ("call five five five one two three four", "call 5551234"),
    ("it costs twenty dollars", "it costs $20"),
    ("fifty percent of three point five", "50% of 3.5"),
    ("a hundred and twenty three", "123"),
    ("forty five thousand people", "45,000 people"),
    ("meet at three thirty pm", "meet at 3:30 p.m."),
    ("from five to ten", "from five to ten"),
    ("three tickets", "three tickets"),
    ("the first time", "the first time"),
    ("five milligrams", "5 mg"),
    ("two hundred pounds", "£200"),
    ("a million", "1 million"),
]


@pytest.mark.parametrize(("spoken", "written"), GUIDE_NUMBERS + OUR_NUMBERS)
def test_numbers_are_written_as_the_service_writes_them(spoken: str, written: str) -> None:
    assert transcript_of(normalize_numbers(said(spoken))) == written


def test_pounds_are_a_weight_in_medical_streams() -> None:
    assert transcript_of(normalize_numbers(said("two hundred pounds"), medical=True)) == "200 lbs"


def test_months_days_and_i_are_capitalised_in_a_complete_sentence() -> None:
    tokens = finish_sentence(normalize_numbers(said("i will come on monday june first and may stay")))
    assert transcript_of(tokens) == "I will come on Monday June 1st and may stay."


def test_words_merged_into_one_item_keep_their_span_and_lowest_confidence() -> None:
    tokens = normalize_numbers(said("call five five five one two three four"))
    number = tokens[-1]
    assert (number.content, number.start, number.end) == ("5551234", 0.5, 3.9)
    assert number.confidence == pytest.approx(0.83)


def test_vocabulary_phrases_and_display_as() -> None:
    phrases = [VocabularyPhrase(("los", "angeles"), display_as="Los Angeles"), VocabularyPhrase(("quick", "brown"))]
    tokens = apply_vocabulary(said("to los angeles by quick brown fox"), phrases)
    assert [t.content for t in tokens] == ["to", "Los Angeles", "by", "quick brown", "fox"]
    assert (tokens[1].start, tokens[1].end) == (0.5, 1.4)
    # a compound the recogniser learnt comes back hyphenated: shown the same way
    assert apply_vocabulary(said("los-angeles"), phrases)[0].content == "Los Angeles"


def test_filters_mask_remove_and_tag() -> None:
    words = frozenset({"darn"})
    assert [(t.content, t.filter_match) for t in apply_filter(said("oh darn it"), words, "mask")][1] == ("***", True)
    assert transcript_of(apply_filter(said("oh darn it"), words, "remove")) == "oh it"
    assert [(t.content, t.filter_match) for t in apply_filter(said("oh darn it"), words, "tag")][1] == ("darn", True)


def test_a_complete_sentence() -> None:
    tokens = finish_sentence(said("i think so"))
    assert transcript_of(tokens) == "I think so."
    assert tokens[-1].type == "punctuation" and tokens[-1].start == tokens[-2].end


@pytest.mark.parametrize(
    ("spoken", "kind", "content"),
    [
        (
            "my card number is four one one one one one one one one one one one one one one one",
            "CREDIT_DEBIT_NUMBER",
            "4111111111111111",
        ),
        ("my phone number is five five five one two three four", "PHONE", "5551234"),
        ("my pin is one two three four", "PIN", "1234"),
        ("the cvv is one two three", "CREDIT_DEBIT_CVV", "123"),
        ("my social security number is one two three four five six seven eight nine", "SSN", "123456789"),
        ("write to john at example dot com", "EMAIL", "john at example dot com"),
        ("i live at twelve main street", "ADDRESS", "12 main street"),
        ("my name is john smith", "NAME", "john smith"),
        ("the routing number is one two three four five six seven eight nine", "BANK_ROUTING", "123456789"),
    ],
)
def test_pii_by_shape_and_context(spoken: str, kind: str, content: str) -> None:
    tokens = normalize_numbers(said(spoken))
    (entity,) = find_entities(tokens)
    assert (entity.category, entity.type, entity.content) == ("PII", kind, content)
    span = tokens[entity.first : entity.last + 1]
    assert (entity.start, entity.end) == (span[0].start, span[-1].end)
    redacted, moved = redact(tokens, [entity])
    assert "[PII]" in transcript_of(redacted) and content not in transcript_of(redacted)
    assert moved[0].content == "[PII]"


def test_no_pii_in_plain_speech() -> None:
    assert find_entities(normalize_numbers(said("the quick brown fox jumps over the lazy dog"))) == []
    assert find_entities(normalize_numbers(said("this is terrible i am angry"))) == []


def test_phi_dates_ages_and_numbers() -> None:
    tokens = normalize_numbers(said("the patient is forty two years old seen on march third"))
    found = {(e.category, e.type, e.content) for e in find_entities(tokens, category="PHI")}
    assert ("PHI", "AGE", "42") in found and ("PHI", "DATE", "march 3rd") in found


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("blood pressure one twenty over eighty", set()),  # a measurement, not an identifier
        ("take five hundred milligrams twice a day", set()),
        ("heart rate seventy two beats per minute", set()),
        ("seen by dr jones today", {("NAME", "jones")}),
        ("doctor patel will call", {("NAME", "patel")}),
        ("the medical record number is four five six seven eight nine", {("ID", "456789")}),
        ("chart number twenty two", {("ID", "22")}),
    ],
)
def test_phi_finds_names_after_titles_and_identifiers_but_not_measurements(spoken: str, expected: set) -> None:
    found = {(e.type, e.content) for e in find_entities(normalize_numbers(said(spoken), medical=True), category="PHI")}
    assert found == expected


def test_language_scores_say_what_the_recogniser_can_tell() -> None:
    code, scores = language_scores(["fr-FR", "de-DE"], None, 0.9)
    assert scores == {"fr-FR": 0.5, "de-DE": 0.5} and code == "fr-FR"
    code, scores = language_scores(["fr-FR", "en-GB"], None, 0.9)
    assert code == "en-GB" and scores["en-GB"] == 0.9 and scores["fr-FR"] == pytest.approx(0.1)
    code, _ = language_scores(["en-US", "en-GB"], "en-GB", 0.8)
    assert code == "en-GB"  # dialects cannot be told apart: the preferred one wins the tie


def test_sentiment_and_issues() -> None:
    assert sentiment_of("thank you so much that was great") == "POSITIVE"
    assert sentiment_of("this is a terrible problem") == "NEGATIVE"
    assert sentiment_of("the meeting is on tuesday") == "NEUTRAL"
    text = "Hello. My order never arrived, and I want a refund."
    spans = find_issues(text)
    assert [text[b:e] for b, e in spans] == ["My order never arrived", "I want a refund"]
    assert find_issues("Thank you for calling.") == []


def test_categories_match_once_with_roles_ranges_and_negation() -> None:
    resources = load_resources(
        {
            "CallAnalyticsCategories": [
                {
                    "CategoryName": "a",
                    "Rules": [{"TranscriptFilter": {"Targets": ["refund"], "ParticipantRole": "CUSTOMER"}}],
                },
                {
                    "CategoryName": "b",
                    "Rules": [
                        {
                            "SentimentFilter": {
                                "Sentiments": ["NEGATIVE"],
                                "AbsoluteTimeRange": {"StartTime": 0, "EndTime": 1000},
                            }
                        }
                    ],
                },
                {"CategoryName": "c", "Rules": [{"TranscriptFilter": {"Targets": ["sorry"], "Negate": True}}]},
                {
                    "CategoryName": "d",
                    "Rules": [{"TranscriptFilter": {"Targets": ["bye"], "AbsoluteTimeRange": {"Last": 2000}}}],
                },
            ]
        }
    )
    matcher = CategoryMatcher(resources.categories)
    assert matcher.add(Spoken("AGENT", "A refund?", "NEUTRAL", 0, 500)) is None  # wrong participant
    event = matcher.add(Spoken("CUSTOMER", "I want a refund.", "NEGATIVE", 2000, 3000))
    assert event is not None and event.matched_categories == ("a",)  # b's range has passed
    assert matcher.add(Spoken("CUSTOMER", "A refund!", "NEGATIVE", 4000, 5000)) is None  # reported once
    matcher.add(Spoken("AGENT", "Bye.", "NEUTRAL", 9000, 9500))
    final = matcher.finish(10_000)
    assert final is not None and set(final.matched_categories) == {"c", "d"}
    assert final.matched_details["d"].timestamp_ranges[0].begin_offset_millis == 9000


def test_a_relative_time_range_is_a_share_of_the_whole_call() -> None:
    def rule(span: dict[str, int]) -> dict[str, object]:
        return {"TranscriptFilter": {"Targets": ["refund"], "RelativeTimeRange": span}}

    resources = load_resources(
        {
            "CallAnalyticsCategories": [
                {"CategoryName": "first-10", "Rules": [rule({"First": 10})]},
                {"CategoryName": "last-10", "Rules": [rule({"Last": 10})]},
                {"CategoryName": "middle", "Rules": [rule({"StartPercentage": 40, "EndPercentage": 60})]},
            ]
        }
    )
    matcher = CategoryMatcher(resources.categories)
    assert matcher.add(Spoken("CUSTOMER", "I want a refund.", "NEUTRAL", 50_000, 52_000)) is None  # not before the end
    final = matcher.finish(100_000)
    assert final is not None and final.matched_categories == ("middle",)  # halfway: not the first or last tenth
    early = CategoryMatcher(resources.categories)
    early.add(Spoken("CUSTOMER", "A refund.", "NEUTRAL", 3_000, 4_000))
    done = early.finish(100_000)
    assert done is not None and done.matched_categories == ("first-10",)


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"Vocabularies": [{"VocabularyName": "v", "LanguageCode": "en-US"}]}, "exactly one of Phrases"),
        ({"Vocabularies": [{"VocabularyName": "v", "LanguageCode": "en-US", "Phrases": ["a b!"]}]}, "Phrases[0]"),
        ({"VocabularyFilters": [{"VocabularyFilterName": "f", "LanguageCode": "en-US", "Words": []}]}, "Words"),
        (
            {"CallAnalyticsCategories": [{"CategoryName": "c", "Rules": [{"InterruptionFilter": {}}]}]},
            "not matched in real time",
        ),
        (
            {
                "CallAnalyticsCategories": [
                    {"CategoryName": "c", "Rules": [{"SentimentFilter": {"Sentiments": ["HAPPY"]}}]}
                ]
            },
            "Sentiments",
        ),
        (  # found by fuzz_resources: a mapping in the list was an unhashable TypeError
            {
                "CallAnalyticsCategories": [
                    {"CategoryName": "c", "Rules": [{"SentimentFilter": {"Sentiments": [{"a": 1}]}}]}
                ]
            },
            "Sentiments",
        ),
        ({"LanguageModels": [{"ModelName": "m", "LanguageCode": "en-US", "BaseModelName": "Huge"}]}, "BaseModelName"),
        (
            {
                "CallAnalyticsCategories": [
                    {
                        "CategoryName": "c",
                        "Rules": [{"TranscriptFilter": {"Targets": ["x"], "RelativeTimeRange": {"First": 101}}}],
                    }
                ]
            },
            "RelativeTimeRange.First must be one of StartPercentage, EndPercentage, First, Last: 0..100",
        ),
        (
            {
                "CallAnalyticsCategories": [
                    {
                        "CategoryName": "c",
                        "Rules": [
                            {
                                "TranscriptFilter": {
                                    "Targets": ["x"],
                                    "RelativeTimeRange": {"First": 10},
                                    "AbsoluteTimeRange": {"First": 10},
                                }
                            }
                        ],
                    }
                ]
            },
            "not both",
        ),
        (
            {
                "CallAnalyticsCategories": [
                    {"CategoryName": "c", "Rules": [{"TranscriptFilter": {"Targets": ["x"], "Negated": True}}]}
                ]
            },
            "TranscriptFilter has no 'Negated'",
        ),
        (
            {"VocabularyFilters": [{"VocabularyFilterName": "f", "LanguageCode": "en-US", "Words": ["x"]}] * 2},
            "defined twice",
        ),
    ],
)
def test_resources_are_checked_when_loaded(document: dict, needle: str) -> None:
    with pytest.raises(ParameterError, match="resources") as info:
        load_resources(document)
    assert needle in str(info.value)


def test_resources_files_in_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "VocabularyFilters:\n  - VocabularyFilterName: mine\n    LanguageCode: en-US\n    Words: [heck]\n"
    )
    (tmp_path / "r.json").write_text(json.dumps({"LanguageModels": [{"ModelName": "lm", "LanguageCode": "en-US"}]}))
    assert "mine" in load_resources(tmp_path / "r.yaml").filters
    loaded = load_resources(tmp_path / "r.json")
    assert "lm" in loaded.language_models
    assert not loaded.vocabularies and not loaded.categories  # no built-in example unless asked for
    examples = load_resources("example")
    assert "example-vocabulary" in examples.vocabularies and [c.name for c in examples.categories] == [
        "example-category"
    ]
    assert load_resources(None) == load_resources({})
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(ParameterError, match="not valid YAML") as info:
        load_resources(tmp_path / "bad.yaml")
    assert "\n" not in str(info.value)  # the CLI prints errors on one line


def test_pronunciations_from_sounds_like_ipa_and_words() -> None:
    dictionary = {"stream": "S T R IY M", "scribe": "S K R AY B", "los": "L OW S", "angeles": "AE N JH AH L IH S"}
    phrases = [
        VocabularyPhrase(("streamscribe",), sounds_like=("stream", "scribe")),
        VocabularyPhrase(("zed",), ipa=("z", "ɛ", "d")),
        VocabularyPhrase(("los", "angeles")),
        VocabularyPhrase(("unknown",)),  # no way to say it: left out
        VocabularyPhrase(("zork",), sounds_like=("zork",)),  # a syllable the dictionary lacks: left out
    ]
    assert pronunciations(dictionary.get, phrases) == [
        ("streamscribe", "S T R IY M S K R AY B"),
        ("zed", "Z EH D"),
        ("los-angeles", "L OW S AE N JH AH L IH S"),
    ]


def test_the_documented_example_resources_load() -> None:
    resources = load_resources(ROOT / "docs" / "examples" / "resources.yaml")
    assert {"product-names", "short-list"} <= set(resources.vocabularies)
    assert [c.name for c in resources.categories] == ["unhappy-customer", "polite-opening", "no-apology"]
    zed = next(p for p in resources.vocabularies["product-names"].phrases if p.words == ("zed",))
    assert pronunciations(lambda word: None, [zed]) == [("zed", "Z EH D")]


def _tone(hz: float, seconds: float = 1.0) -> bytes:
    """A voiced-like signal: a pulse train's first harmonics at ``hz``, 16 kHz s16le."""
    import math
    from array import array

    n = int(16000 * seconds)
    wave = array(
        "h", (int(6000 * sum(math.sin(2 * math.pi * hz * k * i / 16000) / k for k in (1, 2, 3))) for i in range(n))
    )
    return wave.tobytes()


@pytest.mark.parametrize("hz", [95.0, 130.0, 180.0, 240.0])
def test_pitch_of_a_voiced_signal(hz: float) -> None:
    from streaming.local.voice import pitch

    measured = pitch(_tone(hz))
    assert measured is not None and abs(measured - hz) / hz < 0.05


def test_silence_and_noise_have_no_pitch() -> None:
    import random

    from streaming.local.voice import pitch

    assert pitch(bytes(32000)) is None
    noise = random.Random(7)
    assert pitch(b"".join(noise.randbytes(2) for _ in range(16000))) is None


@pytest.mark.parametrize(
    ("words", "labels"),
    [
        ([100.0, 102.0, None, 180.0, 185.0, None], ["0", "0", "0", "1", "1", "1"]),  # a change inside
        ([100.0, 180.0, 101.0, 99.0], ["0", "0", "0", "0"]),  # one word alone is no new speaker
        ([None, 181.0, 179.0, 100.0, 98.0], ["0", "0", "0", "1", "1"]),  # in order of appearance
        ([None, None], ["0", "0"]),  # nothing voiced: the utterance's voice
    ],
)
def test_a_label_per_word_where_the_voice_changes_inside_a_segment(words: list, labels: list) -> None:
    from streaming.local.voice import Speakers

    assert Speakers().labels(150.0, words) == labels


def test_speakers_by_pitch() -> None:
    from streaming.local.voice import Speakers

    speakers = Speakers()
    assert [speakers.label(hz) for hz in (100.0, 105.0, 180.0, None, 96.0, 250.0)] == ["0", "0", "1", "1", "0", "2"]


BILLION_LAUGHS = """\
TranscriptionJobs:
  - TranscriptionJobName: bomb
    TranscriptionJobStatus: COMPLETED
    Settings:
      a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
      i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bomb.yaml", BILLION_LAUGHS, "uses a YAML alias (line 6)"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("deep.yaml", "[" * 100_000 + "]" * 100_000, "maximum nesting depth|nests too deeply"),  # libyaml: 1000
        ("big.json", '{"Vocabularies": []}' + " " * (16 * 1024 * 1024), "is over 16 MiB"),
    ],
)
def test_resource_files_that_would_eat_the_endpoint_are_refused(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ParameterError, match="resources") as info:
        load_resources(path)
    assert re.search(needle.replace("(", r"\(").replace(")", r"\)"), str(info.value))


def test_only_the_job_lists_of_a_resources_file_are_kept_raw() -> None:
    document = {
        "Vocabularies": [{"VocabularyName": "v", "LanguageCode": "en-US", "Phrases": ["fox"]}],
        "TranscriptionJobs": [{"TranscriptionJobName": "j", "TranscriptionJobStatus": "COMPLETED"}],
    }
    assert dict(load_resources(document).raw) == {"TranscriptionJobs": document["TranscriptionJobs"]}


def test_a_vocabulary_phrase_given_twice_is_added_once() -> None:
    from streaming.local.recognizer import pronunciations
    from streaming.local.resources import VocabularyPhrase

    phrases = [VocabularyPhrase(("quick", "fox"))] * 20_000 + [VocabularyPhrase(("lazy", "dog"))]
    added = pronunciations(
        lambda w: {"quick": "K W IH K", "fox": "F AA K S", "lazy": "L EY Z IY", "dog": "D AO G"}.get(w), phrases
    )
    assert added == [("quick-fox", "K W IH K F AA K S"), ("lazy-dog", "L EY Z IY D AO G")]
