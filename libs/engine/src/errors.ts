/**
 * Errors the engine throws. Each names what was wrong and how to fix it, so a caller
 * (or the API in front of it) can show the message as is.
 */

/** A bad argument or option: names the argument and the fix. */
export class RerankerArgumentError extends TypeError {
  override readonly name = 'RerankerArgumentError';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument}: ${message}`);
  }
}

/** A model that cannot be found, loaded, or does not fit its family. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/**
 * A model's graph failed inside the runtime on a batch (a shape frozen at export, an operator the
 * device lacks, ...): names the graph file, the device and the batch.
 */
export class ModelRunError extends Error {
  override readonly name = 'ModelRunError';
  constructor(
    /** The graph file. */
    readonly graph: string,
    readonly device: string,
    readonly batch: { rows: number; width: number },
    /** What the runtime said. */
    readonly runtimeMessage: string,
  ) {
    super(`${graph} ${ModelRunError.describe(device, batch, runtimeMessage)}`);
  }

  /** The message without the graph's path (for a service that names the model otherwise). */
  static describe(device: string, batch: { rows: number; width: number }, runtimeMessage: string): string {
    return (
      `failed on ${device} running a batch of ${batch.rows} × ${batch.width} tokens: ${runtimeMessage} ` +
      '(a graph that fails at some batch shapes was likely exported with shapes frozen from its sample input: export it again with scripts/export-onnx.py, which checks that)'
    );
  }
}

/** The runtime ran out of memory even for a single pair. */
export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}

/** A call whose AbortSignal fired: its pairs not yet in a device run were dropped (not a failure of the model or the input). */
export class ScoringCancelledError extends Error {
  override readonly name = 'ScoringCancelledError';
  constructor(readonly reason?: unknown) {
    super(`scoring cancelled${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`);
  }
}
