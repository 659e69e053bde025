"""A study's declaration (studies/spec.py)."""

from __future__ import annotations

from deepfit.studies.spec import KERAS, STUDIES, Study


def test_a_claim_taken_from_an_indented_docstring_is_one_clean_paragraph():
    study = Study("s", """
        Batch norm speeds up training.
          Even for deep nets.
        """, base={}, variants={"a": {}})
    assert study.claim == "Batch norm speeds up training.\n  Even for deep nets."


def test_the_defaults_are_three_reduced_and_five_full_seeds_of_a_study_page():
    study = Study("s", "c", base={}, variants={})
    assert (study.seeds, study.full_seeds, study.kind, study.claims, study.reduced, study.full) == (
        3, 5, "study", (), {}, {})


def test_the_keras_setting_turns_on_the_keras_convention():
    assert KERAS == {"conventions": {"keras": True}}


def test_every_registered_study_has_a_claim_and_variants():
    from deepfit import studies  # noqa: F401  registers the catalog

    names = STUDIES.names()
    assert len(names) >= 10
    for name in names:
        study = STUDIES.build(name)
        assert study.claim.strip() and (study.variants or study.run is not None), name
