/**
 * Conservation audit: per layer, the relevance that arrives vs what the layer passes on, the
 * share absorbed (by biases and stabilisers) and warnings where relevance is amplified.
 */
import type { AuditRow, Explanation } from './explainer.js';

export interface AuditLine {
  name: string;
  op: string;
  rule: string;
  /** Mean over samples of the relevance sum at the layer's output and at its inputs. */
  relevanceOut: number;
  relevanceIn: number;
  /** (out − in) / |target logit|, mean over samples: the share of the explained logit absorbed here. */
  absorbedShare: number;
  /** |in| / |out| (max over samples); above `blowUp` is reported. */
  gain: number;
  warning?: string;
}

export interface AuditReport {
  lines: AuditLine[];
  /** Per sample: relevance at the input vs the target logit. */
  inputSum: number[];
  targetLogit: number[];
  warnings: string[];
}

export function auditReport(e: Explanation, blowUp = 1.5): AuditReport {
  const N = e.targets.length;
  const K = e.logits.dims[1]!;
  const logit = e.targets.map((t, i) => (e.logits.data as Float32Array)[i * K + t]!);
  const inputSum = Array.from({ length: N }, (_, i) => {
    const per = e.relevance.data.length / N;
    let s = 0;
    for (let k = 0; k < per; k++) s += (e.relevance.data as Float32Array)[i * per + k]!;
    return s;
  });
  const rows: AuditRow[] = e.audit ?? [];
  const warnings: string[] = [];
  const lines = rows.map((r) => {
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(a.length, 1);
    let gain = 0;
    const shares: number[] = [];
    for (let i = 0; i < N; i++) {
      const o = r.relevanceOut[i] ?? 0;
      const inn = r.relevanceIn[i] ?? 0;
      gain = Math.max(gain, Math.abs(o) > 1e-12 ? Math.abs(inn) / Math.abs(o) : Math.abs(inn) > 1e-12 ? Infinity : 1);
      shares.push(Math.abs(logit[i]!) > 1e-12 ? (o - inn) / Math.abs(logit[i]!) : 0);
    }
    const line: AuditLine = {
      name: r.name,
      op: r.op,
      rule: r.rule,
      relevanceOut: mean(r.relevanceOut),
      relevanceIn: mean(r.relevanceIn),
      absorbedShare: mean(shares),
      gain,
    };
    if (gain > blowUp) {
      line.warning = `relevance grows ${gain === Infinity ? 'from nothing' : `${gain.toFixed(2)}×`} at ${r.op} "${r.name}" (rule ${r.rule})`;
      warnings.push(line.warning);
    }
    return line;
  });
  return { lines, inputSum, targetLogit: logit, warnings };
}

export function formatAudit(rep: AuditReport): string {
  const head = ['layer', 'op', 'rule', 'R out', 'R in', 'absorbed', 'gain'];
  const rows = rep.lines.map((l) => [
    l.name,
    l.op,
    l.rule,
    l.relevanceOut.toPrecision(4),
    l.relevanceIn.toPrecision(4),
    `${(100 * l.absorbedShare).toFixed(1)}%`,
    l.gain === Infinity ? 'inf' : l.gain.toFixed(3) + (l.warning ? ' !' : ''),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((c, k) => c.padEnd(widths[k]!))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}
