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

/** The runtime ran out of memory even for a single pair. */
export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
}
