/**
 * Real architectures: torchvision models exported by Debian's PyTorch 1.13 (weights from a shared
 * deterministic PRNG, see scripts/export_torchvision.py) import, and relprop's `gradient` equals
 * PyTorch's autograd gradient. LRP composites run on them and give finite relevance.
 */
import { describe, expect, it } from 'vitest';
import { Explainer } from '../src/node/api.js';
import { HEAVY_TORCHVISION_MODELS, loadTorchvisionAsset, TORCHVISION_MODELS } from './helpers/torchvision-weights.js';
import { relL2 } from './helpers/fixtures.js';

describe('torchvision architectures', () => {
  for (const name of TORCHVISION_MODELS.filter((m) => !HEAVY_TORCHVISION_MODELS.includes(m))) {
    it(`${name}: gradient equals PyTorch autograd; composites run`, async () => {
      const a = loadTorchvisionAsset(name);
      const grad = await Explainer.create(a.model, { method: 'gradient' });
      const r = await grad.explain(a.input, { target: a.spec.target });
      // Measured: ≤ 1.1e-6 on the 64×64 models; 3.4e-3 on VGG at 224×224, whose logits still agree to
      // 2.4e-6 — float32 rounding flips the sign of a few near-zero ReLU inputs among its millions.
      const tol = name.startsWith('vgg') ? 1e-2 : 1e-4;
      expect(relL2(r.relevance.data as Float32Array, a.grad.data as Float32Array)).toBeLessThan(tol);
      expect(relL2(r.logits.data as Float32Array, a.spec.torch_logits)).toBeLessThan(1e-4);
      await grad.release();
      for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box']) {
        // The inputs are N(0,1) values: ±3 holds them (box rules have no default bounds).
        const ex = await Explainer.create(a.model, { method: 'lrp', composite, params: { low: -3, high: 3 } });
        const l = await ex.explain(a.input, { target: a.spec.target });
        const data = l.relevance.data as Float32Array;
        expect(data.every(Number.isFinite)).toBe(true);
        expect(data.some((v) => v !== 0)).toBe(true);
        await ex.release();
      }
    });
  }
});
