"""Where the training data lives: on the device (the fast path: batches are gathered there), or in host
memory with each batch copied to the device, for data that does not fit in the device's memory."""

from __future__ import annotations

import torch

from deepfit.data import TensorData

DEVICE_SHARE = 0.5  # of the device's free memory; the rest is for the model, gradients, optimizer and activations


def data_bytes(data: TensorData) -> int:
    """The bytes `data`'s inputs and targets take."""
    return sum(t.numel() * t.element_size() for t in (data.x, data.y))


def should_stream(data: TensorData, device: torch.device, stream: bool | None, *, free: int | None = None) -> bool:
    """Whether to train from host memory: as `stream` says, or (None) when `device` is a CUDA device whose free
    memory (`free`, else read from the device) holds less than `data_bytes(data) / DEVICE_SHARE`. A CPU run
    never needs to: host and device memory are the same."""
    if stream is not None:
        return stream
    if device.type != "cuda" or data.x.device == device:
        return False
    if free is None:
        free, _ = torch.cuda.mem_get_info(device)
    return data_bytes(data) > DEVICE_SHARE * free


def place(data: TensorData, device: torch.device, streamed: bool) -> TensorData:
    """`data` on `device`, or (streamed) in host memory, pinned when the device is CUDA so that each batch's
    copy can overlap the step."""
    if not streamed:
        return data.to(device)
    host = data.to("cpu")
    if device.type == "cuda":
        return TensorData(host.x.pin_memory(), host.y.pin_memory())
    return host
