"""FID and KID between feature sets (numpy only).

* FID (Heusel et al.): ||μ1-μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½); the trace of the matrix square root is the sum of the
  square roots of the (real, non-negative) eigenvalues of Σ1 Σ2. Biased for small sets: compare FIDs only between
  sets of equal size.
* KID (Bińkowski et al.): unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over
  random subsets of equal size (mean ± std over subsets). Unbiased, so a real-vs-real floor sits near 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fid", "kid", "polynomial_mmd2"]


def fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """Exact FID. With fewer samples than dimensions, Tr((Σ1 Σ2)^½) is the nuclear norm of X1 X2ᵀ / √((n1-1)(n2-1))
    (X = centred features), an n1 x n2 SVD instead of a 2048 x 2048 non-symmetric eigenproblem."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    n1, n2, d = len(f1), len(f2), f1.shape[1]
    if n1 < 2 or n2 < 2:
        raise ValueError("FID needs at least 2 samples per set")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    x1, x2 = f1 - mu1, f2 - mu2
    tr1, tr2 = (x1**2).sum() / (n1 - 1), (x2**2).sum() / (n2 - 1)
    if max(n1, n2) <= d:
        tr_sqrt = float(np.linalg.svd(x1 @ x2.T, compute_uv=False).sum() / np.sqrt((n1 - 1) * (n2 - 1)))
    else:
        s1, s2 = x1.T @ x1 / (n1 - 1), x2.T @ x2 / (n2 - 1)
        w, v = np.linalg.eigh(s1)
        r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum())
    return float(((mu1 - mu2) ** 2).sum() + tr1 + tr2 - 2.0 * tr_sqrt)


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid(
    f1: np.ndarray, f2: np.ndarray, n_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> dict[str, float]:
    """KID mean ± std over ``n_subsets`` random subsets of ``min(subset_size, len(f1), len(f2))`` samples each."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m = int(min(subset_size, len(f1), len(f2)))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    rng = np.random.default_rng(seed)
    vals = [
        polynomial_mmd2(f1[rng.choice(len(f1), m, replace=False)], f2[rng.choice(len(f2), m, replace=False)])
        for _ in range(n_subsets)
    ]
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "subset_size": m, "n_subsets": n_subsets}
