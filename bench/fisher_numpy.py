"""NumPy and scikit-learn peers for bench/fisher.ts, on the bench's data: one GMM E-step pass
(log-domain posteriors and sufficient statistics) and FV encoding (means and variances, matmul
form) in NumPy, float32; and with python3-sklearn, GaussianMixture(covariance_type='diag') fitted
by EM for a fixed number of iterations (tol=0) from relprop's initial mixture (init_means.npy,
init_variances.npy, uniform weights), and k-means++ seeding (sklearn.cluster.kmeans_plusplus with
one trial per seed, the plain algorithm relprop runs).
Usage: python3 bench/fisher_numpy.py DIR REPEATS ITERATIONS  (DIR holds x.npy, l.npy,
log_priors.npy, means.npy, variances.npy, init_means.npy, init_variances.npy). Prints one JSON line."""
import json
import sys
import time
import warnings

import numpy as np

d, reps, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.load(f"{d}/x.npy")
l = np.load(f"{d}/l.npy")
lp = np.load(f"{d}/log_priors.npy")
mu = np.load(f"{d}/means.npy")
var = np.load(f"{d}/variances.npy")
K, D = mu.shape
prec = (1 / var).astype(np.float32)
c = (lp - 0.5 * ((mu * mu * prec).sum(1) + np.log(var).sum(1) + D * np.log(2 * np.pi))).astype(np.float32)


def log_joint(v):
    return c - 0.5 * (v * v) @ prec.T + v @ (mu * prec).T


def estep(batch=8192):
    nk = np.zeros(K, np.float64)
    s1 = np.zeros((K, D), np.float64)
    s2 = np.zeros((K, D), np.float64)
    ll = 0.0
    for s in range(0, len(x), batch):
        v = x[s : s + batch]
        lj = log_joint(v)
        m = lj.max(1, keepdims=True)
        e = np.exp(lj - m)
        z = e.sum(1, keepdims=True)
        g = e / z
        ll += float((m[:, 0] + np.log(z[:, 0])).sum())
        nk += g.sum(0)
        s1 += g.T @ v
        s2 += g.T @ (v * v)
    return ll


def encode():
    N, T, _ = l.shape
    sd = np.sqrt(var)
    pi = np.exp(lp)
    out = np.empty((N, 2 * K * D), np.float32)
    for i in range(N):
        v = l[i]
        lj = log_joint(v)
        g = np.exp(lj - lj.max(1, keepdims=True))
        g /= g.sum(1, keepdims=True)
        n = g.sum(0)[:, None]
        a = g.T @ v
        b = g.T @ (v * v)
        gmu = (a - n * mu) / sd / (T * np.sqrt(pi)[:, None])
        gsig = (b - 2 * a * mu + n * mu * mu) / var - n
        gsig = gsig / (T * np.sqrt(2 * pi)[:, None])
        out[i] = np.concatenate([gmu.ravel(), gsig.ravel()])
    return out


estep()
encode()
t0 = time.perf_counter()
for _ in range(reps):
    estep()
t_e = (time.perf_counter() - t0) / reps
t0 = time.perf_counter()
for _ in range(reps):
    encode()
t_f = (time.perf_counter() - t0) / reps
result = {"estep_descriptors_per_s": len(x) / t_e, "encode_images_per_s": l.shape[0] / t_f, "numpy": np.__version__, "sklearn": None}
try:
    import sklearn
    from sklearn.cluster import kmeans_plusplus
    from sklearn.mixture import GaussianMixture
except ImportError:
    sklearn = None
if sklearn is not None:
    init_means = np.load(f"{d}/init_means.npy")
    init_var = np.load(f"{d}/init_variances.npy")
    gm = GaussianMixture(
        n_components=K,
        covariance_type="diag",
        max_iter=iters,
        tol=0,  # never converged early: exactly `iters` EM iterations, as relprop with tolerance −∞
        init_params="random_from_data",  # cheap; replaced by the *_init values below
        weights_init=np.full(K, 1 / K),
        means_init=init_means,
        precisions_init=1 / init_var,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 on purpose
        t0, c0 = time.perf_counter(), time.process_time()
        gm.fit(x)
        em_s, em_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    kmeans_plusplus(x, K, random_state=0, n_local_trials=1)
    kpp_s = time.perf_counter() - t0
    result.update({"sklearn": sklearn.__version__, "em_s": em_s, "em_cpu_s": em_cpu_s, "em_iterations": int(gm.n_iter_), "em_loglik": float(gm.score(x)), "kmeanspp_s": kpp_s})
print(json.dumps(result))
