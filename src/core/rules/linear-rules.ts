/**
 * LRP rules for dense and conv layers, as graph fragments. Notation: x the layer input,
 * z_ij = x_i w_ij, y_j = Σ_i z_ij + b_j the forward output, R_j the relevance at y_j,
 * stab(d) = d + ε·sgn(d) with sgn(0) = 1. Every numerical convention follows Zennit (the vendored
 * fixtures' README, test/fixtures/lrp/README.md); test/reference/lrp64.ts is the executable spec.
 *
 * | rule      | R_i =                                                                  | source |
 * |-----------|------------------------------------------------------------------------|--------|
 * | gradient  | Σ_j w_ij R_j                                                            | (sensitivity; Simonyan et al. 2014) |
 * | epsilon   | x_i Σ_j w_ij R_j / stab(y_j)                                            | Bach et al. 2015 |
 * | zplus     | Σ_j z⁺_ij R_j / stab(Σ_i z⁺_ij + b_j⁺), z⁺_ij = x_i⁺w_ij⁺ + x_i⁻w_ij⁻          | Montavon et al. 2017 (deep Taylor) |
 * | alphabeta | Σ_j (α z⁺_ij / stab(Σ_i z⁺_ij + b_j⁺) − β z⁻_ij / stab(Σ_i z⁻_ij + b_j⁻)) R_j, z⁻_ij = x_i⁺w_ij⁻ + x_i⁻w_ij⁺, α − β = 1 | Bach et al. 2015 |
 * | gamma     | Σ_j (z_ij + γ z⁺_ij) R_j / stab(y_j + γ(Σ_i z⁺_ij + b_j⁺)) where y_j > 0; with z⁻ where y_j < 0 | Montavon et al. 2019 |
 * | zbox      | Σ_j (x_i w_ij − l_i w_ij⁺ − h_i w_ij⁻) R_j / stab(Σ_i …)                 | Montavon et al. 2017 (zB) |
 * | wsquare   | Σ_j w_ij² R_j / stab(Σ_i w_ij² + b_j²)                                  | Montavon et al. 2017 (w²) |
 * | flat      | Σ_j R_j / stab(#inputs of j)  (all weights 1)                           | Lapuschkin et al. 2019 |
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { float32, numel } from '../onnx/tensor.js';
import { mapB, mapW, type LinearOp } from './linear-op.js';
import type { LinearRule } from './spec.js';
import type { Unpooled } from './max-pool.js';

export type { Unpooled };

export interface LinearRuleContext {
  g: GraphBuilder;
  op: LinearOp;
  x: string;
  y: string;
  R: string;
  /** x is known to be ≥ 0 (behind a ReLU): the x⁻ halves of z+/αβ/γ vanish and are not emitted. */
  xNonNeg: boolean;
  /** Shape of x for one sample, with batch 1. */
  xShape1: number[];
  /**
   * R is known to vanish wherever y ≤ 0 (y feeds only ReLUs whose outputs' relevance is
   * proportional to them): gamma's branch for negative outputs is then identically zero.
   */
  zeroAtNonPositive: boolean;
  /** R is a max pool's unpooling of a smaller tensor (nonzero at window winners only). */
  unpooled?: Unpooled;
}

/**
 * s = R / stabilize(d) for a denominator d of the output's shape. When R lives on a max pool's
 * winners only, the division runs there (the same numbers on a fraction of the elements).
 */
function divideR(c: LinearRuleContext, d: string, stab: number, sign?: 'nonneg' | 'nonpos'): string {
  const { g, R } = c;
  const u = c.unpooled;
  return u ? u.unpool(g.div(u.pooled, g.stabilize(u.gather(d), stab, sign))) : g.div(R, g.stabilize(d, stab, sign));
}

const pos = (v: number) => (v > 0 ? v : 0);
const neg = (v: number) => (v < 0 ? v : 0);

/** A batch-1 constant input of x's shape filled with v; F of it broadcasts over the batch. */
function constInput(c: LinearRuleContext, v: number): string {
  return c.g.initializer(`${c.op.name}/const_input`, float32(c.xShape1, new Float32Array(numel(c.xShape1)).fill(v)));
}

export function linearRule(c: LinearRuleContext, rule: LinearRule): string {
  const { g, op, x, y, R } = c;
  const W = op.W;
  switch (rule.rule) {
    case 'gradient':
      return op.adjoint(g, R, W);
    case 'epsilon': {
      // z is the forward output itself: no extra forward pass.
      const s = divideR(c, y, rule.epsilon);
      return g.mul(x, op.adjoint(g, s, W));
    }
    case 'zplus':
      return alphaBeta(c, 1, 0, rule.stabilizer);
    case 'alphabeta':
      return alphaBeta(c, rule.alpha, rule.beta, rule.stabilizer);
    case 'gamma':
      return gammaRule(c, rule.gamma, rule.stabilizer);
    case 'zbox': {
      // d = Σ x w − l w⁺ − h w⁻ (bias cancels). With scalar bounds l·Fᵀ(s;W⁺) + h·Fᵀ(s;W⁻) = Fᵀ(s; lW⁺ + hW⁻),
      // and F(1; lW⁺ + hW⁻) is a batch-1 constant: one adjoint more than epsilon.
      const Wlh = mapW(W, (v) => rule.low * pos(v) + rule.high * neg(v));
      const lin = g.sub(y, g.initializer(`${op.name}/b`, float32(biasShape(c, op.b.length), op.b)));
      const d = g.sub(lin, op.forward(g, constInput(c, 1), Wlh));
      const s = divideR(c, d, rule.stabilizer);
      return g.sub(g.mul(x, op.adjoint(g, s, W)), op.adjoint(g, s, Wlh));
    }
    case 'wsquare':
    case 'flat': {
      const Wm = rule.rule === 'wsquare' ? mapW(W, (v) => v * v) : mapW(W, () => 1);
      const bias = rule.rule === 'wsquare' ? mapB(op.b, (v) => v * v) : undefined;
      const d = op.forward(g, constInput(c, 1), Wm, bias); // data independent: batch 1
      const s = g.div(R, g.stabilize(d, rule.stabilizer, 'nonneg'));
      // Flat: all weights are 1, so every input channel gets the same sum over output channels.
      return rule.rule === 'flat' && op.adjointOnes ? op.adjointOnes(g, s, c.xShape1) : op.adjoint(g, s, Wm);
    }
  }
}

/** Bias broadcast shape for subtracting b from y: [out] for dense, [O, 1, …] for conv. */
function biasShape(c: LinearRuleContext, n: number): number[] {
  const isConv = c.op.W.dims.length > 2;
  return isConv ? [n, ...c.xShape1.slice(2).map(() => 1)] : [n];
}

function alphaBeta(c: LinearRuleContext, alpha: number, beta: number, stab: number): string {
  const { g, op, x } = c;
  const Wp = mapW(op.W, pos);
  const Wn = mapW(op.W, neg);
  const bp = mapB(op.b, pos);
  const bn = mapB(op.b, neg);
  if (c.xNonNeg) {
    // x ≥ 0: p ≥ 0 and n ≤ 0 (n = 0 only where its numerators are 0). n is computed directly:
    // deriving it as y − p cancels badly when the negative part is small.
    const p = op.forward(g, x, Wp, bp);
    let out = g.mul(x, op.adjoint(g, divideR(c, p, stab, 'nonneg'), Wp));
    if (alpha !== 1) out = g.mul(out, g.scalar(alpha));
    if (beta !== 0) {
      const n = op.forward(g, x, Wn, bn);
      const negRel = g.mul(x, op.adjoint(g, divideR(c, n, stab, 'nonpos'), Wn));
      out = g.sub(out, g.mul(negRel, g.scalar(beta)));
    }
    return out;
  }
  const xp = g.relu(x);
  const xn = g.negPart(x);
  const p = g.add(op.forward(g, xp, Wp, bp), op.forward(g, xn, Wn));
  const sp = divideR(c, p, stab, 'nonneg');
  let out = g.add(g.mul(xp, op.adjoint(g, sp, Wp)), g.mul(xn, op.adjoint(g, sp, Wn)));
  if (alpha !== 1) out = g.mul(out, g.scalar(alpha));
  if (beta !== 0) {
    const n = g.add(op.forward(g, xp, Wn, bn), op.forward(g, xn, Wp));
    const sn = divideR(c, n, stab, 'nonpos');
    const negPart = g.add(g.mul(xp, op.adjoint(g, sn, Wn)), g.mul(xn, op.adjoint(g, sn, Wp)));
    out = g.sub(out, g.mul(negPart, g.scalar(beta)));
  }
  return out;
}

function gammaRule(c: LinearRuleContext, gamma: number, stab: number): string {
  const { g, op, x, y, R } = c;
  // Wa amplifies positive weights, Wb negative ones; the sign of y picks which one x⁺ sees.
  const Wa = mapW(op.W, (v) => v + gamma * pos(v));
  const Wb = mapW(op.W, (v) => v + gamma * neg(v));
  const ca = mapB(op.b, (v) => v + gamma * pos(v));
  const cb = mapB(op.b, (v) => v + gamma * neg(v));
  const Wpos = mapW(op.W, pos);
  const zero = g.scalar(0);
  if (c.xNonNeg) {
    // x ≥ 0: with Q = γ(F(x;W⁺) + b⁺) ≥ 0, d_A = y + Q and d_B = (1+γ)y − Q (one extra forward;
    // each is used only where y has its sign, so both terms agree in sign: no cancellation), and
    // Fᵀ(s_A;W_a) + Fᵀ(s_B;W_b) = Fᵀ(s_A + (1+γ)s_B; W) + γFᵀ(s_A − s_B; W⁺) (two adjoints).
    const Q = g.mul(op.forward(g, x, Wpos, mapB(op.b, pos)), g.scalar(gamma));
    const dA = g.add(y, Q);
    if (c.zeroAtNonPositive) {
      // R = 0 wherever y ≤ 0: only the positive-output branch contributes (3 passes, like z+).
      return g.mul(x, op.adjoint(g, divideR(c, dA, stab), Wa));
    }
    const sA = g.div(g.op('Where', [g.op('Greater', [y, zero]), R, zero]), g.stabilize(dA, stab));
    const dB = g.sub(g.mul(y, g.scalar(1 + gamma)), Q);
    const sB = g.div(g.op('Where', [g.op('Less', [y, zero]), R, zero]), g.stabilize(dB, stab));
    const full = op.adjoint(g, g.add(sA, g.mul(sB, g.scalar(1 + gamma))), op.W);
    const plus = op.adjoint(g, g.sub(sA, sB), Wpos);
    return g.mul(x, g.add(full, g.mul(plus, g.scalar(gamma))));
  }
  if (c.zeroAtNonPositive) {
    const xp = g.relu(x);
    const xn = g.negPart(x);
    const sA = divideR(c, g.add(op.forward(g, xp, Wa, ca), op.forward(g, xn, Wb)), stab);
    return g.add(g.mul(xp, op.adjoint(g, sA, Wa)), g.mul(xn, op.adjoint(g, sA, Wb)));
  }
  const Rp = g.op('Where', [g.op('Greater', [y, zero]), R, zero]);
  const Rn = g.op('Where', [g.op('Less', [y, zero]), R, zero]);
  const xp = g.relu(x);
  const xn = g.negPart(x);
  const dA = g.add(op.forward(g, xp, Wa, ca), op.forward(g, xn, Wb));
  const dB = g.add(op.forward(g, xp, Wb, cb), op.forward(g, xn, Wa));
  const sA = g.div(Rp, g.stabilize(dA, stab));
  const sB = g.div(Rn, g.stabilize(dB, stab));
  const forXp = g.add(op.adjoint(g, sA, Wa), op.adjoint(g, sB, Wb));
  const forXn = g.add(op.adjoint(g, sA, Wb), op.adjoint(g, sB, Wa));
  return g.add(g.mul(xp, forXp), g.mul(xn, forXn));
}
