/**
 * The deployment files cannot run here (no Docker engine, no cluster), so they are checked by
 * construction: docker-compose.yml, deploy/k8s/*.yaml and deploy/docker/Dockerfile* are parsed and
 * held against the code they start (entry points, ports, health paths, configuration variables).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARS, type EnvVar, ConfigError, loadConfig, parseDevices, type ProcessName } from '@rerank/jobs';
import { ENGINE_ENV_VARS } from '@rerank/engine';

type Obj = Record<string, any>;

const ROOT = join(__dirname, '..', '..');
const K8S_DIR = join(ROOT, 'deploy', 'k8s');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ---- what the deployment files may refer to ---------------------------------------------------

/** Every variable of the service, with the processes that read it (libs/jobs/src/config/sections.ts). */
const CONFIG_NAMES = new Set<string>(CONFIG_VARS.map((v) => v.name));
const DECLARED: ReadonlyMap<string, EnvVar> = new Map(CONFIG_VARS.map((v) => [v.name, v]));
/** Used only while building an image, never by the service. */
/** Variables the NVIDIA container toolkit reads from the GPU image (which GPUs and driver libraries to mount). */
const CONTAINER_RUNTIME_VARS = ['NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES'];
/** Variables a deployed process reads (not only `npm start` or the test harness). */
const KNOWN_RUNTIME_VARS = new Set<string>(
  CONFIG_VARS.filter((v) => v.readers.some((p: ProcessName) => p !== 'stack' && p !== 'harness')).map((v) => v.name),
);

/** Default health ports of the processes without an HTTP API (launcher 8081, aggregator 8082, in their main files). */
const DEFAULT_HEALTH_PORT: Record<string, number> = { launcher: 8081, aggregator: 8082 };
/** How long the launcher waits for its workers after SIGTERM before killing them. */
const LAUNCHER_STOP_TIMEOUT_S = (() => {
  const m = /STOP_TIMEOUT_MS\s*=\s*(\d+)/.exec(read('apps/worker/src/launcher.ts'));
  return m ? Number(m[1]) / 1000 : 60;
})();

type Role = 'api' | 'aggregator' | 'launcher' | 'worker' | 'cli';

/** Entry points a command may name: the compiled file, its TypeScript source, its role. */
const ENTRY_POINTS: { dist: string; source: string; role: Role }[] = [
  { dist: 'dist/apps/api/src/main.js', source: 'apps/api/src/main.ts', role: 'api' },
  { dist: 'dist/apps/aggregator/src/main.js', source: 'apps/aggregator/src/main.ts', role: 'aggregator' },
  { dist: 'dist/apps/worker/src/launcher.js', source: 'apps/worker/src/launcher.ts', role: 'launcher' },
  { dist: 'dist/apps/worker/src/main.js', source: 'apps/worker/src/main.ts', role: 'worker' },
  { dist: 'bin/rerank.js', source: 'apps/cli/src/main.ts', role: 'cli' },
];

/** The processes a container of each role runs: the launcher forks workers with its environment. */
const ROLE_PROCESSES: Record<Role, readonly ProcessName[]> = {
  api: ['api'],
  aggregator: ['aggregator'],
  launcher: ['launcher', 'worker'],
  worker: ['worker'],
  cli: ['cli'],
};

/**
 * Variables set for one container (not the shared ConfigMap or compose anchor) that no process of
 * its role reads: an API-only limit on a worker does nothing, and usually means the wrong file.
 */
function misplacedVars(names: Iterable<string>, role: Role): string[] {
  const runs = ROLE_PROCESSES[role];
  const out: string[] = [];
  for (const name of names) {
    const v = DECLARED.get(name);
    if (!v) out.push(`${name}: not a variable of the service`);
    else if (!v.readers.some((p) => runs.includes(p))) out.push(`${name}: read by ${v.readers.join(', ')}, not by ${runs.join(', ')}`);
  }
  return out;
}

/** The roles a command starts; fails on a dist/ or bin/ path that is no known entry point or has no source. */
function rolesOf(command: string[] | string): Role[] {
  const text = Array.isArray(command) ? command.join(' ') : command;
  const roles: Role[] = [];
  for (const m of text.matchAll(/(?:dist\/[\w./-]+\.js|bin\/[\w.-]+\.js)/g)) {
    const entry = ENTRY_POINTS.find((e) => e.dist === m[0]);
    if (!entry)
      throw new Error(
        `"${text}" starts ${m[0]}, which is not an entry point of the service (${ENTRY_POINTS.map((e) => e.dist).join(', ')})`,
      );
    if (!existsSync(join(ROOT, entry.source))) throw new Error(`"${text}" starts ${m[0]}, but its source ${entry.source} does not exist`);
    roles.push(entry.role);
  }
  return roles;
}

/** `--devices a,b` on the command line wins over RERANK_DEVICES, as in the launcher. */
function devicesOf(command: string[], env: Obj): string[] {
  const i = command.indexOf('--devices');
  const spec = i >= 0 ? command[i + 1] : (env.RERANK_DEVICES ?? 'cpu');
  const parsed = parseDevices(String(spec));
  if (parsed.problems.length) throw new Error(parsed.problems.join('; '));
  return parsed.devices;
}

/** N GPUs inside a container are cuda:0..cuda:N-1, one worker process each. */
function expectOneProcessPerGpu(devices: string[], gpus: number, where: string): void {
  expect({ where, devices }).toEqual({ where, devices: Array.from({ length: gpus }, (_, i) => `cuda:${i}`) });
}

/** Loads the configuration the way the process would; returns the problems (none: it starts). */
function configProblems(env: Obj, role: Role): string[] {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== null && v !== undefined) strings[k] = String(v);
  try {
    loadConfig(strings, { requireModels: role !== 'aggregator' });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

// ---- files ------------------------------------------------------------------------------------

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out.sort();
}

function parseDocuments(path: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: Obj[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${relative(ROOT, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Obj | null;
    if (value !== null) out.push(value);
  }
  return out;
}

// ---- Dockerfiles ------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped, as the Docker builder reads them. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (!current && !line.trim()) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(current);
    if (!m) throw new Error(`cannot read Dockerfile line: ${current}`);
    out.push({ op: m[1].toUpperCase(), args: m[2] });
    current = '';
  }
  if (current) throw new Error(`Dockerfile ends inside a continued line: ${current}`);
  return out;
}

const DOCKERFILE_OPS = new Set([
  'FROM',
  'ARG',
  'ENV',
  'WORKDIR',
  'COPY',
  'ADD',
  'RUN',
  'USER',
  'EXPOSE',
  'CMD',
  'ENTRYPOINT',
  'LABEL',
  'HEALTHCHECK',
  'SHELL',
  'STOPSIGNAL',
  'VOLUME',
  'ONBUILD',
]);

/** `ENV A=1 B=2` (or the old `ENV A 1`): the names. */
function envNames(args: string): string[] {
  if (!args.includes('=')) return [args.split(/\s+/)[0]];
  return [...args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]);
}

interface DockerImage {
  file: string;
  instructions: Instruction[];
  /** The final stage's base image, ARG defaults substituted. */
  base: string;
  cmd: string[];
  user: string | undefined;
  env: Obj;
  /** What does not hold together (unknown instruction, COPY of a missing or ignored path, ...). */
  problems: string[];
}

function readDockerImage(file: string): DockerImage {
  const instructions = parseDockerfile(read(file));
  const args: Record<string, string> = {};
  const stages: string[] = [];
  let base = '';
  let cmd: string[] = [];
  let user: string | undefined;
  let env: Obj = {};
  const problems: string[] = [];
  for (const { op, args: a } of instructions) {
    if (!DOCKERFILE_OPS.has(op)) problems.push(`unknown instruction ${op}`);
    if (op === 'ARG') {
      const m = /^(\w+)(?:=(.*))?$/.exec(a.trim());
      if (!m) throw new Error(`${file}: bad ARG ${a}`);
      if (m[2] !== undefined) args[m[1]] = m[2];
    } else if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(a.trim());
      if (!m) throw new Error(`${file}: bad FROM ${a}`);
      base = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, x: string, y: string) => {
        const name = x ?? y;
        if (!(name in args)) problems.push(`FROM uses $${name}, which no ARG before the first FROM defines`);
        return args[name] ?? '';
      });
      if (m[2]) stages.push(m[2]);
      // A new stage starts afresh.
      cmd = [];
      user = undefined;
      env = {};
    } else if (op === 'COPY' || op === 'ADD') {
      const parts = a.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((p) => !p.startsWith('--'));
      const sources = paths.slice(0, -1);
      if (from) {
        if (!stages.includes(from)) problems.push(`COPY --from=${from}: no earlier stage of that name`);
      } else {
        for (const src of sources) {
          if (src === '.') continue;
          if (!existsSync(join(ROOT, src))) problems.push(`COPY ${src}: not in the repository`);
          if (dockerIgnored(src)) problems.push(`COPY ${src}: excluded by .dockerignore`);
        }
      }
    } else if (op === 'ENV') {
      for (const name of envNames(a)) env[name] = true;
    } else if (op === 'USER') {
      user = a.trim();
    } else if (op === 'CMD') {
      cmd = JSON.parse(a) as string[];
    }
  }
  return { file, instructions, base, cmd, user, env, problems };
}

/** .dockerignore entries are paths from the context root here (no wildcards used). */
function dockerIgnored(path: string): boolean {
  const file = join(ROOT, '.dockerignore');
  if (!existsSync(file)) return false;
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '');
  return patterns.some((p) => clean === p || clean.startsWith(`${p}/`));
}

const CPU_IMAGE = readDockerImage('deploy/docker/Dockerfile');
const GPU_IMAGE = readDockerImage('deploy/docker/Dockerfile.gpu');
/** Image name (without tag and registry) to the Dockerfile that builds it. */
const OUR_IMAGES: Record<string, DockerImage> = { 'rerank-service': CPU_IMAGE, 'rerank-service-gpu': GPU_IMAGE };

function ourImage(image: string): DockerImage | undefined {
  const name =
    image
      .replace(/:[^/:]+$/, '')
      .split('/')
      .pop() ?? '';
  return OUR_IMAGES[name];
}

describe('Dockerfiles', () => {
  it.each([CPU_IMAGE, GPU_IMAGE])('$file: stages, copies and entry point hold together', (image) => {
    expect(image.problems).toEqual([]);
    expect(image.cmd.length).toBeGreaterThan(0);
    expect(rolesOf(image.cmd).length).toBe(1);
    // Non-root at run time.
    expect(image.user).toBeDefined();
    expect(image.user).not.toMatch(/^(root|0)(:|$)/);
    const text = image.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    // Dependencies from the lockfile, TypeScript built, dev dependencies left out of the runtime.
    expect(text).toMatch(/RUN npm ci\b/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(image.env.RERANK_CACHE_DIR).toBe(true);
  });

  it('the CPU image runs Node 24 on Debian slim, the API listening on every interface of the container', () => {
    expect(CPU_IMAGE.base).toMatch(/^node:24-bookworm-slim$/);
    expect(rolesOf(CPU_IMAGE.cmd)).toEqual(['api']);
    expect(CPU_IMAGE.env.RERANK_HOST).toBe(true);
  });

  it('the GPU image runs Node 24 with the CUDA provider from `npm run setup:gpu`, asks the toolkit for the driver, and runs the launcher', () => {
    expect(GPU_IMAGE.base).toMatch(/^node:24-bookworm-slim$/);
    const text = GPU_IMAGE.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    // The same command as on a host, before the prune; it fails the build when a wheel does not check out.
    expect(text).toMatch(/npm run build && npm run setup:gpu -- --cache \S+ && rm -rf \S+ && npm prune --omit=dev/);
    expect(text).toMatch(/COPY --from=build \/app\/node_modules \.\/node_modules/);
    expect(GPU_IMAGE.env.NVIDIA_DRIVER_CAPABILITIES).toBe(true);
    expect(GPU_IMAGE.env.NVIDIA_VISIBLE_DEVICES).toBe(true);
    expect(rolesOf(GPU_IMAGE.cmd)).toEqual(['launcher']);
    expect(GPU_IMAGE.env.RERANK_DEVICES).toBe(true);
  });

  it.each([CPU_IMAGE, GPU_IMAGE])('$file: sets only known variables', (image) => {
    for (const name of Object.keys(image.env)) {
      const known = KNOWN_RUNTIME_VARS.has(name) || (image === GPU_IMAGE && CONTAINER_RUNTIME_VARS.includes(name));
      expect({ file: image.file, name, known }).toEqual({ file: image.file, name, known: true });
    }
    for (const { op, args } of image.instructions) {
      if (op !== 'RUN') continue;
      for (const m of args.matchAll(/(?:^|&&|;|\s)([A-Z][A-Z0-9_]+)=/g)) {
        expect({ file: image.file, name: m[1], known: KNOWN_RUNTIME_VARS.has(m[1]) }).toEqual({
          file: image.file,
          name: m[1],
          known: true,
        });
      }
    }
  });

  it('the build context keeps dependencies, build output and local data out', () => {
    for (const path of ['node_modules', 'dist', 'data', '.git', '.env'])
      expect({ path, ignored: dockerIgnored(path) }).toEqual({ path, ignored: true });
    // ...but not what the build needs.
    for (const path of ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'tsconfig.build.json', 'apps', 'libs', 'bin']) {
      expect({ path, ignored: dockerIgnored(path) }).toEqual({ path, ignored: false });
    }
  });
});

// ---- configuration variables ------------------------------------------------------------------

describe('configuration variables', () => {
  it('docs/deploy.md documents every variable', () => {
    const doc = read('docs/deploy.md');
    for (const name of CONFIG_NAMES) expect({ name, documented: doc.includes(`| \`${name}\` |`) }).toEqual({ name, documented: true });
  });

  it('the engine reads only declared variables, declared for the processes that run it (workers, CLI)', () => {
    for (const { name } of ENGINE_ENV_VARS) {
      expect({ name, readers: DECLARED.get(name)?.readers }).toEqual({ name, readers: expect.arrayContaining(['worker', 'cli']) });
    }
  });

  it('a container setting a variable its processes do not read is flagged', () => {
    expect(misplacedVars(['RERANK_API_KEYS', 'RERANK_DEVICES', 'HF_TOKEN'], 'launcher')).toEqual([
      'RERANK_API_KEYS: read by api, not by launcher, worker',
    ]);
    expect(misplacedVars(['RERANK_DEVICES', 'RERANK_MAX_TOP_K'], 'aggregator')).toEqual([
      'RERANK_DEVICES: read by launcher, worker, stack, not by aggregator',
      'RERANK_MAX_TOP_K: read by api, not by aggregator',
    ]);
    expect(misplacedVars(['RERANK_MAX_DOCUMENT'], 'api')).toEqual(['RERANK_MAX_DOCUMENT: not a variable of the service']);
    expect(misplacedVars(['PORT', 'RERANK_API_KEYS', 'RERANK_TRUST_PROXY'], 'api')).toEqual([]);
  });
});

// ---- docker-compose.yml -----------------------------------------------------------------------

const COMPOSE_SERVICE_KEYS = new Set(
  (
    'develop deploy annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent command configs container_name cpu_count ' +
    'cpu_percent cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset credential_spec depends_on device_cgroup_rules ' +
    'devices dns dns_opt dns_search domainname entrypoint env_file label_file environment expose extends provider external_links extra_hosts ' +
    'gpus group_add healthcheck hostname image init ipc isolation labels links logging mac_address mem_limit mem_reservation mem_swappiness ' +
    'memswap_limit network_mode models networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop privileged ' +
    'profiles pull_policy pull_refresh_after read_only restart runtime scale security_opt shm_size secrets sysctls stdin_open ' +
    'stop_grace_period stop_signal storage_opt tmpfs tty ulimits use_api_socket user uts userns_mode volumes volumes_from working_dir'
  ).split(' '),
);
const HEALTHCHECK_KEYS = new Set(['disable', 'interval', 'retries', 'test', 'timeout', 'start_period', 'start_interval']);

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  // Compose resolves YAML merge keys (`<<: *anchor`).
  const compose = parse(text, { merge: true }) as Obj;
  const services = compose.services as Record<string, Obj>;

  /** `${NAME:-default}` as compose resolves it without NAME set; `$$` is a literal `$`. */
  const interpolate = (v: unknown): unknown =>
    typeof v === 'string'
      ? v
          .replace(/\$\$/g, '\u0000')
          .replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _n: string, d?: string) => d ?? '')
          .replace(/\u0000/g, '$')
      : v;
  const envOf = (svc: Obj): Obj => Object.fromEntries(Object.entries((svc.environment ?? {}) as Obj).map(([k, v]) => [k, interpolate(v)]));
  const commandOf = (svc: Obj): string[] => {
    const own = svc.command as string[] | string | undefined;
    if (own) return (Array.isArray(own) ? own : own.split(/\s+/)).map((c) => String(interpolate(c)));
    const image = svc.image ? ourImage(svc.image as string) : undefined;
    return image ? image.cmd : [];
  };
  const ours = Object.entries(services).filter(([, svc]) => svc.image && ourImage(svc.image as string));
  const roleOf = (svc: Obj): Role | undefined => rolesOf(commandOf(svc))[0];
  const gpuDevices = (svc: Obj): Obj[] => (svc.deploy?.resources?.reservations?.devices ?? []) as Obj[];

  it('parses, with known keys only', () => {
    for (const key of Object.keys(compose))
      expect(['name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) || key.startsWith('x-')).toBe(true);
    for (const [name, svc] of Object.entries(services)) {
      for (const key of Object.keys(svc))
        expect({ service: name, key, known: COMPOSE_SERVICE_KEYS.has(key) }).toEqual({ service: name, key, known: true });
      for (const key of Object.keys(svc.healthcheck ?? {}))
        expect({ service: name, key, known: HEALTHCHECK_KEYS.has(key) }).toEqual({ service: name, key, known: true });
    }
  });

  it('runs Redis 7 with append-only persistence on a named volume', () => {
    const redis = services.redis;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = (redis.command as string[]).join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    // Bounded memory: the stack's default unless RERANK_REDIS_MAXMEMORY is set.
    expect(/--maxmemory (\S+)/.exec(cmd)?.[1]).toBe('${RERANK_REDIS_MAXMEMORY:-1gb}');
    const dataVolume = (redis.volumes as string[]).find((v) => v.endsWith(':/data'));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(dataVolume!.split(':')[0]);
  });

  it('every service has an image, and our images are built from the Dockerfiles', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect({ service: name, image: typeof svc.image }).toEqual({ service: name, image: 'string' });
      const image = ourImage(svc.image as string);
      if (!image) continue;
      expect({ service: name, dockerfile: svc.build?.dockerfile }).toEqual({ service: name, dockerfile: image.file });
      expect(existsSync(join(ROOT, svc.build.context as string, svc.build.dockerfile as string))).toBe(true);
    }
  });

  it('starts the API, the aggregator and workers through entry points that exist', () => {
    const roles = ours.map(([, svc]) => roleOf(svc));
    for (const [name, svc] of ours) expect({ service: name, roles: rolesOf(commandOf(svc)).length }).toEqual({ service: name, roles: 1 });
    expect(roles).toEqual(expect.arrayContaining(['api', 'aggregator', 'launcher']));
    expect(services.api && roleOf(services.api)).toBe('api');
    expect(services.api.ports).toContain('3000:3000');
  });

  it('every long-running service has a healthcheck on its documented port and path', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (svc.restart === 'no') continue; // one-shot (models-init)
      const test = svc.healthcheck?.test as string[] | undefined;
      expect({ service: name, healthcheck: Array.isArray(test) && test.length > 1 }).toEqual({ service: name, healthcheck: true });
      const role = ourImage(String(svc.image)) ? roleOf(svc) : undefined;
      if (!role) continue;
      const url = /http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[\w/]+)/.exec(test!.join(' '));
      expect({ service: name, url: Boolean(url) }).toEqual({ service: name, url: true });
      const env = envOf(svc);
      const port = role === 'api' ? Number(env.PORT ?? 3000) : Number(env.HEALTH_PORT ?? DEFAULT_HEALTH_PORT[role]);
      expect({ service: name, port: Number(url![1]) }).toEqual({ service: name, port });
      expect(['/health/live', '/health/ready']).toContain(url![2]);
    }
  });

  it('depends_on uses conditions: Redis healthy first, workers after the model initializer', () => {
    for (const [name, svc] of ours) {
      if (svc.restart === 'no') continue;
      const deps = svc.depends_on as Record<string, Obj>;
      expect({ service: name, redis: deps?.redis?.condition }).toEqual({ service: name, redis: 'service_healthy' });
      for (const [dep, spec] of Object.entries(deps)) {
        expect(Object.keys(services)).toContain(dep);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(spec.condition);
        if (spec.condition === 'service_healthy') expect(services[dep].healthcheck).toBeDefined();
        if (spec.condition === 'service_completed_successfully') expect(services[dep].restart).toBe('no');
      }
    }
  });

  it('workers mount the models volume at RERANK_CACHE_DIR and get time to finish a shard on stop', () => {
    const seconds = (d: string): number => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);
    for (const [name, svc] of ours.filter(([, s]) => roleOf(s) === 'launcher')) {
      const cacheDir = envOf(svc).RERANK_CACHE_DIR as string;
      const mount = (svc.volumes as string[]).find((v) => v.endsWith(`:${cacheDir}`));
      expect({ service: name, models: Boolean(mount) }).toEqual({ service: name, models: true });
      expect(Object.keys(compose.volumes)).toContain(mount!.split(':')[0]);
      expect(seconds(svc.stop_grace_period as string)).toBeGreaterThan(LAUNCHER_STOP_TIMEOUT_S);
    }
  });

  it('the CPU worker runs on the CPU; the GPU worker (profile gpu) reserves as many NVIDIA GPUs as it lists devices', () => {
    const cpu = services.worker;
    expect(devicesOf(commandOf(cpu), envOf(cpu))).toEqual(['cpu']);
    expect(gpuDevices(cpu)).toEqual([]);

    const gpu = services['worker-gpu'];
    expect(gpu.profiles).toEqual(['gpu']);
    expect(ourImage(gpu.image as string)).toBe(GPU_IMAGE);
    expect(roleOf(gpu)).toBe('launcher');
    const [reservation, ...more] = gpuDevices(gpu);
    expect(more).toEqual([]);
    expect(reservation.driver).toBe('nvidia');
    expect(reservation.capabilities).toContain('gpu');
    expect(Number.isInteger(reservation.count)).toBe(true);
    expectOneProcessPerGpu(devicesOf(commandOf(gpu), envOf(gpu)), reservation.count as number, 'compose worker-gpu');
  });

  it('sets only known variables, and each service starts with its configuration', () => {
    // Compose itself reads interpolated variables (RERANK_REDIS_MAXMEMORY sizes its Redis, as `npm start` does): any declared one.
    for (const m of text.matchAll(/\$\{(\w+)/g))
      expect({ interpolated: m[1], known: CONFIG_NAMES.has(m[1]) }).toEqual({ interpolated: m[1], known: true });
    for (const [name, svc] of Object.entries(services)) {
      for (const key of Object.keys(svc.environment ?? {}))
        expect({ service: name, key, known: KNOWN_RUNTIME_VARS.has(key) }).toEqual({ service: name, key, known: true });
      const role = ourImage(String(svc.image)) ? roleOf(svc) : undefined;
      if (!role || role === 'cli') continue;
      expect({ service: name, problems: configProblems(envOf(svc), role) }).toEqual({ service: name, problems: [] });
    }
  });

  it('variables given to one service are read by that service; shared ones by some process', () => {
    const shared = (compose['x-rerank-env'] ?? {}) as Obj;
    for (const key of Object.keys(shared))
      expect({ shared: key, deployed: KNOWN_RUNTIME_VARS.has(key) }).toEqual({ shared: key, deployed: true });
    for (const [name, svc] of ours) {
      const role = roleOf(svc);
      if (!role || role === 'cli') continue;
      const own = Object.keys((svc.environment ?? {}) as Obj).filter((k) => !(k in shared));
      expect({ service: name, misplaced: misplacedVars(own, role) }).toEqual({ service: name, misplaced: [] });
    }
  });
});

// ---- Kubernetes -------------------------------------------------------------------------------

const KINDS: Record<string, string> = {
  Namespace: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
};
const CONTAINER_KEYS = new Set([
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'ports',
  'envFrom',
  'env',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'volumeMounts',
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
]);

describe('deploy/k8s', () => {
  // components/ and overlays/ are kustomizations of their own (optional CRD-based parts), checked in schemas.spec.ts and observability.spec.ts.
  const files = yamlFilesUnder(K8S_DIR).filter((f) => !/^(components|overlays)\//.test(relative(K8S_DIR, f)));
  const kustomization = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Obj;
  const resources = kustomization.resources as string[];
  const objects: { file: string; obj: Obj }[] = resources.flatMap((r) => parseDocuments(join(K8S_DIR, r)).map((obj) => ({ file: r, obj })));
  const byKind = (kind: string): Obj[] => objects.filter((o) => o.obj.kind === kind).map((o) => o.obj);
  const find = (kind: string, name: string): Obj | undefined => byKind(kind).find((o) => o.metadata.name === name);
  const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
  const configMap = find('ConfigMap', 'rerank-config')!;
  const secret = find('Secret', 'rerank-secrets')!;

  interface Container {
    workload: Obj;
    c: Obj;
    image: DockerImage | undefined;
    command: string[];
    role: Role | undefined;
    /** The environment the process gets: envFrom, then env (secretKeyRef resolved from the template). */
    env: Obj;
  }
  const containers: Container[] = workloads.flatMap((w) =>
    (w.spec.template.spec.containers as Obj[]).map((c) => {
      const image = ourImage(String(c.image));
      const command = [...((c.command ?? image?.cmd ?? []) as string[]), ...((c.args ?? []) as string[])];
      const env: Obj = {};
      for (const from of (c.envFrom ?? []) as Obj[]) {
        const source = from.configMapRef ? find('ConfigMap', from.configMapRef.name) : find('Secret', from.secretRef.name);
        Object.assign(env, source?.data ?? {}, source?.stringData ?? {});
      }
      for (const e of (c.env ?? []) as Obj[]) {
        if ('value' in e) env[e.name] = e.value;
        const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
        if (ref) {
          const source = e.valueFrom.secretKeyRef ? find('Secret', ref.name) : find('ConfigMap', ref.name);
          env[e.name] = source?.stringData?.[ref.key] ?? source?.data?.[ref.key];
        }
      }
      // A bad command fails its own test below (rolesOf), not the whole file.
      let role: Role | undefined;
      try {
        role = image ? rolesOf(command)[0] : undefined;
      } catch {
        role = undefined;
      }
      return { workload: w, c, image, command, role, env };
    }),
  );
  const ofRole = (role: Role): Container[] => containers.filter((x) => x.role === role);
  const gpuWorkers = containers.filter((x) => x.c.resources?.limits?.['nvidia.com/gpu'] !== undefined);

  it('kustomization.yaml lists exactly the manifest files present', () => {
    const present = files.map((f) => relative(K8S_DIR, f)).filter((f) => f !== 'kustomization.yaml');
    expect([...resources].sort()).toEqual(present);
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe(find('Namespace', kustomization.namespace as string)?.metadata.name);
  });

  it('every object has apiVersion, kind and metadata.name; names are unique per kind', () => {
    expect(objects.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const { file, obj } of objects) {
      expect({ file, kind: obj.kind, apiVersion: obj.apiVersion }).toEqual({ file, kind: obj.kind, apiVersion: KINDS[obj.kind] });
      expect({ file, kind: obj.kind, name: typeof obj.metadata?.name }).toEqual({ file, kind: obj.kind, name: 'string' });
      expect(obj.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      const key = `${obj.kind}/${obj.metadata.name}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      // kustomization.yaml sets the namespace.
      expect(obj.metadata.namespace).toBeUndefined();
    }
  });

  it('workloads: selectors match their pods, containers have images, names and known keys', () => {
    for (const w of workloads) {
      const labels = w.spec.template.metadata.labels as Obj;
      for (const [k, v] of Object.entries(w.spec.selector.matchLabels as Obj))
        expect({ workload: w.metadata.name, [k]: labels[k] }).toEqual({ workload: w.metadata.name, [k]: v });
    }
    for (const { workload, c } of containers) {
      expect({ workload: workload.metadata.name, image: typeof c.image, name: typeof c.name }).toEqual({
        workload: workload.metadata.name,
        image: 'string',
        name: 'string',
      });
      for (const key of Object.keys(c))
        expect({ container: c.name, key, known: CONTAINER_KEYS.has(key) }).toEqual({ container: c.name, key, known: true });
    }
    const images = new Set(containers.map((x) => String(x.c.image).replace(/:[^/:]+$/, '')));
    for (const entry of (kustomization.images ?? []) as Obj[]) expect(images.has(entry.name as string)).toBe(true);
  });

  it('our containers start entry points that exist: the API, the aggregator and the worker launcher', () => {
    for (const x of containers.filter((c) => c.image))
      expect({ container: x.c.name, roles: rolesOf(x.command).length }).toEqual({ container: x.c.name, roles: 1 });
    for (const role of ['api', 'aggregator', 'launcher'] as Role[])
      expect({ role, deployed: ofRole(role).length > 0 }).toEqual({ role, deployed: true });
  });

  it('probes: readiness on /health/ready and liveness on /health/live, on the port the process listens on', () => {
    for (const x of containers.filter((c) => c.role && c.role !== 'cli')) {
      const listens = x.role === 'api' ? Number(x.env.PORT ?? 3000) : Number(x.env.HEALTH_PORT ?? DEFAULT_HEALTH_PORT[x.role!]);
      const portOf = (p: string | number): number =>
        typeof p === 'number' ? p : ((x.c.ports as Obj[]).find((q) => q.name === p)?.containerPort as number);
      for (const [probe, path] of [
        ['readinessProbe', '/health/ready'],
        ['livenessProbe', '/health/live'],
      ] as const) {
        const get = x.c[probe]?.httpGet as Obj | undefined;
        expect({ container: x.workload.metadata.name, probe, path: get?.path, port: get && portOf(get.port) }).toEqual({
          container: x.workload.metadata.name,
          probe,
          path,
          port: listens,
        });
      }
    }
  });

  it('Services, the HPA and PodDisruptionBudgets select existing pods and ports', () => {
    for (const svc of byKind('Service')) {
      const pods = workloads.filter((w) =>
        Object.entries(svc.spec.selector as Obj).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      expect({ service: svc.metadata.name, pods: pods.length }).toEqual({ service: svc.metadata.name, pods: 1 });
      const ports = (pods[0].spec.template.spec.containers as Obj[]).flatMap((c) => (c.ports ?? []) as Obj[]);
      for (const p of svc.spec.ports as Obj[]) {
        const target = p.targetPort ?? p.port;
        expect({ service: svc.metadata.name, target, found: ports.some((q) => q.name === target || q.containerPort === target) }).toEqual({
          service: svc.metadata.name,
          target,
          found: true,
        });
      }
    }
    for (const hpa of byKind('HorizontalPodAutoscaler'))
      expect(find(hpa.spec.scaleTargetRef.kind as string, hpa.spec.scaleTargetRef.name as string)).toBeDefined();
    expect(byKind('HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name)).toContain(ofRole('api')[0].workload.metadata.name);
    for (const pdb of byKind('PodDisruptionBudget')) {
      const pods = workloads.filter((w) =>
        Object.entries(pdb.spec.selector.matchLabels as Obj).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      expect({ pdb: pdb.metadata.name, pods: pods.length }).toEqual({ pdb: pdb.metadata.name, pods: 1 });
    }
  });

  it('ConfigMaps, Secrets and PVCs referenced exist; Secret keys referenced exist unless optional', () => {
    for (const x of containers) {
      for (const from of (x.c.envFrom ?? []) as Obj[]) {
        const ref = from.configMapRef ? ['ConfigMap', from.configMapRef.name] : ['Secret', from.secretRef.name];
        expect({ container: x.c.name, ref, found: Boolean(find(ref[0], ref[1])) }).toEqual({ container: x.c.name, ref, found: true });
      }
      for (const e of (x.c.env ?? []) as Obj[]) {
        const ref = e.valueFrom?.secretKeyRef as Obj | undefined;
        if (!ref) continue;
        const s = find('Secret', ref.name as string);
        expect({ env: e.name, secret: ref.name, found: Boolean(s) }).toEqual({ env: e.name, secret: ref.name, found: true });
        if (!ref.optional)
          expect({ env: e.name, key: ref.key, found: ref.key in (s!.stringData ?? s!.data ?? {}) }).toEqual({
            env: e.name,
            key: ref.key,
            found: true,
          });
      }
    }
    for (const w of workloads) {
      for (const v of (w.spec.template.spec.volumes ?? []) as Obj[]) {
        if (v.persistentVolumeClaim)
          expect({ volume: v.name, pvc: Boolean(find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName as string)) }).toEqual({
            volume: v.name,
            pvc: true,
          });
      }
    }
  });

  it('sets only known variables, as strings', () => {
    for (const [what, data] of [
      ['ConfigMap', configMap.data],
      ['Secret', secret.stringData],
    ] as const) {
      for (const [k, v] of Object.entries(data as Obj)) {
        expect({ what, k, known: KNOWN_RUNTIME_VARS.has(k), type: typeof v }).toEqual({ what, k, known: true, type: 'string' });
      }
    }
    for (const x of containers.filter((c) => c.image)) {
      for (const e of (x.c.env ?? []) as Obj[]) {
        expect({ container: x.workload.metadata.name, name: e.name, known: KNOWN_RUNTIME_VARS.has(e.name as string) }).toEqual({
          container: x.workload.metadata.name,
          name: e.name,
          known: true,
        });
        if ('value' in e) expect(typeof e.value).toBe('string');
      }
    }
  });

  it('variables set on one container are read by its processes (a worker with an API-only variable is flagged)', () => {
    for (const x of containers.filter((c) => c.role && c.role !== 'cli')) {
      const own = ((x.c.env ?? []) as Obj[]).map((e) => e.name as string);
      expect({ workload: x.workload.metadata.name, misplaced: misplacedVars(own, x.role!) }).toEqual({
        workload: x.workload.metadata.name,
        misplaced: [],
      });
    }
  });

  it('each process starts with its configuration once the Secret template is filled in, and the API refuses the placeholder', () => {
    for (const x of containers.filter((c) => c.role && c.role !== 'cli')) {
      const filled = { ...x.env, ...(x.env.RERANK_API_KEYS !== undefined ? { RERANK_API_KEYS: 'ops:0123456789abcdef' } : {}) };
      expect({ workload: x.workload.metadata.name, problems: configProblems(filled, x.role!) }).toEqual({
        workload: x.workload.metadata.name,
        problems: [],
      });
    }
    const api = ofRole('api')[0];
    expect(configProblems(api.env, 'api').join('\n')).toMatch(/RERANK_API_KEYS/);
  });

  it('the GPU worker requests nvidia.com/gpu: N and runs one worker process per GPU, cuda:0..cuda:N-1', () => {
    expect(gpuWorkers.length).toBeGreaterThan(0);
    for (const x of gpuWorkers) {
      const name = x.workload.metadata.name as string;
      const limit = x.c.resources.limits['nvidia.com/gpu'];
      expect(Number.isInteger(limit) && limit > 0).toBe(true);
      const request = x.c.resources.requests?.['nvidia.com/gpu'];
      if (request !== undefined) expect(request).toBe(limit);
      expect(x.image).toBe(GPU_IMAGE);
      expect(x.role).toBe('launcher');
      expectOneProcessPerGpu(devicesOf(x.command, x.env), limit as number, name);
    }
    // Workers without GPUs run on the CPU.
    for (const x of ofRole('launcher').filter((c) => !gpuWorkers.includes(c)))
      expect(devicesOf(x.command, x.env).every((d) => d === 'cpu')).toBe(true);
  });

  it('workers mount the models PVC at RERANK_CACHE_DIR and stop gracefully; the API outlives a synchronous request', () => {
    for (const x of ofRole('launcher')) {
      const name = x.workload.metadata.name as string;
      const mount = ((x.c.volumeMounts ?? []) as Obj[]).find((m) => m.mountPath === x.env.RERANK_CACHE_DIR);
      expect({ name, models: Boolean(mount) }).toEqual({ name, models: true });
      const volume = (x.workload.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount!.name);
      expect(volume?.persistentVolumeClaim?.claimName).toBe(find('PersistentVolumeClaim', 'rerank-models')?.metadata.name);
      expect(x.workload.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(LAUNCHER_STOP_TIMEOUT_S);
    }
    const api = ofRole('api')[0];
    const syncTimeoutS = Number(api.env.RERANK_SYNC_TIMEOUT_MS ?? 30000) / 1000;
    expect(api.workload.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(syncTimeoutS);
  });

  it('our pods run as a non-root user', () => {
    for (const x of containers.filter((c) => c.image)) {
      const pod = x.workload.spec.template.spec.securityContext as Obj | undefined;
      expect({ workload: x.workload.metadata.name, runAsNonRoot: pod?.runAsNonRoot }).toEqual({
        workload: x.workload.metadata.name,
        runAsNonRoot: true,
      });
    }
  });

  it('Redis persists: append-only, noeviction, data on a PVC', () => {
    const redis = byKind('StatefulSet').find((s) =>
      (s.spec.template.spec.containers as Obj[]).some((c) => String(c.image).startsWith('redis:')),
    )!;
    expect(redis).toBeDefined();
    const c = (redis.spec.template.spec.containers as Obj[])[0];
    const args = [...((c.command ?? []) as string[]), ...((c.args ?? []) as string[])].join(' ');
    expect(args).toMatch(/--appendonly yes/);
    expect(args).toMatch(/--maxmemory-policy noeviction/);
    // maxmemory below the container's memory limit: full Redis refuses writes instead of being killed.
    const gib = (v: string) => Number(/^(\d+)(gb|Gi)$/.exec(v)?.[1] ?? NaN);
    expect(gib(/--maxmemory (\S+)/.exec(args)?.[1] ?? '')).toBeLessThan(gib(c.resources.limits.memory));
    const dir = /--dir (\S+)/.exec(args)?.[1] ?? '/data';
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dir);
    expect((redis.spec.volumeClaimTemplates as Obj[]).map((t) => t.metadata.name)).toContain(mount?.name);
    // The URL the apps get points at its Service.
    const svc = byKind('Service').find((s) =>
      Object.entries(s.spec.selector as Obj).every(([k, v]) => redis.spec.template.metadata.labels[k] === v),
    )!;
    expect(secret.stringData.REDIS_URL).toBe(`redis://${svc.metadata.name}:${(svc.spec.ports as Obj[])[0].port}`);
  });
});
