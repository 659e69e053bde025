import json

import numpy as np
from tests.conftest import make_blobs

from deepfit.config import config_from_dict
from deepfit.run import load_run_config, run_training
from deepfit.train.checkpoint import MANIFEST

SMALL = {"model": {"hidden": [8]}, "train": {"epochs": 1, "engine": "eager"}}



def test_a_run_from_before_data_split_resumes_with_its_first_rows_split_and_no_test(tmp_path):
    x, y = make_blobs(200)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    cfg = config_from_dict({**SMALL, "out": str(tmp_path / "runs"), "data": {
        "name": "npz", "path": str(tmp_path / "d.npz"), "valid": 30}})
    run = run_training(cfg).run_dir
    old = [line for line in (run / "config.toml").read_text().splitlines()  # as written before data.split existed
           if not line.startswith(("split =", "test ="))]
    (run / "config.toml").write_text("\n".join(old).replace("epochs = 1", "epochs = 2") + "\n")
    manifest = json.loads((run / "checkpoint" / MANIFEST).read_text())
    meta = manifest["state"]["callbacks"]["Checkpoint"]["meta"]
    meta["config"] = "\n".join(line for line in meta["config"].splitlines()
                               if not line.startswith(("split =", "test =")))
    (run / "checkpoint" / MANIFEST).write_text(json.dumps(manifest))
    result = run_training(load_run_config(run), run_dir=run, resume=True)
    assert result.metrics["validation_split"]["method"] == "first" and "test" not in result.metrics["samples"]
    assert result.metrics["resumes"][0]["from_epoch"] == 1


def test_a_checkpoint_that_records_its_split_or_a_new_run_is_left_as_it_is():
    from deepfit.run.resumed import as_written

    cfg = config_from_dict({})
    assert as_written(cfg, None) is cfg
    state = {"callbacks": {"Checkpoint": {"meta": {"config": '[data]\nsplit = "stratified"\n'}}}}
    assert as_written(cfg, state) is cfg
    old = {"callbacks": {"Checkpoint": {"meta": {"config": "[data]\nvalid = 30\n"}}}}
    assert (as_written(cfg, old).data.split, as_written(cfg, old).data.test) == ("first", 0)
