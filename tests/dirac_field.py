"""The Dirac-GAN's vector fields, iterated in float64 independently of ganbench: the
paper's coordinates (psi_paper = -psi of ganbench's model), the game value
L(theta, psi) = f(psi theta) + f(0) with f'(t) = sigmoid(-t) for the sigmoid GANs and
f(t) = t for the WGAN, as in Mescheder et al.'s DiracGAN notebook; the generator descends,
the critic ascends. Used by tests/test_dirac_exact.py and to write the exact values of
suites/papers/mescheder_dirac.yaml."""

from __future__ import annotations

import math


def fp(t):
    return 1.0 / (1.0 + math.exp(t))  # sigmoid(-t)


def field(objective, reg):
    """(v_theta, v_psi, project) for an objective and a regularizer (name, parameter)."""
    name, par = reg

    def v_theta(t, p):
        if objective == "wgan":
            return -p
        return -p * (fp(p * t) if objective == "minimax" else fp(-p * t))

    def v_psi(t, p):
        v = t if objective == "wgan" else t * fp(p * t)
        if name in ("r1", "r2"):
            v -= par * p
        elif name == "gp":  # weight w: gradient 2 w (|psi| - 1) sign(psi)
            v -= 2 * par * (abs(p) - 1.0) * math.copysign(1.0, p)
        return v

    def project(p):
        return max(-par, min(par, p)) if name == "weight_clip" else p

    return v_theta, v_psi, project


def trajectory(objective, scheme, reg=("none", 0.0), steps=500, h=0.2, start=(1.0, 1.0)):
    """The distance to (0, 0) after every step; scheme = (name, options)."""
    vt, vp, proj = field(objective, reg)
    kind, opt = scheme
    t, p = start[0], proj(start[1])
    prev = (0.0, 0.0)
    out = []
    for _ in range(steps):
        if kind == "simultaneous":
            t, p = t + h * vt(t, p), proj(p + h * vp(t, p))
        elif kind == "alternating":
            def g(t, p):
                return t + h * vt(t, p)
            if opt.get("order", "d_first") == "g_first":
                t = g(t, p)
            for _ in range(opt.get("d_steps", 1)):
                p = proj(p + h * vp(t, p))
            if opt.get("order", "d_first") == "d_first":
                t = g(t, p)
        elif kind == "extragradient":
            th, ph = t + h * vt(t, p), proj(p + h * vp(t, p))
            t, p = t + h * vt(th, ph), proj(p + h * vp(th, ph))
        elif kind == "optimistic":  # p <- p + h (2 v_t - v_{t-1}), v_{-1} = 0
            a, b = vt(t, p), vp(t, p)
            t, p = t + h * (2 * a - prev[0]), proj(p + h * (2 * b - prev[1]))
            prev = (a, b)
        elif kind == "consensus":  # descend each loss + gamma/2 |v|^2 (central differences)
            gamma, e = opt.get("gamma", 1.0), 1e-6

            def half(t, p):
                return 0.5 * (vt(t, p) ** 2 + vp(t, p) ** 2)
            dt = (half(t + e, p) - half(t - e, p)) / (2 * e)
            dp = (half(t, p + e) - half(t, p - e)) / (2 * e)
            t, p = t + h * (vt(t, p) - gamma * dt), proj(p + h * (vp(t, p) - gamma * dp))
        else:
            raise ValueError(kind)
        out.append(math.hypot(t, p))
    return out
