// @ts-check
/**
 * One device's ONNX Runtime sessions, in a worker thread of its own.
 *
 * onnxruntime-node runs `session.run` synchronously on the calling thread, so sessions live here:
 * the main thread keeps tokenizing and building the next batch while this thread computes, and
 * several devices compute at once. Messages are handled one at a time, in order.
 *
 * In:  {type:'load', id, key, path, options}   -> {id, inputs, outputs}   (metadata of the graph)
 *      {type:'run', id, key, feeds, output, skip?} -> {id, data, dims, dtype}  (output as Float32Array)
 *                                                  or {id, skipped: true} when `skip` (an Int32Array on a
 *                                                  SharedArrayBuffer) was set to 1 before this thread reached the run
 * Errors come back as {id, error: {message, oom}}.
 */
const { parentPort } = require('node:worker_threads');
const ort = require('onnxruntime-node');

if (!parentPort) throw new Error('device-thread.js runs as a worker thread');
const port = parentPort;

/** @type {Map<string, import('onnxruntime-node').InferenceSession>} */
const sessions = new Map();

const OOM = /out of memory|failed to allocate|bad_alloc|BFCArena|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|cannot allocate/i;

/** @param {number} h IEEE half bits */
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** @param {import('onnxruntime-node').Tensor} tensor */
function toFloat32(tensor) {
  // A copy: the runtime may own the output's memory, and a copy can be transferred.
  if (tensor.type === 'float32') return /** @type {Float32Array} */ (tensor.data).slice();
  if (tensor.type === 'float16') {
    // onnxruntime-common hands float16 data over as a Float16Array where the platform has one (Node 24),
    // else as the raw half-precision bits in a Uint16Array (Node 22).
    if (!(tensor.data instanceof Uint16Array)) return Float32Array.from(/** @type {ArrayLike<number>} */ (tensor.data));
    const src = tensor.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
    return out;
  }
  throw new Error(`output ${tensor.type} is not a float tensor`);
}

/** @param {readonly import('onnxruntime-node').InferenceSession.ValueMetadata[]} list */
function describe(list) {
  return list.map((m) => ({
    name: m.name,
    type: m.isTensor ? m.type : 'non-tensor',
    rank: m.isTensor ? m.shape.length : -1,
  }));
}

port.on('message', async (msg) => {
  const { id } = msg;
  try {
    if (msg.type === 'load') {
      let session = sessions.get(msg.key);
      if (!session) {
        session = await ort.InferenceSession.create(msg.path, msg.options);
        sessions.set(msg.key, session);
      }
      port.postMessage({ id, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });
    } else if (msg.type === 'run') {
      // Every call in it was cancelled while it waited behind the run computing: skip it.
      if (msg.skip && Atomics.load(/** @type {Int32Array} */ (msg.skip), 0) === 1) {
        port.postMessage({ id, skipped: true });
        return;
      }
      const session = sessions.get(msg.key);
      if (!session) throw new Error(`no session ${msg.key} on this device`);
      /** @type {Record<string, import('onnxruntime-node').Tensor>} */
      const feeds = {};
      for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(f.dtype, f.data, f.dims);
      const result = await session.run(feeds, [msg.output]);
      const tensor = result[msg.output];
      const data = toFloat32(tensor);
      port.postMessage({ id, data, dims: tensor.dims, dtype: tensor.type }, [data.buffer]);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    port.postMessage({ id, error: { message, oom: OOM.test(message) } });
  }
});
