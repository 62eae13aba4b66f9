#!/usr/bin/env node
/** The `relprop` command. Every failure is one line on stderr and a non-zero exit. */
import { Command, CommanderError, Option } from 'commander';
import { bundledModel } from '../bundled.js';
import { demoCommand } from './demo-cmd.js';
import { explainCommand } from './explain-cmd.js';
import { inspectCommand } from './inspect-cmd.js';
import { testCommand, trainCommand, wordVectorsCommand } from './train-cmd.js';
import { batchSizeOption, explainMethodOptions, imageFitOptions, imageOptions, quietOption, seedOption, threadsOption } from './options.js';
import { nonNegInt, num, posInt } from './values.js';

try {
  await import('../register.js'); // the default runtime (RELPROP_RUNTIME, or what is installed)
} catch (e) {
  process.stderr.write(`relprop: error: ${(e as Error).message}\n`);
  process.exit(1);
}

const program = new Command();
program.name('relprop').description('Explain ONNX classifiers with Layer-wise Relevance Propagation').version('0.1.0');
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `relprop: ${s}` : s) });
// A model given as `default` is the bundled one, wherever relprop is installed (a file so named: ./default).
program.hook('preAction', (_, cmd) => {
  for (const key of ['model', 'init']) if (cmd.getOptionValue(key) === 'default') cmd.setOptionValue(key, bundledModel().model);
  const i = cmd.registeredArguments.findIndex((a) => a.name() === 'model');
  if (i >= 0 && cmd.processedArgs[i] === 'default') cmd.processedArgs[i] = bundledModel().model;
});
const MODEL = 'ONNX model ("default": the bundled Fashion-MNIST CNN)';

const explain = program
  .command('explain')
  .description(
    'explain a model on an input file (.npy, PNG/JPEG or JSON) and write the relevance as .npy; or, with --data, every sample of a data set into a folder',
  )
  .requiredOption('--model <file>', MODEL)
  .option('--input <file>', 'input: .npy (first axis = batch), PNG/JPEG image, or JSON')
  .option(
    '--data <path>',
    'instead of --input, a data set of any size, read a batch at a time: IDX images file or folder, .npy array (first axis = samples) or folder of PNG/JPEG images (flat or one sub-folder per class); --out is then a folder',
  )
  .requiredOption('--out <path>', 'relevance output (.npy, same shape as the input; per token for token ids); with --data, a new folder')
  .option('--target <t>', 'class index, comma-separated list (one per sample), or "predicted"; with --data also "label"', 'predicted')
  .option('--labels <file>', 'with --data: labels (.npy or IDX) when not found beside the images')
  .addOption(new Option('--split <s>', 'with --data on an IDX folder: which split').choices(['test', 'train']))
  .option('--offset <n>', 'with --data: skip the first n samples', nonNegInt('--offset'))
  .option('--limit <n>', 'with --data: explain at most n samples', posInt('--limit'))
  .option('--heatmaps', 'with --data: one heatmap PNG per sample in OUT/heatmaps/')
  .option('--fresh', 'with --data: discard an unfinished run in the --out folder and start over')
  .option('--heatmap <file>', 'heatmap PNG (numbered per sample when the batch has several)')
  .addOption(
    new Option('--colormap <name>', 'heatmap colours; auto: viridis (0 … max) for maps without negative values, else bwr (red +, blue −)')
      .choices(['auto', 'bwr', 'coldnhot', 'gray', 'viridis'])
      .default('auto'),
  )
  .addOption(
    new Option(
      '--heatmap-style <style>',
      'side-by-side: input | heatmap | colour bar; overlay: heatmap over the input, colour bar; bare: the heatmap alone',
    ).choices(['side-by-side', 'overlay', 'bare']),
  )
  .option('--overlay', 'short for --heatmap-style overlay; with --heatmap-style bare: the bare heatmap blended over the input image')
  .option('--summary <file>', 'JSON summary: logits, predicted class, target, relevance sum vs logit, layer audit')
  .option('--audit', 'print the per-layer conservation audit (LRP)')
  .option('--save-explainer <file>', 'save the compiled explainer ONNX graph');
explainMethodOptions(explain, ['sensitivity', 'taylor']);
imageOptions(explain, 'image input', true);
quietOption(explain).action(async (opts) => explainCommand(opts));

const inspect = program
  .command('inspect')
  .description('list the layers of a model and the rule each gets')
  .argument('<model>', MODEL)
  .option('--shape <dims>', 'input shape for models with free dimensions, e.g. 1x3x224x224')
  .option('--json', 'print JSON');
explainMethodOptions(inspect).action(async (model, opts) => inspectCommand(model, opts));

const train = program
  .command('train')
  .description('train a model (a JSON spec or a preset) and save it as an inference ONNX with a JSON card')
  .option('--spec <file>', 'model spec (JSON)')
  .option('--preset <name>', 'a named model: fmnist-cnn, mlp')
  .requiredOption(
    '--data <path>',
    'training data: IDX folder/file, .npy (with --labels), token ids .jsonl (relprop text-encode), or an image folder (one sub-folder per class)',
  )
  .option('--labels <file>', 'labels .npy for a .npy input')
  .option('--val <path>', 'validation data (same forms)')
  .option('--val-labels <file>', 'labels .npy for --val')
  .option('--val-split <share>', 'hold out this share of the training data for validation', num('--val-split'))
  .option('--test <path>', 'test data, scored after training and recorded in the model card')
  .option('--epochs <n>', 'epochs', posInt('--epochs'), 10)
  // The mini-batch of gradient descent, not the runtime batch of batchSizeOption.
  .option('--batch-size <n>', 'mini-batch size', posInt('--batch-size'), 64)
  .option('--optimizer <name>', 'adam or sgd', 'adam')
  .option('--lr <rate>', 'learning rate', num('--lr'), 1e-3)
  .option('--momentum <m>', 'SGD momentum (default 0.9)', num('--momentum'))
  .option('--weight-decay <w>', 'weight decay (decoupled for Adam)', num('--weight-decay'))
  .option('--schedule <name>', 'learning-rate schedule: constant, step, cosine', 'constant')
  .option('--step-every <n>', 'step schedule: epochs between decays (x0.1)', posInt('--step-every'))
  .option('--loss <name>', 'cross-entropy, mse, multitask-mse, multitask-mae', 'cross-entropy')
  .option('--patience <n>', 'early stopping: epochs without validation improvement', posInt('--patience'));
seedOption(train, 'initialisation, shuffling, dropout', 0);
threadsOption(train)
  .requiredOption('--out <file>', 'output model (.onnx; the card goes beside it as .json)')
  .option('--checkpoint-dir <dir>', 'write a checkpoint after every epoch')
  .option('--resume', 'continue from the checkpoint in --checkpoint-dir')
  .option('--init <model.onnx>', "start from this model's weights (names and shapes that match); its card gives the spec unless --spec/--preset")
  .option('--freeze <layers>', 'comma-separated layer names to keep fixed (train a new head)')
  .option('--max-length <n>', 'token-id JSONL: pad or cut documents to this many tokens', posInt('--max-length'))
  .option('--init-param <name=file.npy...>', 'initialise a parameter from a .npy (e.g. embedding_0.weight=vectors.npy)')
  .option('--class-names <list>', 'comma-separated class names for the model card');
imageFitOptions(train, 'image folders');
quietOption(train, 'print nothing but errors').action(async (opts) => trainCommand(opts));

const wordVectors = program
  .command('word-vectors')
  .description('word vectors (PPMI + truncated SVD) from token-id JSONL, to initialise an embedding with --init-param')
  .requiredOption('--data <file>', 'token ids as JSONL (relprop text-encode)')
  .requiredOption('--vocab-size <n>', 'vocabulary size', posInt('--vocab-size'))
  .option('--dim <n>', 'vector size', posInt('--dim'), 64)
  .option('--window <n>', 'context window (words on each side)', posInt('--window'))
  .option('--contexts <n>', 'number of most frequent context words', posInt('--contexts'))
  .option('--skip <ids>', 'token ids that are not words (default 0,1: padding, unknown)');
seedOption(wordVectors, "the SVD's random probes", 0).requiredOption('--out <file>', 'vectors .npy [vocab, dim]');
quietOption(wordVectors).action(async (opts) => wordVectorsCommand(opts));

const test = program
  .command('test')
  .description('accuracy (or MAE) of an ONNX model on a labelled data set')
  .argument('<model>', MODEL)
  .requiredOption('--data <path>', 'IDX folder/file (test split), .npy (with --labels), or an image folder')
  .option('--labels <file>', 'labels .npy for a .npy input');
batchSizeOption(test, 256, 'samples per run');
threadsOption(test);
imageFitOptions(test, 'image folders');
quietOption(test, 'only the summary line').action(async (model, opts) => testCommand(model, opts));

const demo = program
  .command('demo')
  .description('explain the bundled Fashion-MNIST model on its sample images with several methods')
  .option('--out <dir>', 'output folder', 'relprop-demo');
threadsOption(demo);
quietOption(demo).action(async (opts) => demoCommand(opts));

(await import('./evaluate-cmd.js')).registerEvaluateCommand(program);
(await import('./text-commands.js')).registerTextCommands(program);
(await import('./rbm-cmd.js')).registerRbmCommands(program);
(await import('./dbm-cmd.js')).registerDbmCommands(program);
(await import('./boltzmann-cmd.js')).registerBoltzmannCommands(program);
(await import('../molecules/cli.js')).registerMoleculesCommands(program);
(await import('./web-cmd.js')).registerWebCommand(program);
(await import('../fisher/cli.js')).registerFisherCommands(program);
(await import('../faces/cli.js')).registerFacesCommands(program);
(await import('./localisation-cmd.js')).registerLocalisationCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    // One line, whatever the message (ONNX Runtime's can span several).
    process.stderr.write(`relprop: error: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  }
}
