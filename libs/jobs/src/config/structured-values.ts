/**
 * The structured values of the configuration: models, keys, devices with their models, host lists,
 * Redis URLs. Each is a value type (values.ts) whose messages follow the variable's name.
 */
import { z } from 'zod';
import { FAMILIES, deviceName, parseDevice } from '@rerank/engine';
import { HostList } from '../net/address-policy';
import { parseRedisUrl } from '../redis';
import { commaList, parsed, type Parsed, type ValueType } from './values';

export interface ApiKey {
  label: string;
  key: string;
}

/** One worker process of a launcher: its device and, when the device entry names them (`cuda:0=a+b`), its models. */
export interface DeviceSlot {
  device: string;
  /** Models of this device only; undefined: RERANK_WORKER_MODELS (default every configured model). */
  models?: string[];
}

const MODEL_FIELDS = ['name', 'path', 'family', 'options', 'generated'];
const got = (issue: { input?: unknown }) => `, got ${JSON.stringify(issue.input)}`;
const nameError = (issue: { input?: unknown }) => `expected a name of letters, digits and . _ - : / (at most 128)${got(issue)}`;

/** One model of RERANK_MODELS. */
const modelEntry = z.strictObject(
  {
    /** What clients send as `model`. */
    name: z.string({ error: nameError }).regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, { error: nameError }),
    /** A model directory or a hub id. */
    path: z
      .string({ error: (i) => `expected a model directory or hub id${got(i)}` })
      .trim()
      .min(1, 'expected a model directory or hub id, got ""'),
    family: z.enum(FAMILIES, { error: (i) => `expected one of ${FAMILIES.join(', ')}${got(i)}` }).optional(),
    /** Engine constructor options (camelCase, as `AutoReranker.fromFinetuned` takes them). */
    options: z.record(z.string(), z.unknown(), 'expected an object of engine options (camelCase, e.g. {"maxLength":512})').optional(),
    /** A generated test model (set by the stack); workers also detect it from config.json. */
    generated: z.boolean('expected true or false').optional(),
  },
  {
    error: (i) =>
      i.code === 'unrecognized_keys'
        ? `unknown key ${i.keys.map((k) => `"${k}"`).join(', ')} (known: ${MODEL_FIELDS.join(', ')})`
        : 'expected an object {"name","path","family"?,"options"?}',
  },
);

export type ModelConfig = z.output<typeof modelEntry>;

/** RERANK_MODELS: the shorthand `name=path,name2=path2` or a JSON array of model entries. */
export function modelList(): ValueType<ModelConfig[]> {
  const entries = z.string().transform((raw, ctx): unknown => {
    if (raw.startsWith('[') || raw.startsWith('{')) {
      try {
        return JSON.parse(raw);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          message: `not valid JSON (${(e as Error).message}); use [{"name":"...","path":"..."}] or name=path,name2=path2`,
          input: raw,
        });
        return z.NEVER;
      }
    }
    return commaList(raw).map((part) => {
      const eq = part.indexOf('=');
      const [name, path] = eq > 0 ? [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] : ['', ''];
      if (!name || !path)
        ctx.addIssue({ code: 'custom', message: `"${part}" is not name=path; use name=path,name2=path2 or the JSON form`, input: raw });
      return { name, path };
    });
  });
  const list = z
    .array(modelEntry, 'the JSON form must be an array of {"name","path","family"?,"options"?}')
    .min(1, 'lists no model')
    .superRefine((models, ctx) => {
      const names = models.map((m) => m.name);
      for (const [i, name] of names.entries())
        if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', message: `model name "${name}" is listed twice`, input: models });
    });
  return { schema: entries.pipe(list), label: 'models: name=path,... or JSON', quoted: false };
}

/** RERANK_API_KEYS, RERANK_ADMIN_KEYS: `key` or `label:key`, comma separated. */
export function keyList(): ValueType<ApiKey[]> {
  return parsed('keys: label:key,...', (raw) => {
    const keys: ApiKey[] = [];
    const problems: Parsed<ApiKey[]>['problems'] = [];
    commaList(raw).forEach((part, i) => {
      const colon = part.indexOf(':');
      const label = colon > 0 ? part.slice(0, colon).trim() : `key${i + 1}`;
      const key = colon > 0 ? part.slice(colon + 1).trim() : part;
      if (key.length < 8 || /\s/.test(key))
        problems.push({ message: `the key labelled "${label}" must be at least 8 characters without spaces` });
      else if (keys.some((k) => k.key === key)) problems.push({ message: `the key labelled "${label}" is listed twice` });
      else keys.push({ label, key });
    });
    return { value: keys, problems };
  });
}

/** Model names, comma separated (checked against RERANK_MODELS by the configuration). */
export function modelNames(): ValueType<string[]> {
  return parsed('model names, comma separated', (raw) => {
    const names = [...new Set(commaList(raw))];
    const problems = names.length
      ? []
      : [{ message: 'lists no model; name models of RERANK_MODELS, comma separated, or leave it unset for all' }];
    return { value: names, problems };
  });
}

/** `cpu,cuda:0=llm,cuda:1=minilm+bge`: devices, each optionally placing models on itself. */
function readDeviceSlots(raw: string): Parsed<DeviceSlot[]> {
  const slots: DeviceSlot[] = [];
  const problems: Parsed<DeviceSlot[]>['problems'] = [];
  for (const part of commaList(raw)) {
    const eq = part.indexOf('=');
    const device = (eq >= 0 ? part.slice(0, eq) : part).trim();
    let slot: DeviceSlot;
    try {
      slot = { device: deviceName(parseDevice(device)) };
    } catch {
      problems.push({
        message: `unknown device "${device}"; use cpu, cuda:0, cuda:1, ... comma separated (a device may name its models: cuda:0=a+b)`,
      });
      continue;
    }
    if (eq >= 0) {
      const models = [
        ...new Set(
          part
            .slice(eq + 1)
            .split('+')
            .map((m) => m.trim())
            .filter(Boolean),
        ),
      ];
      if (models.length === 0) {
        problems.push({
          message: `"${part}" names no model after "="; write ${device}=model or ${device}=model1+model2, or just ${device} for RERANK_WORKER_MODELS`,
        });
        continue;
      }
      slot.models = models;
    }
    slots.push(slot);
  }
  if (slots.length === 0 && problems.length === 0) problems.push({ message: 'lists no device; use cpu or cuda:0,cuda:1,...' });
  return { value: slots, problems };
}

export function deviceList(): ValueType<DeviceSlot[]> {
  return parsed('devices: cpu, cuda:N, ... (each optionally =model+model)', readDeviceSlots);
}

/**
 * RERANK_DEVICES or the launcher's --devices (`name`): the slots, the device names alone, and the
 * problems, each naming `name` (model names are checked against RERANK_MODELS by checkSlotModels).
 */
export function parseDevices(text: string, name = 'RERANK_DEVICES'): { devices: string[]; slots: DeviceSlot[]; problems: string[] } {
  const { value: slots, problems } = readDeviceSlots(text);
  return { devices: slots.map((s) => s.device), slots, problems: problems.map((p) => `${name}: ${p.message}`) };
}

/** Model names of device entries (`cuda:0=a+b`) that RERANK_MODELS does not configure: one problem each, naming the configured ones. */
export function checkSlotModels(slots: readonly DeviceSlot[], models: readonly ModelConfig[], name = 'RERANK_DEVICES'): string[] {
  const names = models.map((m) => m.name);
  return slots.flatMap((slot) =>
    (slot.models ?? [])
      .filter((m) => !names.includes(m))
      .map((m) => `${name}: ${slot.device} names model "${m}", which is not a model of RERANK_MODELS (${names.join(', ')})`),
  );
}

const fromHostList = ({ list, problems }: { list: HostList; problems: string[] }, hint = '') => ({
  value: list,
  problems: problems.map((message) => ({ message: message + hint })),
});

/** Hostnames and CIDRs, comma separated. */
export function hostList(): ValueType<HostList> {
  return parsed('hostnames and CIDRs', (raw) => fromHostList(HostList.parse(raw)));
}

/** `true` (any peer), `false`, or the proxies' addresses/CIDRs. */
export function trustedProxies(): ValueType<HostList | 'all' | null> {
  return parsed<HostList | 'all' | null>('true, or addresses/CIDRs', (raw) => {
    if (/^(true|1|all|\*)$/i.test(raw)) return { value: 'all', problems: [] };
    if (/^(false|0|none)$/i.test(raw)) return { value: null, problems: [] };
    return fromHostList(HostList.parse(raw), ' (or true to trust any peer)');
  });
}

/** REDIS_URL: one of parseRedisUrl's forms. */
export function redisUrl(): ValueType<string> {
  const schema = z.string().superRefine((raw, ctx) => {
    try {
      if (parseRedisUrl(raw).kind === 'single' && !URL.canParse(raw)) throw new Error('expected redis://[user:pass@]host:port[/db]');
    } catch (e) {
      // parseRedisUrl's messages name REDIS_URL and its value; the variable's name comes first here.
      const message = (e as Error).message.replace(`REDIS_URL=${JSON.stringify(raw)}: `, '').replace(/^REDIS_URL /, '');
      ctx.addIssue({ code: 'custom', message, input: raw });
    }
  });
  return { schema, label: 'URL (redis://, rediss://, redis+cluster://, redis+sentinel://)', quoted: true };
}
