import numpy as np
import pytest

from deepfit.data import DATASETS
from deepfit.errors import ConfigError, DataError


def _csv(tmp_path, text: str):
    path = tmp_path / "table.csv"
    path.write_text(text)
    return path


def test_npz_reads_train_test_and_class_names(tmp_path):
    path = tmp_path / "d.npz"
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.savez(path, x_train=x, y_train=[0, 1, 1], x_test=x[:2], y_test=[1, 0], class_names=["no", "yes"])
    raw = DATASETS.build("npz", path=path)
    np.testing.assert_array_equal(raw.x_train, x)
    np.testing.assert_array_equal(raw.y_test, [1, 0])
    assert raw.class_names == ["no", "yes"]


def test_npz_without_test_arrays_has_no_test_split(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.zeros((2, 3)), y_train=[0, 1])
    raw = DATASETS.build("npz", path=path)
    assert raw.x_test is None and raw.y_test is None and raw.class_names is None


def test_npz_missing_key_names_file_and_keys_found(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 3)), y_train=[0, 1])
    with pytest.raises(DataError, match=r"d\.npz: expected arrays x_train and y_train .* found keys: X, y_train"):
        DATASETS.build("npz", path=path)


def test_npz_with_x_test_but_no_y_test_is_an_error(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.zeros((2, 3)), y_train=[0, 1], x_test=np.zeros((1, 3)))
    with pytest.raises(DataError, match="found keys: x_test, x_train, y_train"):
        DATASETS.build("npz", path=path)


def test_npz_that_is_not_an_archive_names_the_file(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"d\.npz: not a readable \.npz archive"):
        DATASETS.build("npz", path=path)


@pytest.mark.parametrize("name", ["npz", "csv"])
def test_file_sources_name_a_missing_path(tmp_path, name):
    with pytest.raises(DataError, match=rf"{name} file .*absent\.{name} not found"):
        DATASETS.build(name, path=tmp_path / f"absent.{name}")


@pytest.mark.parametrize("name", ["npz", "csv"])
def test_file_sources_need_a_path(name):
    with pytest.raises(ConfigError, match=f"dataset '{name}' needs a file"):
        DATASETS.build(name)


def test_csv_uses_the_column_named_label_wherever_it_is(tmp_path):
    raw = DATASETS.build("csv", path=_csv(tmp_path, "a,label,b\n1,0,2\n3,1,4.5\n"))
    np.testing.assert_array_equal(raw.x_train, [[1, 2], [3, 4.5]])
    np.testing.assert_array_equal(raw.y_train, [0, 1])
    assert raw.x_test is None


def test_csv_without_label_column_uses_the_first_column(tmp_path):
    raw = DATASETS.build("csv", path=_csv(tmp_path, "target,a,b\n7,1,2\n8,3,4\n"))
    np.testing.assert_array_equal(raw.y_train, [7, 8])
    np.testing.assert_array_equal(raw.x_train, [[1, 2], [3, 4]])


def test_csv_label_column_option_picks_the_named_column(tmp_path):
    raw = DATASETS.build("csv", path=_csv(tmp_path, "a,b,price\n1,2,9.5\n"), label_column="price")
    np.testing.assert_array_equal(raw.y_train, [9.5])
    np.testing.assert_array_equal(raw.x_train, [[1, 2]])


def test_csv_unknown_label_column_lists_the_columns(tmp_path):
    with pytest.raises(DataError, match="no column named 'price'; columns: a, b"):
        DATASETS.build("csv", path=_csv(tmp_path, "a,b\n1,2\n"), label_column="price")


def test_csv_non_numeric_cell_names_file_line_column_and_value(tmp_path):
    path = _csv(tmp_path, "label,a,b\n0,1,2\n1,oops,3\n")
    with pytest.raises(DataError, match=r"table\.csv, line 3, column 'a': expected a number, found 'oops'"):
        DATASETS.build("csv", path=path)


def test_csv_row_with_wrong_cell_count_names_its_line(tmp_path):
    path = _csv(tmp_path, "label,a,b\n0,1,2\n1,3\n")
    with pytest.raises(DataError, match=r"line 3: expected 3 cells as in the header, found 2"):
        DATASETS.build("csv", path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a header row"),
        ("label,a\n", "expected data rows after the header"),
        ("label\n1\n", "expected a label column and at least one feature column"),
    ],
)
def test_csv_without_usable_rows_or_columns_is_an_error(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        DATASETS.build("csv", path=_csv(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "line"), [("label,caf\xe9\n0,1.0\n1,2.0\n", 1), ("label,a\n0,1.0\n1,2.0\xe9\n", 3)]
)
def test_a_latin1_csv_names_the_line_and_byte_that_are_not_utf8(tmp_path, text, line):
    path = tmp_path / "l.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=rf"l\.csv, line {line}: not UTF-8 text \(byte 0xe9\); expected a UTF-8"):
        DATASETS.build("csv", path=path)


def test_csv_reads_a_text_label_column_as_names_and_says_which_column_it_was(tmp_path):
    path = _csv(tmp_path, 'radius,diagnosis\n1.5,malignant\n0.5, benign\n0.7,"benign"\n')
    raw = DATASETS.build("csv", path=path, label_column="diagnosis")
    assert raw.y_train.tolist() == ["malignant", "benign", "benign"] and raw.label_column == "diagnosis"
    np.testing.assert_array_equal(raw.x_train, [[1.5], [0.5], [0.7]])


def test_csv_with_text_labels_still_names_a_bad_feature_cell(tmp_path):
    path = _csv(tmp_path, "diagnosis,radius\nmalignant,1.5\nbenign,oops\n")
    with pytest.raises(DataError, match=r"table\.csv, line 3, column 'radius': expected a number, found 'oops'"):
        DATASETS.build("csv", path=path, label_column="diagnosis")


def test_the_unnamed_row_index_pandas_writes_is_left_out_of_the_features(tmp_path):
    path = _csv(tmp_path, ",width,height,kind\n0,1.5,2.0,cat\n1,0.5,3.0,dog\n2,2.5,1.0,cat\n")
    with pytest.warns(UserWarning, match="row index pandas writes"):
        raw = DATASETS.build("csv", path=path, label_column="kind")
    assert raw.x_train.tolist() == [[1.5, 2.0], [0.5, 3.0], [2.5, 1.0]]


def test_an_unnamed_first_column_that_is_not_a_row_index_stays_a_feature(tmp_path):
    path = _csv(tmp_path, ",width,kind\n5,1.5,cat\n1,0.5,dog\n2,2.5,cat\n")
    raw = DATASETS.build("csv", path=path, label_column="kind")
    assert raw.x_train.tolist() == [[5.0, 1.5], [1.0, 0.5], [2.0, 2.5]]
