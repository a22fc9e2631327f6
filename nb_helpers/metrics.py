r"""Reference evaluation metrics (NumPy) and the curve points used to draw ROC and precision-recall plots.

Inputs are 1-D arrays of equal length; class labels are int64 in 0..K−1, binary labels 0/1.
The graded metrics equal their scikit-learn counterparts (tests compare them); none calls scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy", "confusion_matrix", "precision_recall_f1", "mse", "mae", "r2_score", "roc_auc",
    "roc_curve_points", "precision_recall_points", "average_precision",
]


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""$\text{accuracy} = \frac1n\sum_i [\hat y_i = y_i]$, the fraction of correct predictions."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    r"""$C_{jk} = \#\{i : y_i = j,\ \hat y_i = k\}$: rows are true classes, columns predicted ones.

    K = `n_classes`, or max(y_true.max(), y_pred.max()) + 1; an int64 (K, K) array
    (= `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=np.arange(K))`).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = int(n_classes) if n_classes is not None else int(max(y_true.max(), y_pred.max())) + 1
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(np.int64)


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray, positive: int = 1) -> tuple[float, float, float]:
    r"""One-vs-rest scores for class `positive`:
    $P = \frac{TP}{TP+FP}$, $R = \frac{TP}{TP+FN}$, $F_1 = \frac{2PR}{P+R} = \frac{2\,TP}{2\,TP+FP+FN}$,
    each 0.0 where its denominator is 0 (scikit-learn's `zero_division=0`).
    """
    t, p = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
    tp, fp, fn = int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(t & ~p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return float(precision), float(recall), float(f1)


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""Mean squared error $\frac1n\sum_i (y_i-\hat y_i)^2$."""
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(d * d))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""Mean absolute error $\frac1n\sum_i |y_i-\hat y_i|$."""
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(d)))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""$R^2 = 1 - \frac{\sum_i (y_i-\hat y_i)^2}{\sum_i (y_i-\bar y)^2}$; negative when the model is worse than
    predicting $\bar y$. With constant $y$ (zero denominator) it is 1.0 for an exact prediction and 0.0
    otherwise, as `sklearn.metrics.r2_score`.
    """
    y, yhat = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    ss_res = float(np.sum((y - yhat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    r"""Area under the ROC curve = the probability that a random positive scores higher than a random
    negative, ties counting half:
    $\mathrm{AUC} = \frac{1}{PN}\sum_{i:y_i=1}\sum_{j:y_j=0}\big([s_i>s_j] + \tfrac12[s_i=s_j]\big)
    = \frac{\sum_{i:y_i=1}\operatorname{rank}(s_i) - P(P+1)/2}{PN}$
    with average ranks for ties (Mann–Whitney U); O(n log n). Equals `sklearn.metrics.roc_auc_score`.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both classes in y_true")
    # 1-based ranks; tied scores share the mean of the ranks they occupy
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + 1 + ends) / 2.0)[inverse.ravel()]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _counts_by_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives when predicting "positive" for score ≥ t, for each distinct t (descending)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each tie group
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    return tps.astype(np.float64), fps.astype(np.float64), s[last]


def roc_curve_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""(FPR, TPR, thresholds) for every distinct threshold, starting at (0, 0) with threshold +inf:
    $\mathrm{TPR}(t) = TP(t)/P$, $\mathrm{FPR}(t) = FP(t)/N$ (as `sklearn.metrics.roc_curve(...,
    drop_intermediate=False)`). The trapezoid area under these points equals `roc_auc`.
    """
    tps, fps, thresholds = _counts_by_threshold(y_true, scores)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return fpr, tpr, np.r_[np.inf, thresholds]


def precision_recall_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""(precision, recall, thresholds) for every distinct threshold, by increasing threshold, ending at
    (precision 1, recall 0) as `sklearn.metrics.precision_recall_curve`:
    $P(t) = \frac{TP(t)}{TP(t)+FP(t)}$, $R(t) = \frac{TP(t)}{P}$.
    """
    tps, fps, thresholds = _counts_by_threshold(y_true, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    r"""$\mathrm{AP} = \sum_n (R_n - R_{n-1})\,P_n$ over the thresholds (the step-wise area under the
    precision-recall curve, no interpolation), as `sklearn.metrics.average_precision_score`."""
    precision, recall, _ = precision_recall_points(y_true, scores)
    return float(-np.sum(np.diff(recall) * precision[:-1]))
