/**
 * Every Kubernetes object of deploy/k8s (the base, each component, the production overlay as
 * rendered) against its upstream schema: the Kubernetes OpenAPI schema for built-in kinds, KEDA's
 * and the Prometheus Operator's CRD schemas for ScaledObject, ServiceMonitor and PrometheusRule.
 * Offline: the schemas come with the kubernetes-models packages (exact-pinned devDependencies).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readKustomization, readYamlDocuments, render, type Obj } from './support/kustomize';
import { schemaErrors } from './support/schemas';
import { unknownFieldErrors } from './support/strict-fields';

const ROOT = join(__dirname, '..', '..');
const K8S = join(ROOT, 'deploy', 'k8s');
const COMPONENTS = join(K8S, 'components');
const OVERLAYS = join(K8S, 'overlays');

const dirs = (parent: string): string[] =>
  readdirSync(parent)
    .map((d) => join(parent, d))
    .filter((d) => statSync(d).isDirectory());
const yamlIn = (dir: string): string[] => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');

describe('deploy/k8s against the Kubernetes and CRD schemas', () => {
  const overlay = render(join(OVERLAYS, 'production'));

  it('every manifest document of the base and the components is valid', () => {
    const files = [K8S, ...dirs(COMPONENTS)].flatMap((d) => yamlIn(d).map((f) => join(d, f)));
    expect(files.length).toBeGreaterThan(10);
    let documents = 0;
    for (const file of files) {
      for (const obj of readYamlDocuments(file)) {
        documents++;
        expect({ file: relative(ROOT, file), kind: obj.kind, name: obj.metadata?.name, errors: schemaErrors(obj) }).toEqual({
          file: relative(ROOT, file),
          kind: obj.kind,
          name: obj.metadata?.name,
          errors: '',
        });
      }
    }
    expect(documents).toBeGreaterThan(files.length);
  });

  it('every component and overlay is listed, and every file of a component is in its kustomization', () => {
    expect(
      dirs(COMPONENTS)
        .map((d) => relative(K8S, d))
        .sort(),
    ).toEqual(['components/autoscaling', 'components/monitoring']);
    const production = readKustomization(join(OVERLAYS, 'production'));
    expect([...(production.components as string[])].sort()).toEqual(['../../components/autoscaling', '../../components/monitoring']);
    expect(production.resources).toEqual(['../..']);
    for (const dir of dirs(COMPONENTS)) {
      const k = readKustomization(dir);
      expect({ dir: relative(K8S, dir), kind: k.kind, apiVersion: k.apiVersion }).toEqual({
        dir: relative(K8S, dir),
        kind: 'Component',
        apiVersion: 'kustomize.config.k8s.io/v1alpha1',
      });
      expect({ dir: relative(K8S, dir), resources: [...(k.resources as string[])].sort() }).toEqual({
        dir: relative(K8S, dir),
        resources: yamlIn(dir).sort(),
      });
    }
  });

  it('the production overlay renders the base plus the components, all valid, all in the namespace', () => {
    const base = render(K8S);
    const kinds = (objs: { obj: Obj }[]) => objs.map(({ obj }) => `${obj.kind}/${obj.metadata.name}`).sort();
    // Exactly what the base has, plus the components' objects.
    expect(kinds(overlay)).toEqual(
      [
        ...kinds(base),
        'ConfigMap/rerank-grafana-dashboard',
        'PrometheusRule/rerank',
        'ScaledObject/rerank-worker-gpu-bge-reranker-v2-gemma',
        'ScaledObject/rerank-worker-gpu-bge-reranker-v2-m3',
        'ServiceMonitor/rerank',
      ].sort(),
    );
    for (const { source, obj } of overlay) {
      expect({ source, kind: obj.kind, name: obj.metadata.name, errors: schemaErrors(obj) }).toEqual({
        source,
        kind: obj.kind,
        name: obj.metadata.name,
        errors: '',
      });
      const namespace = obj.kind === 'Namespace' ? undefined : 'rerank';
      expect({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }).toEqual({
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
      });
    }
    // Images from the base's `images:` are kept.
    const api = overlay.find(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === 'rerank-api')!.obj;
    expect(api.spec.template.spec.containers[0].image).toBe('registry.example.com/rerank/rerank-service:0.1.0');
  });

  it("the autoscaling component hands each scaled worker Deployment's replica count to KEDA", () => {
    const targets = overlay.filter(({ obj }) => obj.kind === 'ScaledObject').map(({ obj }) => obj.spec.scaleTargetRef.name as string);
    expect(targets.sort()).toEqual(['rerank-worker-gpu-bge-reranker-v2-gemma', 'rerank-worker-gpu-bge-reranker-v2-m3']);
    for (const name of targets) {
      const base = render(K8S).find(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === name)!.obj;
      const scaled = overlay.find(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === name)!.obj;
      expect({ name, replicas: base.spec.replicas }).toEqual({ name, replicas: 1 });
      expect({ name, replicas: 'replicas' in scaled.spec }).toEqual({ name, replicas: false });
    }
    // The other Deployments keep theirs.
    expect(overlay.find(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === 'rerank-api')!.obj.spec.replicas).toBe(2);
  });

  it('no object has a field its schema does not know (what `kubectl apply --validate=strict` refuses)', () => {
    const errors = unknownFieldErrors(overlay.map(({ obj }) => obj));
    expect(overlay.map(({ obj }, i) => ({ kind: obj.kind, name: obj.metadata.name, unknown: errors[i] }))).toEqual(
      overlay.map(({ obj }) => ({ kind: obj.kind, name: obj.metadata.name, unknown: [] })),
    );
  });

  describe('the validator rejects broken manifests (it is not a no-op)', () => {
    const pick = (kind: string, name: string): Obj =>
      structuredClone(overlay.find(({ obj }) => obj.kind === kind && obj.metadata.name === name)!.obj);

    it('Deployment: replicas as a string, a container without a name', () => {
      const d = pick('Deployment', 'rerank-api');
      d.spec.replicas = '2';
      delete d.spec.template.spec.containers[0].name;
      expect(schemaErrors(d)).toBe(
        'data/spec/replicas must be integer, data/spec/template/spec/containers/0 must have required property name',
      );
    });

    it('HorizontalPodAutoscaler and PodDisruptionBudget: wrong types', () => {
      const hpa = pick('HorizontalPodAutoscaler', 'rerank-api');
      hpa.spec.maxReplicas = 'ten';
      expect(schemaErrors(hpa)).toBe('data/spec/maxReplicas must be integer');
      const pdb = pick('PodDisruptionBudget', 'rerank-api');
      pdb.spec.selector = 'app=rerank-api';
      expect(schemaErrors(pdb)).toBe('data/spec/selector must be object');
    });

    it('ScaledObject (KEDA CRD): minReplicaCount as a string, trigger metadata values that are not strings, no scaleTargetRef', () => {
      const so = pick('ScaledObject', 'rerank-worker-gpu-bge-reranker-v2-m3');
      so.spec.minReplicaCount = 'one';
      so.spec.triggers[0].metadata.threshold = 16;
      expect(schemaErrors(so)).toBe('data/spec/minReplicaCount must be integer, data/spec/triggers/0/metadata/threshold must be string');
      const noTarget = pick('ScaledObject', 'rerank-worker-gpu-bge-reranker-v2-m3');
      delete noTarget.spec.scaleTargetRef;
      expect(schemaErrors(noTarget)).toBe('data/spec must have required property scaleTargetRef');
    });

    it('PrometheusRule and ServiceMonitor (Prometheus Operator CRDs): `for` as a number, endpoints not a list', () => {
      const rule = pick('PrometheusRule', 'rerank');
      rule.spec.groups[0].rules[0].for = 300;
      expect(schemaErrors(rule)).toBe('data/spec/groups/0/rules/0/for must be string');
      const sm = pick('ServiceMonitor', 'rerank');
      sm.spec.endpoints = { port: 'http' };
      expect(schemaErrors(sm)).toBe('data/spec/endpoints must be array');
    });

    it('unknown fields, at any depth: a misspelt container key, a ScaledObject field KEDA does not have', () => {
      const d = pick('Deployment', 'rerank-worker-gpu-bge-reranker-v2-m3');
      d.spec.template.spec.containers[0].imag = d.spec.template.spec.containers[0].image;
      const so = pick('ScaledObject', 'rerank-worker-gpu-bge-reranker-v2-m3');
      so.spec.minReplicas = 1;
      const [deployment, scaledObject] = unknownFieldErrors([d, so]);
      expect(deployment).toEqual(["Object literal may only specify known properties, and '\"imag\"' does not exist in type 'IContainer'."]);
      expect(scaledObject).toEqual([
        expect.stringMatching(/^Object literal may only specify known properties, and '"minReplicas"' does not exist in type /),
      ]);
    });

    it('an apiVersion without a schema is an error, not a pass', () => {
      expect(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toBe(
        'no schema for apiVersion example.com/v1: add its kubernetes-models package to test/deploy/support/schemas.ts',
      );
    });
  });
});
