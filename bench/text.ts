/**
 * Text explanations: documents explained per second (LRP, batches of 64) and the explainer's time
 * over the forward time of the same text model, measured in one run on onnxruntime-node.
 *
 *   npm run build && node dist/bench/text.js [--model examples/text/standin/textcnn.onnx]
 *       [--data ../shared/datasets/debian-descriptions/test.jsonl] [--threads 1] [--lengths 64,128,256]
 *
 * Times are medians of round-robin runs (robust to load changes on a shared machine).
 * 1. Fixed shape: a batch [64, L] of real test documents (cut/padded to L): median time of
 *    Explainer.explain (LRP-ε, the paper's variant; and SA) vs an ORT forward run of the original
 *    model on the same ids.
 * 2. End to end: every test document, tokenized, grouped by bucket, explained 64 at a time
 *    (TextExplainer.explainTexts), vs the forward passes of the same groups.
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { loadJsonlDataset } from '../src/node/text/dataset.js';
import { TextExplainer } from '../src/node/api.js';
import { loadVocabulary, vocabPathFor } from '../src/node/files.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

/**
 * Median time of each function, measured round-robin (one call of each per round) so that a
 * change of load on a shared machine hits all of them alike and their ratios stay meaningful.
 */
async function timeRoundRobin(fns: (() => Promise<unknown>)[], minMs = 2000, minRounds = 9): Promise<number[]> {
  for (const f of fns) await f(); // warm-up: allocations, kernel selection
  const times: number[][] = fns.map(() => []);
  const t0 = performance.now();
  while (times[0]!.length < minRounds || performance.now() - t0 < minMs) {
    for (let i = 0; i < fns.length; i++) {
      const s = performance.now();
      await fns[i]!();
      times[i]!.push(performance.now() - s);
    }
    if (times[0]!.length >= 60) break;
  }
  return times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

async function main() {
  const modelPath = arg('model', join(ROOT, 'examples', 'text', 'standin', 'textcnn.onnx'));
  const dataPath = arg('data', join(ROOT, '..', 'shared', 'datasets', 'debian-descriptions', 'test.jsonl'));
  const threads = Number(arg('threads', '1'));
  const lengths = arg('lengths', '64,128,256').split(',').map(Number);
  const B = 64;
  const vocab = loadVocabulary(arg('vocab', vocabPathFor(modelPath)));
  const ds = loadJsonlDataset(dataPath, vocab.labels);
  const lrp = await TextExplainer.create(modelPath, { vocab, threads, batchSize: B });
  const sa = await TextExplainer.create(modelPath, { vocab, method: 'sa', threads, batchSize: B });
  const fwd = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const inName = fwd.inputNames[0]!;

  console.log(
    `relprop text explanations, ${modelPath}, onnxruntime-node ${ort.env.versions.common}, ${cpus()[0]?.model} ×${cpus().length}, ${threads} thread(s), Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`LRP: ${lrp.describe()}`);
  console.log('\n1. fixed shape, batch 64');
  console.log(
    'LRP ms: TextExplainer.explainIds (per-token relevance of a batch, from ids); graph: session.run of the same compiled explainer (all outputs / logits + per-token relevance only)',
  );
  console.log('length  forward ms  LRP ms  LRP/fwd  LRP docs/s  graph/fwd  tokens-only/fwd  SA ms  SA/fwd');
  const results: Record<string, unknown>[] = [];
  for (const L of lengths) {
    const ids = new BigInt64Array(B * L).fill(BigInt(vocab.padId));
    for (let r = 0; r < B; r++) {
      const e = vocab.encode(ds.docs[r % ds.docs.length]!.text);
      for (let t = 0; t < L; t++) ids[r * L + t] = BigInt(e.ids[t] ?? vocab.padId);
    }
    const rows = { ids, n: B, L };
    const feeds = { [inName]: new ort.Tensor('int64', ids, [B, L]) };
    const c = await lrp.explainer.compile([B, L]);
    const graph = await ort.InferenceSession.create(c.model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const gFeeds = { [c.input]: feeds[inName]!, [c.seedInput]: new ort.Tensor('int64', new BigInt64Array(B).fill(-1n), [B]) };
    const [tf, tl, tg, tt, ts] = (await timeRoundRobin([
      () => fwd.run(feeds),
      () => lrp.explainIds(rows),
      () => graph.run(gFeeds),
      () => graph.run(gFeeds, [c.logits, c.relevance]),
      () => sa.explainIds(rows),
    ])) as [number, number, number, number, number];
    await graph.release();
    results.push({ L, forwardMs: tf, lrpMs: tl, graphMs: tg, graphTokensOnlyMs: tt, saMs: ts });
    console.log(
      `${String(L).padStart(6)}  ${tf.toFixed(2).padStart(10)}  ${tl.toFixed(2).padStart(6)}  ${(tl / tf).toFixed(2).padStart(7)}  ${((B / tl) * 1000).toFixed(0).padStart(10)}  ${(tg / tf).toFixed(2).padStart(9)}  ${(tt / tf).toFixed(2).padStart(15)}  ${ts.toFixed(2).padStart(5)}  ${(ts / tf).toFixed(2).padStart(6)}`,
    );
  }

  console.log(`\n2. end to end: ${ds.docs.length} documents (tokenize, bucket, explain 64 at a time)`);
  const texts = ds.docs.map((d) => d.text);
  const { encoded, groups } = lrp.encodeAll(texts);
  const batches: { ids: BigInt64Array; n: number; L: number }[] = [];
  for (const [L, idx] of groups) for (let i = 0; i < idx.length; i += B) batches.push(TextExplainer.rowsOf(encoded, idx.slice(i, i + B), L));
  const [tForward, tExplainIds, tExplain] = (await timeRoundRobin(
    [
      async () => {
        for (const b of batches) await fwd.run({ [inName]: new ort.Tensor('int64', b.ids, [b.n, b.L]) });
      },
      async () => {
        for (const b of batches) await lrp.explainIds(b);
      },
      async () => {
        for (let i = 0; i < texts.length; i += B) await lrp.explainTexts(texts.slice(i, i + B));
      },
    ],
    4000,
    5,
  )) as [number, number, number];
  console.log(
    `forward (pre-bucketed ids): ${tForward.toFixed(1)} ms; LRP on the same batches: ${tExplainIds.toFixed(1)} ms (${(tExplainIds / tForward).toFixed(2)}×)`,
  );
  console.log(`LRP from raw text (tokenize + bucket + explain): ${tExplain.toFixed(1)} ms = ${((texts.length / tExplain) * 1000).toFixed(0)} documents/s`);
  console.log(JSON.stringify({ fixed: results, endToEnd: { documents: texts.length, forwardMs: tForward, lrpIdsMs: tExplainIds, lrpTextMs: tExplain } }));
  await lrp.release();
  await sa.release();
  await fwd.release();
}

await main();
