/**
 * Renders a kustomization the way `kubectl apply -k` would, for the subset of kustomize that
 * deploy/k8s uses (no kustomize binary here): resources (files and directories), components,
 * namespace, images, configMapGenerator (files, labels, no name hash) and JSON 6902 patches with a
 * target. Anything else is refused with the key's name, so a new feature in deploy/ fails loudly
 * here instead of being silently skipped.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Obj = Record<string, any>;

export interface Rendered {
  /** The file the object came from, relative to the repository root. */
  source: string;
  obj: Obj;
}

const ROOT = join(__dirname, '..', '..', '..');

const KUSTOMIZATION_KEYS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'components',
  'images',
  'configMapGenerator',
  'patches',
]);
/** Kinds that live outside namespaces (kustomize leaves them alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

export function readYamlDocuments(path: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (doc.errors.length) throw new Error(`${relative(ROOT, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Obj | null;
    if (value !== null) out.push(value);
  }
  return out;
}

export function readKustomization(dir: string): Obj {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_KEYS.has(key))
      throw new Error(
        `${relative(ROOT, dir)}/kustomization.yaml: "${key}" is not supported by test/deploy/support/kustomize.ts; extend it or use ${[...KUSTOMIZATION_KEYS].join(', ')}`,
      );
  }
  return k;
}

/** The objects `kubectl apply -k dir` would send, in order. */
export function render(dir: string): Rendered[] {
  const k = readKustomization(dir);
  const out: Rendered[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) out.push(...render(path));
    else out.push(...readYamlDocuments(path).map((obj) => ({ source: relative(ROOT, path), obj })));
  }
  for (const c of (k.components ?? []) as string[]) {
    const compDir = join(dir, c);
    const comp = readKustomization(compDir);
    if (comp.kind !== 'Component') throw new Error(`${relative(ROOT, compDir)}: listed under components but its kind is ${comp.kind}`);
    applyLayer(compDir, comp, out);
  }
  if (k.kind === 'Kustomization') applyLayer(dir, { ...k, resources: [], components: [] }, out);
  return out;
}

/** A component's (or the kustomization's own) generators, patches, images and namespace over `objects`. */
function applyLayer(dir: string, k: Obj, objects: Rendered[]): void {
  if (k.kind === 'Component') {
    for (const r of (k.resources ?? []) as string[])
      objects.push(...readYamlDocuments(join(dir, r)).map((obj) => ({ source: relative(ROOT, join(dir, r)), obj })));
  }
  for (const g of (k.configMapGenerator ?? []) as Obj[]) {
    if (!g.options?.disableNameSuffixHash)
      throw new Error(
        `${relative(ROOT, dir)}: configMapGenerator ${g.name} needs options.disableNameSuffixHash (the reader here does not compute name hashes)`,
      );
    const data: Record<string, string> = {};
    for (const f of (g.files ?? []) as string[]) data[basename(f)] = readFileSync(join(dir, f), 'utf8');
    objects.push({
      source: relative(ROOT, dir),
      obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name, labels: { ...(g.options.labels ?? {}) } }, data },
    });
  }
  for (const p of (k.patches ?? []) as Obj[]) {
    const targets = objects.filter(({ obj }) => matchesTarget(obj, p.target as Obj));
    if (targets.length === 0) throw new Error(`${relative(ROOT, dir)}: patch target ${JSON.stringify(p.target)} matches no object`);
    const ops = parse(p.patch as string) as Obj[];
    for (const t of targets) for (const op of ops) applyJsonPatch(t.obj, op);
  }
  for (const image of (k.images ?? []) as Obj[]) {
    for (const { obj } of objects) {
      for (const c of (obj.spec?.template?.spec?.containers ?? []) as Obj[]) {
        if (String(c.image).replace(/:[^/:]+$/, '') === image.name) c.image = `${image.newName ?? image.name}:${image.newTag ?? 'latest'}`;
      }
    }
  }
  if (k.namespace) for (const { obj } of objects) if (!CLUSTER_SCOPED.has(obj.kind as string)) obj.metadata.namespace = k.namespace;
}

function matchesTarget(obj: Obj, target: Obj): boolean {
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', obj.apiVersion];
  return (
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version) &&
    (target.kind === undefined || target.kind === obj.kind) &&
    (target.name === undefined || target.name === obj.metadata?.name)
  );
}

function applyJsonPatch(obj: Obj, op: Obj): void {
  const path = (op.path as string)
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = path.pop()!;
  let parent: Obj = obj;
  for (const key of path) {
    if (parent[key] === undefined) throw new Error(`patch ${op.op} ${op.path}: ${key} does not exist`);
    parent = parent[key];
  }
  if (op.op === 'remove') {
    if (!(last in parent)) throw new Error(`patch remove ${op.path}: nothing there`);
    delete parent[last];
  } else if (op.op === 'add' || op.op === 'replace') {
    parent[last] = op.value;
  } else {
    throw new Error(`patch op ${op.op} is not supported by test/deploy/support/kustomize.ts`);
  }
}
