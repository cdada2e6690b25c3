import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_lab.data import DeviceLoader, make_synthetic
from resnet_lab.models import resnet
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import autocast_dtype, evaluate, fit, pick_device


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=256, n_test=64)


def recipe(steps, **changes):
    """The paper's recipe (He et al. 2015), `steps` long, on batches of 32 (the synthetic set has 256 images)."""
    return dataclasses.replace(HE2015_CIFAR, **{"steps": steps, "batch_size": 32, **changes})


def small_net(seed=0, **kwargs):
    torch.manual_seed(seed)
    return resnet(8, width=4, in_channels=1, num_classes=4, **kwargs)


def test_fit_learns_and_records_every_step(data):
    model = small_net()
    before, _ = evaluate(model, data.test_images, data.test_labels)
    history = fit(model, data, recipe(30), progress=False, label="res-8")
    assert history.steps == list(range(1, 31))
    assert len(history.loss) == len(history.accuracy) == len(history.lr) == 30
    assert history.stop_reason == "finished" and history.label == "res-8"
    assert history.eval_steps == [30] and history.test_loss[-1] < before
    assert history.test_accuracy[-1] > 0.9  # noisy fixed patterns: easy
    assert history.images == 30 * 32 and history.images_per_second > 0


def test_same_seed_same_losses_other_seed_other_losses(data):
    a = fit(small_net(), data, recipe(10), seed=1, progress=False)
    b = fit(small_net(), data, recipe(10), seed=1, progress=False)
    c = fit(small_net(), data, recipe(10), seed=2, progress=False)
    assert a.loss == b.loss
    assert a.loss != c.loss


def test_paper_schedule_divides_lr_by_10_at_32k_and_48k_of_64k_and_fit_follows_it(data):
    # He et al. 2015, Section 4.2: 0.1, /10 at 32k and 48k of 64k iterations.
    lrs = [HE2015_CIFAR.lr_at(s) for s in (0, 31_999, 32_000, 47_999, 48_000, 63_999)]
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    history = fit(small_net(), data, recipe(8), progress=False, eval_at_end=False)
    assert history.lr == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)  # the same fractions of 8 steps


def test_warmup_trains_at_warmup_lr_first(data):
    # He et al. 2015: ResNet-110 starts at 0.01 for ~400 iterations, then 0.1.
    history = fit(small_net(), data, recipe(10, warmup_steps=4, milestones=(0.8,)), progress=False, eval_at_end=False)
    assert history.lr == pytest.approx([0.01] * 4 + [0.1] * 4 + [0.01] * 2)


@pytest.mark.parametrize("change", [dict(momentum=0.5), dict(weight_decay=0.05), dict(nesterov=True)])
def test_the_recipe_s_optimiser_settings_reach_training(data, change):
    same = fit(small_net(), data, recipe(3), progress=False, eval_at_end=False)
    changed = fit(small_net(), data, recipe(3, **change), progress=False, eval_at_end=False)
    assert changed.loss[0] == same.loss[0] and changed.loss[1:] != same.loss[1:]  # the steps differ, not the start


def test_label_smoothing_is_the_loss_that_is_minimised(data):
    model = small_net()
    x, y = DeviceLoader.for_training(data, 32).batch(0)  # fit's first batch (seed 0)
    expected = F.cross_entropy(small_net()(x), y, label_smoothing=0.2).item()  # a fresh twin, in training mode
    history = fit(model, data, recipe(1, label_smoothing=0.2), progress=False, eval_at_end=False)
    assert history.loss[0] == pytest.approx(expected, rel=1e-6)
    assert history.loss[0] != pytest.approx(F.cross_entropy(small_net()(x), y).item(), rel=1e-3)


def test_gradient_clipping_bounds_the_step(data):
    """Plain SGD (no momentum, no weight decay) moves the weights by lr times the clipped gradient: norm lr * clip."""
    model = small_net()
    before = [p.detach().clone() for p in model.parameters()]
    clipped = recipe(1, momentum=0.0, weight_decay=0.0, grad_clip=0.01)
    fit(model, data, clipped, progress=False, eval_at_end=False)
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)]).norm().item()
    assert moved == pytest.approx(0.1 * 0.01, rel=1e-3)


def test_periodic_evaluation(data):
    history = fit(small_net(), data, recipe(10), eval_every=4, progress=False)
    assert history.eval_steps == [4, 8, 10]
    assert len(history.train_loss) == len(history.test_accuracy) == 3
    history = fit(small_net(), data, recipe(3), eval_at_end=False, progress=False)
    assert history.eval_steps == []


def test_resume_reproduces_uninterrupted_losses(data, tmp_path):
    model_kwargs = dict(dropout=0.2)  # dropout: the random state must be restored too
    full = fit(small_net(**model_kwargs), data, recipe(12), progress=False)

    def interrupt_after_7(history):
        if len(history.steps) == 7 and not history.stop_reason:
            raise KeyboardInterrupt  # what the Jupyter stop button sends

    path = tmp_path / "run.pt"
    first = fit(
        small_net(**model_kwargs),
        data,
        recipe(12),
        progress=False,
        checkpoint=path,
        checkpoint_every=5,
        callbacks=[interrupt_after_7],
    )
    assert first.stop_reason == "interrupted" and len(first.steps) == 7
    # A new session: a fresh model (other init), the same call; it picks up at step 7.
    second = fit(
        small_net(seed=99, **model_kwargs),
        data,
        recipe(12),
        progress=False,
        checkpoint=path,
        checkpoint_every=5,
    )
    assert second.steps == full.steps
    assert second.loss == full.loss
    assert second.test_loss[-1] == full.test_loss[-1]


def test_checkpoint_loads_with_weights_only(data, tmp_path):
    path = tmp_path / "run.pt"
    fit(small_net(), data, recipe(3), progress=False, checkpoint=path)
    state = torch.load(path, weights_only=True)
    assert set(state) >= {"model", "optimizer", "history", "cpu_rng"}
    assert state["history"]["steps"] == [1, 2, 3]
    assert not (tmp_path / "run.pt.tmp").exists()


class NaNAfter(nn.Module):
    """Wraps a model; from training-mode forward call number `n` on, its output is NaN."""

    def __init__(self, model, n):
        super().__init__()
        self.model, self.n, self.calls = model, n, 0

    def forward(self, x):
        self.calls += self.training
        out = self.model(x)
        return out * math.nan if self.calls >= self.n else out


def test_non_finite_loss_stops_with_a_message_and_keeps_the_last_good_weights(data):
    model = NaNAfter(small_net(), n=6)
    snapshots = []
    with pytest.warns(UserWarning, match="non-finite loss"):
        history = fit(
            model,
            data,
            recipe(20),
            progress=False,
            eval_at_end=False,
            callbacks=[lambda h: snapshots.append({k: v.clone() for k, v in model.state_dict().items()})],
        )
    assert "step 6" in history.stop_reason and "lr" in history.stop_reason
    assert len(history.steps) == 5 and all(math.isfinite(v) for v in history.loss)
    after_step_5 = snapshots[4]
    for name, value in model.state_dict().items():
        assert torch.equal(value, after_step_5[name]), name


def test_keyboard_interrupt_returns_the_partial_history(data):
    def stop_at_3(history):
        if len(history.steps) == 3 and not history.stop_reason:
            raise KeyboardInterrupt

    history = fit(small_net(), data, recipe(50), progress=False, callbacks=[stop_at_3])
    assert history.stop_reason == "interrupted" and history.steps == [1, 2, 3]
    assert history.eval_steps == [3]  # still evaluated, so the learner sees where it got to


def test_callback_returning_true_stops_and_callbacks_see_the_end(data):
    seen = []

    def record(history):
        seen.append((len(history.steps), history.stop_reason))
        return len(history.steps) >= 4

    history = fit(small_net(), data, recipe(50), progress=False, callbacks=[record])
    assert history.stop_reason == "stopped by callback"
    assert seen[-1] == (4, "stopped by callback") and seen[-2] == (4, "")


def test_every_callback_runs_every_step_and_a_stop_waits_for_all(data):
    """A callback asking to stop does not skip the callbacks after it (a live plot, a probe log...)."""
    seen = {"first": [], "second": []}

    def first(history):
        seen["first"].append((len(history.steps), history.stop_reason))
        return len(history.steps) >= 3

    def second(history):
        seen["second"].append((len(history.steps), history.stop_reason))

    history = fit(small_net(), data, recipe(10), progress=False, eval_at_end=False, callbacks=[first, second])
    assert history.stop_reason == "stopped by callback" and len(history.steps) == 3
    expected = [(1, ""), (2, ""), (3, ""), (3, "stopped by callback")]
    assert seen["first"] == expected and seen["second"] == expected


def test_progress_bar_counts_every_step_and_closes(data, capsys):
    from resnet_lab.train import ProgressBar

    bars = []
    original = ProgressBar.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        bars.append(self)

    ProgressBar.__init__ = keep
    try:
        fit(small_net(), data, recipe(3), progress=True, label="bar")
    finally:
        ProgressBar.__init__ = original
    (bar,) = bars
    assert bar.bar.n == 3 and bar.bar.total == 3
    assert bar.bar.disable  # tqdm's mark of a closed bar
    assert "bar" in capsys.readouterr().err


def test_bfloat16_autocast_and_channels_last_on_cpu(data):
    # The CUDA code paths (autocast, channels_last), exercised on the CPU.
    reference = fit(small_net(), data, recipe(15), progress=False)
    mixed = fit(small_net(), data, recipe(15), progress=False, amp=True, channels_last=True)
    assert all(math.isfinite(v) for v in mixed.loss)
    assert mixed.loss != reference.loss  # it really ran in bfloat16...
    assert mixed.loss[-1] < mixed.loss[0]  # ...and still learned
    assert abs(mixed.test_accuracy[-1] - reference.test_accuracy[-1]) < 0.1


def test_channels_last_alone_matches_float32_closely(data):
    from resnet_lab.train import uses_channels_last

    net = small_net()
    a = fit(small_net(), data, recipe(5), progress=False, eval_at_end=False)
    b = fit(net, data, recipe(5), progress=False, eval_at_end=False, channels_last=True)
    assert uses_channels_last(net)  # it really trained in channels_last...
    assert a.loss == pytest.approx(b.loss, rel=1e-4)  # ...to the same losses


def test_device_selection_prefers_cuda_then_mps_then_cpu(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")


@pytest.mark.parametrize(
    "capability,expected",
    [
        ((7, 5), torch.float16),  # Colab's T4: bf16 only through slow emulation, so float16 + loss scaling
        ((7, 0), torch.float16),  # V100
        ((8, 0), torch.bfloat16),  # A100: native bf16
        ((8, 9), torch.bfloat16),  # L4
        ((9, 0), torch.bfloat16),  # H100
    ],
)
def test_autocast_uses_bfloat16_only_on_gpus_that_have_it_natively(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 answers too
    cuda = torch.device("cuda")
    assert autocast_dtype(cuda, None) == expected and autocast_dtype(cuda, True) == expected
    assert autocast_dtype(cuda, False) is None  # float32 on request


def test_autocast_on_cpu_only_on_request():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, None) is None and autocast_dtype(cpu, True) == torch.bfloat16


@pytest.mark.parametrize(
    "the_recipe,kwargs,message",
    [
        (recipe(5, batch_size=10_000), {}, "batch_size=10000 is not valid: it must be an integer from 1 to"),
        (recipe(5), dict(eval_every=-1), "eval_every=-1 is not valid: it must be an integer >= 0"),
        (recipe(5), dict(checkpoint_every=5), "checkpoint_every=5 needs a checkpoint path"),
        ({"steps": 5}, {}, "recipe={'steps': 5} is not valid: give a Recipe"),
    ],
)
def test_bad_arguments_raise_before_training(data, the_recipe, kwargs, message):
    model = small_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit(model, data, the_recipe, progress=False, **kwargs)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_torch_compile_path_gives_the_same_losses_on_cpu(data):
    # The gpu profile compiles the model; on a CPU the compiled net must train identically. A net of one
    # convolution, batch norm and a linear layer has every kind of layer the CIFAR nets have, and compiles fastest.
    def conv_bn_net():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 4),
        )

    from torch._dynamo.utils import counters

    eager = fit(conv_bn_net(), data, recipe(2), progress=False, eval_at_end=False)
    counters.clear()
    compiled = fit(conv_bn_net(), data, recipe(2), progress=False, eval_at_end=False, compile=True)
    assert counters["stats"]["unique_graphs"] >= 1  # the steps really ran through torch.compile
    assert compiled.loss == pytest.approx(eager.loss, rel=1e-4)


def test_a_model_for_other_images_is_refused_before_training(data):
    # synthetic data: 1-channel 8x8 images, 4 classes
    with pytest.raises(
        ValueError,
        match=r"model does not accept the images of data='synthetic' \(shape \(1, 8, 8\)\): "
        r"build it with in_channels=1",
    ):
        fit(resnet(8, width=4, in_channels=3, num_classes=4), data, recipe(2), progress=False)


def test_a_model_with_too_few_outputs_is_refused_before_training(data):
    model = resnet(8, width=4, in_channels=1, num_classes=3)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(
        ValueError,
        match=r"model gives \(3,\) outputs per image, but data='synthetic' has 4 classes: "
        r"build it with num_classes=4",
    ):
        fit(model, data, recipe(2), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # nothing was trained


def test_channels_last_where_the_benchmark_found_it_faster():
    # benchmarks/memory_format.py measures where channels_last is faster on a CPU: 32x32 images, not 8x8 or 16x16.
    from resnet_lab.train import channels_last_pays

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert channels_last_pays(cpu, 32) and not channels_last_pays(cpu, 8) and not channels_last_pays(cpu, 16)
    assert channels_last_pays(cuda, 8)
    big = make_synthetic(n_train=64, n_test=16, channels=3, size=32)
    model = resnet(8, width=4, num_classes=4)
    fit(model, big, recipe(1), progress=False, eval_at_end=False)
    assert (
        model.conv1.weight.is_contiguous(memory_format=torch.channels_last) and not model.conv1.weight.is_contiguous()
    )


class FakeClock:
    """Stands in for time.perf_counter: it moves only when a test moves it (nothing here reads real time)."""

    def __init__(self, monkeypatch, step_seconds: float = 1.0):
        """Every training step takes `step_seconds` on this clock."""
        import resnet_lab.train as train

        self.now, self.step_seconds = 0.0, step_seconds
        original_step = train.train_step

        def timed_step(*args, **kwargs):
            self.now += self.step_seconds
            return original_step(*args, **kwargs)

        monkeypatch.setattr(train, "train_step", timed_step)

    def __call__(self) -> float:
        return self.now


def test_training_time_leaves_out_evaluation_and_callbacks(data, monkeypatch):
    """A live plot that takes long to draw must not eat into a same-time comparison's budget."""
    import resnet_lab.train as train

    clock = FakeClock(monkeypatch, step_seconds=1.0)

    def slow_evaluate(*args, **kwargs):
        clock.now += 100.0  # evaluation: not training time
        return 1.0, 0.5

    def slow_callback(history):
        clock.now += 1000.0  # e.g. drawing a frame: not training time

    monkeypatch.setattr(train, "evaluate", slow_evaluate)
    history = fit(small_net(), data, recipe(4), eval_every=2, progress=False, callbacks=[slow_callback], clock=clock)
    assert history.elapsed == [1.0, 2.0, 3.0, 4.0] and history.seconds == 4.0
    assert history.images_per_second == 4 * 32 / 4.0


def test_a_recipe_in_seconds_decays_the_lr_in_time_and_stops_when_the_time_is_spent(data, monkeypatch):
    """Notebook 05's same-time runs: the milestones are fractions of the seconds, whatever a step costs."""
    ten_seconds = dataclasses.replace(HE2015_CIFAR.within(10.0), batch_size=32)  # x0.1 at 5 s and at 7.5 s
    clock = FakeClock(monkeypatch, step_seconds=1.0)
    slow = fit(small_net(), data, ten_seconds, progress=False, clock=clock)
    assert slow.steps == list(range(1, 11)) and slow.stop_reason == "finished" and slow.seconds == 10.0
    assert slow.lr == pytest.approx([0.1] * 5 + [0.01] * 3 + [0.001] * 2)
    clock.now, clock.step_seconds = 0.0, 0.5  # a net twice as fast: twice the steps, the same decay in time
    fast = fit(small_net(), data, ten_seconds, progress=False, clock=clock)
    assert len(fast.steps) == 20 and fast.lr == pytest.approx([0.1] * 10 + [0.01] * 5 + [0.001] * 5)
    assert fast.eval_steps == [20]


def test_evaluation_follows_the_model_s_memory_format():
    """A net `fit` trained in channels_last is evaluated in it too (no conversion before every layer)."""
    from resnet_lab.train import uses_channels_last

    data = make_synthetic(n_train=64, n_test=32, channels=3)  # one channel would be both formats at once
    seen = []
    torch.manual_seed(0)
    model = resnet(8, width=4, in_channels=3, num_classes=4)
    model.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    evaluate(model, data.test_images, data.test_labels)
    assert not uses_channels_last(model) and seen == [False]
    fit(model, data, recipe(2), progress=False, eval_at_end=False, channels_last=True)
    seen.clear()
    evaluate(model, data.test_images, data.test_labels)
    assert uses_channels_last(model) and seen == [True]
