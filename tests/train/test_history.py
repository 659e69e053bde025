from deepfit.train import History


def test_history_prints_its_length_and_last_row():
    history = History([{"epoch": 1, "loss": 0.91234, "acc": 0.7, "lr": 1e-3, "epoch_time_s": 1.25},
                       {"epoch": 2, "loss": 0.51234, "acc": 0.8, "val_loss": 0.6, "lr": 5e-4, "epoch_time_s": 1.5}])
    assert repr(history) == ("History(2 epochs; last: epoch 2  loss 0.5123  acc 0.8  val_loss 0.6  lr 0.0005  "
                             "epoch_time_s 1.5)")
    assert repr(History()) == "History(0 epochs)"
    assert repr(History(history.rows[:1])).startswith("History(1 epoch; last: epoch 1  loss 0.9123")
