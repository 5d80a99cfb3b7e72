/**
 * Validation of a manifest against its upstream schema, offline: the kubernetes-models packages
 * ship each kind's OpenAPI schema (Kubernetes) or CRD schema (KEDA, Prometheus Operator) compiled
 * to an ajv validator. They check types, required fields, enums and formats; like `kubectl apply`
 * without --validate=strict, they let unknown fields through (strict-fields.ts catches those).
 */
import type { Obj } from './kustomize';

interface ModelClass {
  new (data: Obj): { validate(): void };
}

/** apiVersion → the module path of that group/version in its kubernetes-models package. */
export const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

export function modelFor(apiVersion: string, kind: string): ModelClass {
  const module = MODULES[apiVersion];
  if (!module)
    throw new Error(`no schema for apiVersion ${apiVersion}: add its kubernetes-models package to test/deploy/support/schemas.ts`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module is picked per apiVersion at run time
  const ctor = (require(`${module}/${kind}`) as Record<string, ModelClass>)[kind];
  if (!ctor) throw new Error(`no schema for ${kind} in ${apiVersion}`);
  return ctor;
}

/** The schema's complaints about `obj` ('' when it is valid). */
export function schemaErrors(obj: Obj): string {
  let Model: ModelClass;
  try {
    Model = modelFor(String(obj.apiVersion), String(obj.kind));
  } catch (e) {
    return (e as Error).message;
  }
  try {
    new Model(obj).validate();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}
