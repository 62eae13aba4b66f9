/** Messages between the page and the explainer worker (worker.ts). Arrays travel as transferables. */
import type { AuditRow, ExplainerOptions, TextExplainerOptions } from '../../core/index.js';
import type { TensorData } from '../../core/onnx/tensor.js';

export type Backend = 'wasm' | 'webgpu';

export type Request =
  | { id: number; type: 'init'; backend: Backend; threads: number }
  | { id: number; type: 'load'; name: string; bytes: Uint8Array; vocab?: string }
  | { id: number; type: 'explain'; input: TensorData; options: ExplainerOptions; target: number | 'predicted' }
  | { id: number; type: 'explainText'; text: string; options: TextOptions; target: number | 'predicted' }
  | { id: number; type: 'compile'; options: ExplainerOptions | TextOptions; dims?: number[] };

/** A text model's explainer options (the vocabulary stays in the worker). */
export type TextOptions = Omit<TextExplainerOptions, 'vocab'>;

/** A text model's explanation: one relevance value per token. */
export interface TextExplained {
  tokens: string[];
  relevance: Float32Array;
  logits: number[];
  predicted: number;
  target: number;
  truncated: boolean;
  unknown: number;
  ms: number;
}

/** What the page needs of an explanation (Explanation minus what the app does not show). */
export interface Explained {
  relevance: TensorData;
  logits: TensorData;
  targets: number[];
  predicted: number[];
  audit?: AuditRow[];
  layers?: Record<string, TensorData>;
  ms: number;
}

export type ModelInfo =
  | {
      kind: 'image';
      /** Channels, height, width of one input image (NCHW). */
      chw: [number, number, number];
      hasLrn: boolean;
    }
  | { kind: 'text'; vocabSize: number; hasLrn: boolean };

export type Response =
  | { id: number; type: 'ok'; value: unknown }
  | { id: number; type: 'error'; message: string }
  | { id: number; type: 'progress'; done: number; total: number };
