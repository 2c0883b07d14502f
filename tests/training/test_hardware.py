"""The machine description that run records carry (the zoo's hardware column)."""

import os

from ferkit.training.hardware import cpu_name, describe_hardware


def test_cpu_runs_name_the_cpu_and_its_core_count():
    text = describe_hardware("cpu")
    assert text == f"CPU {cpu_name()} x{os.cpu_count()}" and cpu_name().strip()


def test_a_cuda_request_without_a_gpu_describes_the_cpu_it_falls_back_to(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert describe_hardware("cuda", shared=True) == describe_hardware("cpu")


def test_a_present_gpu_is_named_and_sharing_is_said(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H200")
    assert describe_hardware("cuda") == "NVIDIA H200"
    assert describe_hardware("cuda", shared=True) == "NVIDIA H200 (shared by the parallel runs)"
