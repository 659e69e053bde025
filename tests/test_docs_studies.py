"""docs/studies.md is what `deepfit study docs docs/studies` generates from the committed study directories."""

from pathlib import Path

from deepfit.studies.collection import studies_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_the_studies_page_is_generated_from_the_study_directories_not_edited():
    page = ROOT / "docs" / "studies.md"
    assert page.exists(), "docs/studies.md is missing: run `deepfit study docs docs/studies`"
    expected = studies_markdown([ROOT / "docs" / "studies"], relative_to=ROOT / "docs")
    assert page.read_text() == expected, "docs/studies.md differs from its study directories: run `deepfit study docs`"
