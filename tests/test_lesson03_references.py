"""Lesson 03's reference implementations against PyTorch / scikit-learn (float64, step for step), and the
laws the lesson teaches (dropout preserves the mean, soft-thresholding is the L1 proximal step, …)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nb_helpers import gradients as G
from nb_helpers import momentum as M
from nb_helpers import ravine
from nb_helpers import regularization as R
from nb_helpers import regularization_demos as RD
from nb_helpers import schedules as S

RTOL_STEP = 1e-9  # optimizers, schedules and update rules, after every step


def _t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _linear_model(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(5, 3, dtype=torch.float64)


# ----------------------------------------------------------------------------- L1 / L2

def test_l2_penalty_equals_pytorch_weight_decay_of_twice_lambda():
    """A loss term λΣw² is SGD(weight_decay=2λ), step for step; weight_decay=λ is not the same."""
    lam, lr = 0.05, 0.1
    x, y = _t(np.random.default_rng(0).normal(size=(16, 5))), _t(np.random.default_rng(1).normal(size=(16, 3)))
    a, b, c = _linear_model(), _linear_model(), _linear_model()
    opt_a = torch.optim.SGD(a.parameters(), lr=lr)
    opt_b = torch.optim.SGD(b.parameters(), lr=lr, weight_decay=2 * lam)
    opt_c = torch.optim.SGD(c.parameters(), lr=lr, weight_decay=lam)
    for _ in range(20):
        for model, opt, penalised in ((a, opt_a, True), (b, opt_b, False), (c, opt_c, False)):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            if penalised:
                loss = loss + R.l2_penalty(model.parameters(), lam)
            loss.backward()
            opt.step()
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=RTOL_STEP, atol=1e-12)
    assert max(float((pa - pc).detach().abs().max()) for pa, pc in zip(a.parameters(), c.parameters())) > 1e-4


def test_l1_penalty_gradient_is_lambda_sign_and_zero_at_zero():
    w = torch.tensor([-2.0, 0.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([[1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    out = R.l1_penalty((p for p in (w, v)), 0.3)
    assert out.dim() == 0
    assert out.item() == pytest.approx(0.3 * (2 + 0 + 0.5 + 3 + 2))
    out.backward()
    torch.testing.assert_close(w.grad, 0.3 * torch.sign(w.detach()))
    assert w.grad[1].item() == 0.0
    torch.testing.assert_close(v.grad, 0.3 * torch.sign(v.detach()))


def test_l2_penalty_value_and_gradient_two_lambda_w():
    w = torch.tensor([2.0, 0.5, -1.0], dtype=torch.float64, requires_grad=True)
    out = R.l2_penalty(iter([w]), 0.1)
    assert out.item() == pytest.approx(0.1 * (4 + 0.25 + 1))  # a weight of 2 contributes 4λ, 0.5 contributes 0.25λ
    out.backward()
    torch.testing.assert_close(w.grad, 2 * 0.1 * w.detach())


def test_regularized_bce_is_mean_bce_plus_undivided_penalties_and_reads_a_generator_once():
    rng = np.random.default_rng(3)
    logits, targets = _t(rng.normal(0, 2, 7)), _t(rng.integers(0, 2, 7))
    ws = [_t(rng.normal(size=(3, 2))), _t(rng.normal(size=4))]
    got = R.regularized_bce(logits, targets, (w for w in ws), l1=0.05, l2=0.2)
    want = (nn.BCEWithLogitsLoss()(logits, targets) + 0.05 * sum(w.abs().sum() for w in ws)
            + 0.2 * sum((w ** 2).sum() for w in ws))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    probs = torch.sigmoid(logits)
    assert float(nn.BCELoss()(probs, targets)) == pytest.approx(float(R.regularized_bce(logits, targets, [])), rel=1e-9)


def test_text_bce_example_value():
    """ERRATA: y=[1,0,1,0], p=[0.01,0.99,0.9,0.2] gives 2.384711; ln(0.01) = −4.605170."""
    y = _t([1, 0, 1, 0])
    p = _t([0.01, 0.99, 0.9, 0.2])
    assert float(R.regularized_bce(torch.logit(p), y, [])) == pytest.approx(2.384711, abs=1e-6)
    assert math.log(0.01) == pytest.approx(-4.605170, abs=1e-6)


def test_soft_threshold_matches_softshrink_and_keeps_type_dtype():
    w = torch.linspace(-3, 3, 61, dtype=torch.float64)
    for t in (0.0, 0.3, 1.0):
        torch.testing.assert_close(R.soft_threshold(w, t), F.softshrink(w, t), rtol=0, atol=0)
        a = w.numpy().copy()
        out = R.soft_threshold(a, t)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        np.testing.assert_array_equal(a, w.numpy())  # unchanged
        np.testing.assert_allclose(out, F.softshrink(w, t).numpy(), rtol=0, atol=0)
    w32 = torch.tensor([1.0, -0.2], dtype=torch.float32)
    assert R.soft_threshold(w32, 0.5).dtype == torch.float32
    assert R.soft_threshold(w32.numpy(), 0.5).dtype == np.float32


def test_soft_threshold_is_the_proximal_step_of_the_l1_norm():
    """S_t(w) = argmin_v ½(v − w)² + t|v| (checked on a fine grid)."""
    grid = np.linspace(-4, 4, 80001)
    for w in (-2.5, -0.4, 0.0, 0.7, 3.1):
        for t in (0.0, 0.5, 1.2):
            best = grid[np.argmin(0.5 * (grid - w) ** 2 + t * np.abs(grid))]
            assert R.soft_threshold(np.array([w]), t)[0] == pytest.approx(best, abs=2e-4)


def test_subgradient_sgd_gives_no_exact_zeros_but_proximal_steps_match_sklearn_lasso():
    """ERRATA L1 row: same objective, SGD leaves 0 exact zeros, the proximal solver gives Lasso's zeros."""
    from sklearn.linear_model import Lasso

    X, y, _ = RD.sparse_regression_data()
    alpha = 0.1
    lasso = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y)
    w_prox = R.ista_lasso(X, y, alpha, steps=3000)
    assert np.array_equal(w_prox == 0, lasso.coef_ == 0)
    assert int((lasso.coef_ == 0).sum()) >= 4
    np.testing.assert_allclose(w_prox, lasso.coef_, atol=1e-8)
    Xt, yt = _t(X), _t(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.01)
    for _ in range(3000):
        opt.zero_grad()
        loss = 0.5 * ((Xt @ w - yt) ** 2).mean() + R.l1_penalty([w], alpha)
        loss.backward()
        opt.step()
    assert int((w.detach() == 0).sum()) == 0
    assert float(w.detach()[lasso.coef_ == 0].abs().max()) < 5e-3


def test_constraint_figure_optima_l1_on_a_corner_l2_not():
    l1 = RD.constrained_optimum("l1")
    l2 = RD.constrained_optimum("l2")
    assert abs(l1[1]) < 1e-4 and l1[0] == pytest.approx(1.0, abs=1e-4)
    assert abs(l2[0]) > 0.1 and abs(l2[1]) > 0.1
    assert float(np.hypot(*l2)) == pytest.approx(1.0, abs=1e-9)


# ----------------------------------------------------------------------------- dropout

def test_dropout_preserves_the_mean_and_drops_a_fraction_p():
    x = torch.ones(400_000, dtype=torch.float64)
    for p in (0.2, 0.3, 0.5, 0.8):
        out = R.dropout(x, p, generator=torch.Generator().manual_seed(0))
        frac = float((out == 0).double().mean())
        sd = math.sqrt(p * (1 - p) / x.numel())
        assert abs(frac - p) < 5 * sd
        assert float(out.mean()) == pytest.approx(1.0, abs=5 * sd / (1 - p))
        assert torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / (1 - p)))


def test_dropout_edge_cases_and_reproducibility():
    x = torch.randn(5, 4, dtype=torch.float64)
    assert torch.equal(R.dropout(x, 0.5, training=False), x)
    assert torch.equal(R.dropout(x, 0.0), x)
    assert torch.equal(R.dropout(x, 1.0), torch.zeros_like(x))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            R.dropout(x, bad)
    a = R.dropout(x, 0.4, generator=torch.Generator().manual_seed(7))
    b = R.dropout(x, 0.4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and a is not x
    assert torch.equal(x, x.clone())


def test_dropout_statistics_agree_with_nn_dropout_and_eval_mode_disables_both():
    """Masks differ from torch's by design; the statistics must not."""
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=torch.float64)
    layer = nn.Dropout(0.3)
    theirs, ours = layer(x), R.dropout(x, 0.3, generator=torch.Generator().manual_seed(1))
    assert abs(float((theirs == 0).double().mean()) - float((ours == 0).double().mean())) < 0.006
    assert float(theirs.max()) == pytest.approx(float(ours.max()))
    layer.eval()
    assert torch.equal(layer(x), x) and torch.equal(R.dropout(x, 0.3, training=False), x)


def test_dropout_draws_its_mask_on_x_device():
    """The check passes x on the 'meta' device (every machine has it) to stand in for a GPU: the reference
    builds its result there, and a mask drawn on the CPU cannot be combined with x."""
    x = torch.empty(4, 5, dtype=torch.float64, device="meta")
    out = R.dropout(x, 0.3, generator=torch.Generator().manual_seed(0))
    assert out.device.type == "meta" and out.dtype == torch.float64 and out.shape == x.shape
    with pytest.raises(RuntimeError):
        torch.where(torch.rand(x.shape) < 0.7, x / 0.7, torch.zeros_like(x))


def _dropout_shell(draw):
    """A valid dropout whose training-mode result is `draw(x, p, generator)`."""
    def dropout(x, p, training=True, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        if not training or p == 0.0:
            return x
        if p == 1.0:
            return torch.zeros_like(x)
        return draw(x, p, generator)
    return dropout


VALID_DROPOUTS = {
    "mask times x": lambda x, p, g: x * (torch.rand(x.shape, generator=g, device=x.device, dtype=x.dtype) >= p) / (1 - p),
    "bernoulli": lambda x, p, g: x * torch.bernoulli(torch.full_like(x, 1 - p), generator=g) / (1 - p),
    "bernoulli_": lambda x, p, g: x * torch.empty_like(x).bernoulli_(1 - p, generator=g) / (1 - p),
    "masked_fill": lambda x, p, g: (x / (1 - p)).masked_fill(
        torch.rand(x.shape, generator=g, device=x.device, dtype=x.dtype) < p, 0.0),
    "float32 uniforms": lambda x, p, g: torch.where(torch.rand(x.shape, generator=g, device=x.device) < 1 - p,
                                                    x / (1 - p), torch.zeros_like(x)),
}


@pytest.mark.parametrize("name", sorted(VALID_DROPOUTS))
def test_dropout_check_accepts_other_valid_formulations(name, capsys):
    """Masks are never compared: any valid way of drawing them passes, the meta-device case included."""
    from nb_helpers.checks.declaration import REGISTRY
    from nb_helpers.checks.kernel import run_check
    run_check(REGISTRY["dropout"], _dropout_shell(VALID_DROPOUTS[name]))
    assert capsys.readouterr().out.startswith("dropout: all ")


def test_dropout_is_differentiable_kept_entries_get_gradient_one_over_keep():
    x = torch.randn(50, dtype=torch.float64, requires_grad=True)
    out = R.dropout(x, 0.25, generator=torch.Generator().manual_seed(2))
    out.sum().backward()
    expected = (out.detach() != 0).double() / 0.75
    torch.testing.assert_close(x.grad, expected)


# ----------------------------------------------------------------------------- gradients

def test_layer_grad_norms_equal_grad_norm_of_each_parameter():
    model = G.deep_mlp(depth=3, width=8, activation="tanh", in_features=4)
    model.fc1.bias.requires_grad_(False)
    model(_t(np.random.default_rng(0).normal(size=(6, 4)))).sum().backward()
    got = G.layer_grad_norms(model)
    want = {n: p.grad.norm().item() for n, p in model.named_parameters() if p.grad is not None}
    assert list(got) == list(want) and "fc1.bias" not in got
    for n in want:
        assert got[n] == pytest.approx(want[n], rel=1e-12)
        assert type(got[n]) is float


def _params_with_grads(seed: int, scale: float, none_at=()):
    rng = np.random.default_rng(seed)
    params = []
    for i, shape in enumerate([(3, 4), (4,), (2, 2, 2)]):
        p = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        if i not in none_at:
            p.grad = _t(rng.normal(0, scale, size=shape))
        params.append(p)
    return params


@pytest.mark.parametrize("scale,max_norm,none_at", [(1.0, 1.0, ()), (0.1, 5.0, ()), (3.0, 0.5, (1,)), (1e-3, 1e-4, ())])
def test_clip_grad_norm_matches_torch_clip_grad_norm_(scale, max_norm, none_at):
    ours, theirs = _params_with_grads(0, scale, none_at), _params_with_grads(0, scale, none_at)
    grads_before = [p.grad for p in ours]
    total = G.clip_grad_norm((p for p in ours), max_norm)  # a one-shot generator, like model.parameters()
    total_t = torch.nn.utils.clip_grad_norm_((p for p in theirs), max_norm)
    assert total == pytest.approx(float(total_t), rel=1e-12)
    for a, b, g in zip(ours, theirs, grads_before):
        assert a.grad is g  # modified in place
        if b.grad is None:
            assert a.grad is None
        else:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=0)


def test_clip_grad_norm_text_example():
    """ERRATA: grads [3,0,0] and [0,4,0,0] return 5.0 and become [0.6,0,0], [0,0.8,0,0] (×0.9999998)."""
    a, b = torch.zeros(3, requires_grad=True), torch.zeros(4, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 0, 0]), torch.tensor([0, 4.0, 0, 0])
    assert G.clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    assert a.grad[0].item() == pytest.approx(0.6 * 0.9999998, rel=1e-6)
    assert b.grad[1].item() == pytest.approx(0.8 * 0.9999998, rel=1e-6)


def test_deep_mlp_leaves_global_rng_alone_and_he_init_has_the_right_scale():
    torch.manual_seed(5)
    expected = torch.rand(1).item()
    torch.manual_seed(5)
    model = G.deep_mlp(depth=4, width=400, activation="relu", init="he", in_features=400)
    assert torch.rand(1).item() == expected
    std = model.fc2.weight.detach().std().item()
    assert std == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert G.deep_mlp(seed=3).fc1.weight.equal(G.deep_mlp(seed=3).fc1.weight)


def test_sigmoid_gradients_vanish_towards_the_input_relu_he_does_not():
    x = _t(np.random.default_rng(0).normal(size=(64, 16)))
    ratios = {}
    for act, init in (("sigmoid", "default"), ("relu", "he")):
        model = G.deep_mlp(depth=10, width=64, activation=act, init=init)
        model(x).pow(2).mean().backward()
        _, norms = G.weight_grad_profile(G.layer_grad_norms(model))
        ratios[act] = norms[0] / norms[-2]  # first hidden layer vs last hidden layer
    assert ratios["sigmoid"] < 1e-4
    assert 0.1 < ratios["relu"] < 10


# ----------------------------------------------------------------------------- schedules

def _torch_lrs(make, lr0, epochs):
    return S.scheduler_lrs(make, lr0, epochs)


@pytest.mark.parametrize("drop,every", [(0.5, 10), (0.1, 3), (0.9, 1), (0.3, 7)])
def test_step_decay_equals_steplr_stepped_once_per_epoch(drop, every):
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=every, gamma=drop), 0.1, 60)
    np.testing.assert_allclose([S.step_decay(0.1, e, drop, every) for e in range(60)], lrs, rtol=1e-12, atol=0)


def test_step_decay_text_values():
    assert [S.step_decay(0.1, e) for e in (0, 9, 10, 19, 20, 30)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125])


@pytest.mark.parametrize("k", [0.1, 0.02, 0.5])
def test_exponential_decay_equals_exponentiallr_with_gamma_e_minus_k(k):
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-k)), 0.1, 80)
    np.testing.assert_allclose([S.exponential_decay(0.1, e, k) for e in range(80)], lrs, rtol=RTOL_STEP, atol=0)
    if k == 0.1:
        assert [S.exponential_decay(0.1, e, k) for e in range(5)] == pytest.approx(
            [0.1, 0.0904837, 0.0818731, 0.0740818, 0.0670320], abs=1e-7)


@pytest.mark.parametrize("k", [0.1, 0.02, 0.5])
def test_inverse_time_decay_equals_lambdalr(k):
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + k * e)), 0.1, 80)
    np.testing.assert_allclose([S.inverse_time_decay(0.1, e, k) for e in range(80)], lrs, rtol=RTOL_STEP, atol=0)
    if k == 0.1:
        assert [S.inverse_time_decay(0.1, e, k) for e in range(5)] == pytest.approx(
            [0.1, 0.0909091, 0.0833333, 0.0769231, 0.0714286], abs=1e-7)


def test_reduce_lr_on_plateau_needs_patience_plus_one_bad_epochs():
    """patience=2, losses [1, .9, .9, .9, .9, …]: epochs 2, 3, 4 are bad; the lr is lower from epoch 5 on."""
    lrs = S.plateau_lrs([1.0] + [0.9] * 8, lr0=0.1, patience=2, factor=0.1)
    assert lrs[:5] == [0.1] * 5
    assert lrs[5] == pytest.approx(0.01)


# ----------------------------------------------------------------------------- momentum

@pytest.mark.parametrize("momentum,nesterov", [(0.9, False), (0.9, True), (0.5, True), (0.99, False), (0.0, False)])
def test_sgd_momentum_step_matches_torch_sgd_step_for_step_with_a_changing_lr(momentum, nesterov):
    rng = np.random.default_rng(11)
    shapes = [(3, 2), (4,)]
    params = [rng.normal(size=s) for s in shapes]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = torch.optim.SGD(tparams, lr=0.1, momentum=momentum, nesterov=nesterov)
    velocities: list[np.ndarray] = []
    for step in range(12):
        lr = 0.1 * 0.8 ** (step // 3)
        grads = [rng.normal(size=s) for s in shapes]
        kept = [g.copy() for g in grads]
        M.sgd_momentum_step((p for p in params), grads, velocities, lr, momentum=momentum, nesterov=nesterov)
        for g, k in zip(grads, kept):
            np.testing.assert_array_equal(g, k)
        for tp, g in zip(tparams, grads):
            tp.grad = torch.tensor(g)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=RTOL_STEP, atol=1e-12)
        if momentum:
            for v, tp in zip(velocities, tparams):
                np.testing.assert_allclose(v, opt.state[tp]["momentum_buffer"].numpy(), rtol=RTOL_STEP, atol=1e-12)
    assert len(velocities) == len(shapes)


def _quadratic_grad(w):
    return np.array([1.0, 10.0]) * w


def test_ema_momentum_equals_pytorch_with_lr_alpha_times_one_minus_beta():
    """EMA form (v ← βv + (1−β)g; θ ← θ − αv) = PyTorch SGD(lr=α(1−β), momentum=β); dampening=β is not."""
    alpha, beta = 0.1, 0.9
    theta, v = np.array([1.0, 1.0]), np.zeros(2)
    w = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=alpha * (1 - beta), momentum=beta)
    w_damp = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt_damp = torch.optim.SGD([w_damp], lr=alpha, momentum=beta, dampening=beta)
    for _ in range(6):
        v = beta * v + (1 - beta) * _quadratic_grad(theta)
        theta = theta - alpha * v
        for param, o in ((w, opt), (w_damp, opt_damp)):
            param.grad = torch.tensor(_quadratic_grad(param.detach().numpy()))
            o.step()
        np.testing.assert_allclose(theta, w.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.abs(theta - w_damp.detach().numpy()).max() > 0.1


def test_pytorch_nesterov_params_are_the_classical_nag_lookahead_points():
    """Classical NAG: v ← μv − η∇f(θ + μv); θ ← θ + v. PyTorch stores φ = θ + μv."""
    lr, mu = 0.05, 0.9
    theta, v = np.array([2.0, -1.0]), np.zeros(2)
    params, vel = [theta + mu * v], []
    for _ in range(10):
        v = mu * v - lr * _quadratic_grad(theta + mu * v)
        theta = theta + v
        M.sgd_momentum_step(params, [_quadratic_grad(params[0])], vel, lr, momentum=mu, nesterov=True)
        np.testing.assert_allclose(params[0], theta + mu * v, rtol=1e-10, atol=1e-12)


def test_momentum_beats_plain_gd_on_the_ravine():
    gd = ravine.ravine_path(M.sgd_momentum_step, 0.09, 0.0, steps=60)
    mom = ravine.ravine_path(M.sgd_momentum_step, 0.09, 0.8, steps=60)
    assert ravine.ravine_loss(*mom[-1]) < 0.01 * ravine.ravine_loss(*gd[-1])
