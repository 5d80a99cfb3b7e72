/**
 * Transformer pieces shared by every family: seeded parameters, linear layers (optionally dynamic-int8
 * quantized), LayerNorm, GELU, multi-head attention and the FFN.
 */
import { DataType, DataTypeCode } from '../onnx/onnx-proto';
import { FloatType, GraphBuilder } from '../onnx/graph-builder';
import { hashString, normalArray, Rng } from '../weights';

/**
 * Additive mask value for disallowed attention: large but finite (and representable in fp16), so a fully
 * masked row softmaxes to a uniform distribution instead of NaN. exp(-1e4) is exactly 0 in fp32.
 */
export const MASK_NEG = -1e4;

/** Weight-scale knobs, chosen so scores of different pairs differ clearly (see weights.ts header). */
export interface InitScales {
  /** Std of token embedding rows. */
  embedding: number;
  /** Gain of the q/k projections (std = gain/sqrt(in)); >1 makes attention content-dependent. */
  qk: number;
  /** Gain of other projections. */
  proj: number;
  /** Std of biases and LayerNorm betas, and of the LayerNorm gammas around 1. */
  bias: number;
}

export const DEFAULT_SCALES: InitScales = { embedding: 1, qk: 1.6, proj: 1, bias: 0.05 };

/** Drawn weight tensors by (seed, name, size, scale). */
export type WeightCache = Map<string, Float32Array>;

export interface TransformerDims {
  hidden: number;
  heads: number;
  intermediate: number;
}

/** How a graph's weights are drawn and stored, the same for every architecture. */
export interface WeightOptions {
  floatType?: FloatType;
  outputDtype?: 'float32' | 'float16';
  quantize?: boolean;
  scales?: InitScales;
  /** Weight cache shared between graphs of one model. */
  weightCache?: WeightCache;
}

export class ModelContext {
  constructor(
    readonly b: GraphBuilder,
    readonly seed: number,
    readonly quantize = false,
    readonly scales: InitScales = DEFAULT_SCALES,
    /** Shared by the graphs of one model (variants, fp16, quantized) so weights are drawn once. */
    private readonly cache?: WeightCache,
  ) {}

  /**
   * Draws a tensor from N(mean, std²) with a generator seeded by (model seed, tensor name), so a tensor's
   * values do not depend on which other tensors a graph variant contains.
   */
  values(name: string, n: number, std: number, mean = 0): Float32Array {
    const key = `${this.seed}:${name}:${n}:${std}:${mean}`;
    const hit = this.cache?.get(key);
    if (hit) return hit;
    const v = normalArray(new Rng((this.seed ^ hashString(name)) | 0), n, std, mean);
    this.cache?.set(key, v);
    return v;
  }

  /** A parameter initializer in the graph's float type. */
  param(name: string, dims: number[], std: number, mean = 0): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.param(name, this.values(name, n, std, mean), dims);
  }

  /** x[..., inDim] @ W[inDim, outDim] + bias. */
  linear(x: string, name: string, inDim: number, outDim: number, gain = this.scales.proj, bias = true): string {
    const std = gain / Math.sqrt(inDim);
    let y: string;
    if (this.quantize) {
      y = this.quantizedMatMul(x, `${name}.weight`, this.values(`${name}.weight`, inDim * outDim, std), [inDim, outDim]);
    } else {
      y = this.b.op('MatMul', [x, this.param(`${name}.weight`, [inDim, outDim], std)]);
    }
    return bias ? this.b.op('Add', [y, this.param(`${name}.bias`, [outDim], this.scales.bias)]) : y;
  }

  /**
   * Dynamic int8 quantization as onnxruntime's quantize_dynamic emits it: the activation is quantized at
   * run time to uint8 (DynamicQuantizeLinear), the weight is stored as symmetric per-tensor int8, and
   * MatMulInteger's int32 result is rescaled by activation_scale * weight_scale.
   */
  private quantizedMatMul(x: string, name: string, w: Float32Array, dims: number[]): string {
    const { abs, round } = Math; // locals: global lookups are slow in vm contexts (Jest)
    let maxAbs = 0;
    for (let i = 0; i < w.length; i++) if (abs(w[i]) > maxAbs) maxAbs = abs(w[i]);
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    const q = new Int8Array(w.length); // |w / scale| <= 127 by construction
    for (let i = 0; i < w.length; i++) q[i] = round(w[i] / scale);
    this.b.countParameters(w.length);
    const wq = this.b.initializer(`${name}_quantized`, q, DataType.INT8, dims);
    const wScale = this.b.initializer(`${name}_scale`, Float32Array.of(scale), DataType.FLOAT, []);
    const wZero = this.b.initializer(`${name}_zero_point`, Int8Array.of(0), DataType.INT8, []);
    const [xq, xScale, xZero] = this.b.node('DynamicQuantizeLinear', [x], {}, 3);
    const acc = this.b.op('MatMulInteger', [xq, wq, xZero, wZero]);
    const accF = this.b.op('Cast', [acc], { to: DataType.FLOAT });
    return this.b.op('Mul', [accF, this.b.op('Mul', [xScale, wScale])]);
  }

  layerNorm(x: string, name: string, dim: number, eps: number): string {
    const gamma = this.param(`${name}.weight`, [dim], this.scales.bias, 1);
    const beta = this.param(`${name}.bias`, [dim], this.scales.bias);
    return this.b.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { f: eps } });
  }

  /** Exact GELU, 0.5·x·(1 + erf(x/√2)) (opset 17 has no Gelu op; ORT fuses this pattern). */
  gelu(x: string): string {
    const b = this.b;
    const e = b.op('Erf', [b.op('Div', [x, b.scalarFloat(Math.SQRT2)])]);
    return b.op('Mul', [b.op('Mul', [x, b.op('Add', [e, b.scalarFloat(1)])]), b.scalarFloat(0.5)]);
  }

  /**
   * Multi-head self-attention over x [B, T, H]; `maskAdd` is an additive mask broadcastable to
   * [B, heads, T, T] (0 where allowed, MASK_NEG where not).
   */
  attention(x: string, maskAdd: string, name: string, dims: TransformerDims): string {
    const b = this.b;
    const { hidden, heads } = dims;
    const hd = hidden / heads;
    const split = b.constInt64([0, 0, heads, hd]);
    const proj = (p: string, gain: number, perm: number[]): string =>
      b.op('Transpose', [b.op('Reshape', [this.linear(x, `${name}.${p}`, hidden, hidden, gain), split])], { perm });
    const q = proj('q_proj', this.scales.qk, [0, 2, 1, 3]); // [B, h, T, d]
    const k = proj('k_proj', this.scales.qk, [0, 2, 3, 1]); // [B, h, d, T]
    const v = proj('v_proj', this.scales.proj, [0, 2, 1, 3]); // [B, h, T, d]
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, k]), b.scalarFloat(1 / Math.sqrt(hd))]), maskAdd]);
    const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), b.constInt64([0, 0, hidden])]);
    return this.linear(merged, `${name}.o_proj`, hidden, hidden);
  }

  /** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight (Qwen3, as LlamaRMSNorm). */
  rmsNorm(x: string, name: string, dim: number, eps: number): string {
    const b = this.b;
    const meanSquare = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const normed = b.op('Div', [x, b.op('Sqrt', [b.op('Add', [meanSquare, b.scalarFloat(eps)])])]);
    return b.op('Mul', [normed, this.param(`${name}.weight`, [dim], this.scales.bias, 1)]);
  }

  /**
   * Rotary position tables for head size `hd`: cos and sin of position · θ^(-2k/hd), each half
   * repeated (Hugging Face's rotate_half layout), shaped [P, 1, T, hd] from positions [P, T] (int64).
   */
  rotaryTables(positions: string, hd: number, theta: number): { cos: string; sin: string } {
    const b = this.b;
    const invFreq = Array.from({ length: hd / 2 }, (_, k) => theta ** ((-2 * k) / hd));
    const angles = b.op('Mul', [b.op('Unsqueeze', [b.castFloat(positions), b.constInt64([-1])]), b.constFloat(invFreq)]); // [P, T, hd/2]
    const full = b.op('Unsqueeze', [b.op('Concat', [angles, angles], { axis: -1 }), b.constInt64([1])]); // [P, 1, T, hd]
    return { cos: b.op('Cos', [full]), sin: b.op('Sin', [full]) };
  }

  /** x · cos + rotate_half(x) · sin over x [B, h, T, hd], rotate_half(x) = [-x2, x1]. */
  applyRotary(x: string, rope: { cos: string; sin: string }, hd: number): string {
    const b = this.b;
    const half = (start: number, end: number) => b.op('Slice', [x, b.constInt64([start]), b.constInt64([end]), b.constInt64([-1])]);
    const rotated = b.op('Concat', [b.op('Neg', [half(hd / 2, hd)]), half(0, hd / 2)], { axis: -1 });
    return b.op('Add', [b.op('Mul', [x, rope.cos]), b.op('Mul', [rotated, rope.sin])]);
  }

  /**
   * Self-attention with rotary positions over x [B, T, H] (ModernBERT, Qwen3): no biases; `qkNorm`
   * applies a per-head RMSNorm to q and k before the rotation, as Qwen3 does.
   */
  rotaryAttention(
    x: string,
    maskAdd: string,
    name: string,
    dims: TransformerDims,
    rope: { cos: string; sin: string },
    qkNorm?: { eps: number },
  ): string {
    const b = this.b;
    const { hidden, heads } = dims;
    const hd = hidden / heads;
    const split = b.constInt64([0, 0, heads, hd]);
    const proj = (p: string, gain: number) => {
      let h = b.op('Reshape', [this.linear(x, `${name}.${p}`, hidden, hidden, gain, false), split]); // [B, T, h, d]
      if (qkNorm && p !== 'v_proj') h = this.rmsNorm(h, `${name}.${p[0]}_norm`, hd, qkNorm.eps);
      return b.op('Transpose', [h], { perm: [0, 2, 1, 3] }); // [B, h, T, d]
    };
    const q = this.applyRotary(proj('q_proj', this.scales.qk), rope, hd);
    const k = this.applyRotary(proj('k_proj', this.scales.qk), rope, hd);
    const v = proj('v_proj', this.scales.proj);
    const kT = b.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, kT]), b.scalarFloat(1 / Math.sqrt(hd))]), maskAdd]);
    const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), b.constInt64([0, 0, hidden])]);
    return this.linear(merged, `${name}.o_proj`, hidden, hidden, this.scales.proj, false);
  }

  /** Gated MLP without biases: down(act(gate(x)) · up(x)); `act` GELU (ModernBERT's GLU) or SiLU (Qwen3's SwiGLU). */
  gatedMlp(x: string, name: string, dims: TransformerDims, act: 'gelu' | 'silu'): string {
    const b = this.b;
    const gate = this.linear(x, `${name}.gate_proj`, dims.hidden, dims.intermediate, this.scales.proj, false);
    const up = this.linear(x, `${name}.up_proj`, dims.hidden, dims.intermediate, this.scales.proj, false);
    const activated = act === 'gelu' ? this.gelu(gate) : b.op('Mul', [gate, b.op('Sigmoid', [gate])]);
    return this.linear(b.op('Mul', [activated, up]), `${name}.down_proj`, dims.intermediate, dims.hidden, this.scales.proj, false);
  }

  ffn(x: string, name: string, dims: TransformerDims): string {
    const h = this.gelu(this.linear(x, `${name}.up_proj`, dims.hidden, dims.intermediate));
    return this.linear(h, `${name}.down_proj`, dims.intermediate, dims.hidden);
  }

  /**
   * The same post-LN block as onnxruntime's transformer optimizer leaves it: one com.microsoft
   * Attention (packed QKV, raw 0/1 key mask), SkipLayerNormalization (residual + bias + LayerNorm in
   * one kernel) and BiasGelu. Same weights as `postLnBlock`, so the same scores up to float rounding.
   */
  fusedPostLnBlock(x: string, mask32: string, name: string, dims: TransformerDims, eps: number): string {
    const b = this.b;
    const { hidden: H, heads, intermediate: I } = dims;
    const a = `${name}.attention`;
    const qkv = new Float32Array(H * 3 * H);
    const parts = [
      this.values(`${a}.q_proj.weight`, H * H, this.scales.qk / Math.sqrt(H)),
      this.values(`${a}.k_proj.weight`, H * H, this.scales.qk / Math.sqrt(H)),
      this.values(`${a}.v_proj.weight`, H * H, this.scales.proj / Math.sqrt(H)),
    ];
    for (let r = 0; r < H; r++) parts.forEach((w, k) => qkv.set(w.subarray(r * H, (r + 1) * H), r * 3 * H + k * H));
    const qkvBias = new Float32Array(3 * H);
    ['q_proj', 'k_proj', 'v_proj'].forEach((p, k) => qkvBias.set(this.values(`${a}.${p}.bias`, H, this.scales.bias), k * H));
    const attn = b.contrib(
      'Attention',
      [x, b.param(`${a}.qkv.weight`, qkv, [H, 3 * H]), b.param(`${a}.qkv.bias`, qkvBias, [3 * H]), mask32],
      {
        num_heads: heads,
        mask_filter_value: { f: MASK_NEG },
      },
    );
    const skipNorm = (input: string, skip: string, bias: string, norm: string) =>
      b.contrib(
        'SkipLayerNormalization',
        [input, skip, this.param(`${norm}.weight`, [H], this.scales.bias, 1), this.param(`${norm}.bias`, [H], this.scales.bias), bias],
        {
          epsilon: { f: eps },
        },
      );
    const h = skipNorm(
      this.linear(attn, `${a}.o_proj`, H, H, this.scales.proj, false),
      x,
      this.param(`${a}.o_proj.bias`, [H], this.scales.bias),
      `${name}.attention_norm`,
    );
    const m = `${name}.mlp`;
    const up = b.contrib('BiasGelu', [
      this.linear(h, `${m}.up_proj`, H, I, this.scales.proj, false),
      this.param(`${m}.up_proj.bias`, [I], this.scales.bias),
    ]);
    const down = this.linear(up, `${m}.down_proj`, I, H, this.scales.proj, false);
    return skipNorm(down, h, this.param(`${m}.down_proj.bias`, [H], this.scales.bias), `${name}.output_norm`);
  }

  /** Post-LN block (BERT / XLM-R): x = LN(x + attn(x)); x = LN(x + ffn(x)). */
  postLnBlock(x: string, maskAdd: string, name: string, dims: TransformerDims, eps: number): string {
    const b = this.b;
    const h = this.layerNorm(
      b.op('Add', [x, this.attention(x, maskAdd, `${name}.attention`, dims)]),
      `${name}.attention_norm`,
      dims.hidden,
      eps,
    );
    return this.layerNorm(b.op('Add', [h, this.ffn(h, `${name}.mlp`, dims)]), `${name}.output_norm`, dims.hidden, eps);
  }

  /** Pre-LN block (decoders): h = x + attn(LN(x)); x = h + ffn(LN(h)). */
  preLnBlock(x: string, maskAdd: string, name: string, dims: TransformerDims, eps: number): string {
    const b = this.b;
    const a = this.attention(this.layerNorm(x, `${name}.input_layernorm`, dims.hidden, eps), maskAdd, `${name}.self_attn`, dims);
    const h = b.op('Add', [x, a]);
    const f = this.ffn(this.layerNorm(h, `${name}.post_attention_layernorm`, dims.hidden, eps), `${name}.mlp`, dims);
    return b.op('Add', [h, f]);
  }

  /** Additive key-padding mask [B, 1, 1, T] from an int64 attention_mask [B, T]. */
  keyMask(attentionMask: string): string {
    const b = this.b;
    const m = b.op('Unsqueeze', [b.castFloat(attentionMask), b.constInt64([1, 2])]);
    return b.op('Mul', [b.op('Sub', [m, b.scalarFloat(1)]), b.scalarFloat(-MASK_NEG)]);
  }

  /** int64 [T] = 0, 1, …, T-1 where T = dim 1 of `ref` ([B, T]). */
  arange(ref: string): string {
    const b = this.b;
    const t = b.op('Gather', [b.op('Shape', [ref]), b.scalarInt64(1)], { axis: 0 });
    return b.op('Range', [b.scalarInt64(0), t, b.scalarInt64(1)]);
  }

  /** Casts a float result to the requested output type and gives it the output name. */
  finish(x: string, outputName: string, outputType: 'float32' | 'float16'): void {
    const code = outputType === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
    if (code === this.b.floatCode) this.b.named(outputName, 'Identity', [x]);
    else this.b.named(outputName, 'Cast', [x], { to: code });
  }
}

/** ONNX element type of a graph output: the requested dtype, else the graph's float type. */
export function outputCode(outputDtype: 'float32' | 'float16' | undefined, b: GraphBuilder): DataTypeCode {
  return (outputDtype ?? b.floatType) === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}
