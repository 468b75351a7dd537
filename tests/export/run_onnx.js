// Runs an exported model.onnx in onnxruntime-node, a runtime independent of SoupLab.
// usage: node run_onnx.js MODEL.onnx CASES.json OUT_PREFIX
// CASES.json: [{"batch": B, "seq": T, "ids": [B*T ints]}, ...]
// Writes OUT_PREFIX<i>.f32 (the logits, float32 little-endian, row-major) per case and prints
// JSON [{"dims": [...]}, ...] on stdout. Needs NODE_PATH to reach onnxruntime-node.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, casesFile, prefix] = process.argv.slice(2);
  if (!prefix) throw new Error('usage: node run_onnx.js MODEL.onnx CASES.json OUT_PREFIX');
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  const summary = [];
  for (let i = 0; i < cases.length; ++i) {
    const c = cases[i];
    const ids = new ort.Tensor('int64', BigInt64Array.from(c.ids.map(BigInt)), [c.batch, c.seq]);
    const out = await session.run({ input_ids: ids });
    const logits = out.logits;
    fs.writeFileSync(prefix + i + '.f32', Buffer.from(logits.data.buffer, logits.data.byteOffset,
                                                      logits.data.byteLength));
    summary.push({ dims: logits.dims });
  }
  process.stdout.write(JSON.stringify(summary));
}

main().catch((e) => {
  process.stderr.write('run_onnx.js: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
