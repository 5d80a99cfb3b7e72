/**
 * The hostile-input table of test/api/hostile-input.spec.ts: one row per distinct request, with the
 * answer it must get. Requests go over a raw socket (test/support/raw-http.ts), so paths, headers and
 * Content-Length are sent exactly as written here.
 *
 * Limits of the stack the rows assume (HOSTILE_ENV in the spec): 3000 documents, 2000 characters per
 * text, 5 queries, 5000 pairs, top_k 50, 20 documents per synchronous request, 200000-byte bodies,
 * synchronous requests time out after 3 s (no workers: a sync request accepted by mistake fails fast).
 * Models: "tiny" (encoder, 512 positions) and "layers" (layer-wise, layers [1,2]).
 * "{bob}" in a path stands for a queued job of the second key (bob); rows run as alice unless `auth` says.
 */

export const ALICE = 'alice-key-0123';
export const BOB = 'bob-key-456789';
export const BOB_JOB = '{bob}';

export type Section = 'current' | 'pending' | 'finding';

export interface Row {
  name: string;
  method?: string;
  /** Default /v1/jobs. */
  path?: string;
  /** The Authorization header; null: none; default `Bearer <alice's key>`. */
  auth?: string | null;
  /** The Host header; null: none; default the API's own address. */
  host?: string | null;
  /** Extra header lines, sent in this order after the defaults (values as latin1 bytes). */
  headers?: [string, string][];
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (JSON text that JSON.stringify cannot produce, or raw bytes). */
  raw?: string | Buffer;
  /** Content-Type; null: none; default application/json when there is a body. */
  type?: string | null;
  /** Content-Length; null: none; default the body's byte length when there is a body. */
  length?: string | null;
  /** Close our side right after the request (a body shorter than its Content-Length ends early). */
  halfClose?: boolean;
  status: number;
  code?: string;
  /** error.field and the start of the message; absent: the answer must have no field. */
  field?: string;
  message?: RegExp;
  /**
   * json (default): the API's error shape; bare: Node's HTTP parser refused the request before the app
   * saw it (status line only, no body); either: both are correct (the app's answer and the parser's
   * refusal of the bytes after a lying Content-Length race for the one connection).
   */
  answer?: 'json' | 'bare' | 'either';
  /** Extra checks of a 2xx answer (`base`: the API's own origin). */
  check?: (json: any, ctx: { base: string; bobJob: string }) => void;
  section?: Section;
}

const job = (extra: Record<string, unknown>) => ({ model: 'tiny', query: 'q', documents: ['a', 'b'], ...extra });
const sync = (extra: Record<string, unknown>) => ({ model: 'tiny', query: 'q', documents: ['a', 'b'], ...extra });
const manyDocs = (n: number, chars = 10) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(chars, 'x'));
/** A webhook URL on a public address literal: no DNS needed, never refused by an SSRF guard. */
const PUBLIC_HOOK = 'https://93.184.216.34/hook';

const NO_ROUTE = (method: string, path: string) => new RegExp(`^no route ${method} ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; the API is described at /docs`);
const NO_JOB = /^no job .* for this API key/;
const UNAUTH = { status: 401, code: 'unauthorized' } as const;

/** Moved from test/api/api.spec.ts ("bad input"), every assertion kept. */
const MOVED: Row[] = [
  { name: 'malformed JSON', raw: '{"query": "q", "documents": [', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'body not an object', body: ['q', 'a'], status: 400, message: /must be a JSON object/ },
  { name: 'wrong content type', raw: 'query=q', type: 'text/plain', status: 415, code: 'unsupported_media_type', message: /Content-Type must be application\/json/ },
  { name: 'neither query nor queries', body: { model: 'tiny', documents: ['a'] }, status: 400, field: 'query', message: /missing; send "query" \+ "documents"/ },
  { name: 'query not a string', body: job({ query: 42 }), status: 400, field: 'query', message: /expected query as a string, got a number \(42\)/ },
  { name: 'blank query', body: job({ query: '   ' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'documents missing', body: { model: 'tiny', query: 'q' }, status: 400, field: 'documents', message: /missing; send a list of documents/ },
  { name: 'documents not a list', body: job({ documents: 'a b c' }), status: 400, field: 'documents', message: /expected a list of documents/ },
  { name: 'documents empty', body: job({ documents: [] }), status: 400, field: 'documents', message: /the list is empty/ },
  { name: 'document of a wrong type', body: job({ documents: ['a', 7] }), status: 400, field: 'documents[1]', message: /expected a string or \{"id"\?/ },
  { name: 'document object without text', body: job({ documents: [{ id: 'd1' }] }), status: 400, field: 'documents[0].text', message: /missing/ },
  { name: 'document object with an unknown field', body: job({ documents: [{ text: 'a', title: 't' }] }), status: 400, field: 'documents[0].title', message: /unknown field/ },
  { name: 'document id of a wrong type', body: job({ documents: [{ id: true, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /expected a string or an integer/ },
  { name: 'query and queries together', body: job({ queries: ['x'] }), status: 400, field: 'queries', message: /either "query".*or "queries"/ },
  { name: 'queries empty', body: { model: 'tiny', queries: [], documents: ['a'] }, status: 400, field: 'queries', message: /the list is empty/ },
  { name: 'per-query documents next to shared ones', body: { model: 'tiny', queries: [{ query: 'x', documents: ['a'] }], documents: ['b'] }, status: 400, field: 'queries[0].documents', message: /not allowed with top-level "documents"/ },
  { name: 'bare query string without shared documents', body: { model: 'tiny', queries: ['x'] }, status: 400, field: 'queries[0]', message: /needs top-level "documents"/ },
  { name: 'a query without its documents', body: { model: 'tiny', queries: [{ query: 'x', documents: ['a'] }, { query: 'y' }] }, status: 400, field: 'queries[1].documents', message: /missing; give each query its documents/ },
  { name: 'duplicate query ids', body: { model: 'tiny', queries: [{ id: 'a', query: 'x' }, { id: 'a', query: 'y' }], documents: ['d'] }, status: 400, field: 'queries[1].id', message: /duplicate query id "a"/ },
  { name: 'unknown model', body: job({ model: 'gpt-5' }), status: 400, field: 'model', message: /unknown model "gpt-5"; served models: "tiny", "layers"/ },
  { name: 'model missing with several served', body: { query: 'q', documents: ['a'] }, status: 400, field: 'model', message: /missing; name one of the served models/ },
  { name: 'cutoff layer the model lacks', body: job({ model: 'layers', cutoff_layers: [1, 9] }), status: 400, field: 'cutoff_layers', message: /layer 9 is not one model "layers" scores; it offers \[1,2\]/ },
  { name: 'model not a string', body: job({ model: 3 }), status: 400, field: 'model', message: /expected a model name/ },
  { name: 'top_k zero', body: job({ top_k: 0 }), status: 400, field: 'top_k', message: /from 1 to 50 \(the limit RERANK_MAX_TOP_K\)/ },
  { name: 'top_k above the limit', body: job({ top_k: 51 }), status: 400, field: 'top_k', message: /RERANK_MAX_TOP_K/ },
  { name: 'top_k not an integer', body: job({ top_k: 2.5 }), status: 400, field: 'top_k', message: /expected an integer/ },
  { name: 'webhook URL not a URL', body: job({ webhook: { url: 'not a url' } }), status: 400, field: 'webhook.url', message: /is not a valid URL/ },
  { name: 'webhook URL not http(s)', body: job({ webhook: { url: 'ftp://example.com/x' } }), status: 400, field: 'webhook.url', message: /scheme "ftp:" is not supported/ },
  { name: 'webhook secret too short', body: job({ webhook: { url: PUBLIC_HOOK, secret: 'abc' } }), status: 400, field: 'webhook.secret', message: /8 to 1024 characters/ },
  { name: 'webhook with an unknown field', body: job({ webhook: { url: PUBLIC_HOOK, sekret: 'x' } }), status: 400, field: 'webhook.sekret', message: /unknown field/ },
  { name: 'metadata not an object', body: job({ metadata: 'hello' }), status: 400, field: 'metadata', message: /expected an object/ },
  { name: 'unknown field', body: job({ colour: 'blue' }), status: 400, field: 'colour', message: /unknown field in a job; known fields: model, query/ },
  { name: 'camelCase option', body: job({ topK: 5 }), status: 400, field: 'topK', message: /did you mean "top_k"/ },
  { name: 'option of another family', body: job({ prompt: 'say yes' }), status: 400, field: 'prompt', message: /llm \/ layerwise \/ lightweight families only; model "tiny" is an encoder/ },
  { name: 'layer option on an encoder', body: job({ cutoff_layers: [1] }), status: 400, field: 'cutoff_layers', message: /families only/ },
  { name: 'normalize not a boolean', body: job({ normalize: 'yes' }), status: 400, field: 'normalize', message: /expected true or false/ },
  { name: 'max_length too small', body: job({ max_length: 4 }), status: 400, field: 'max_length', message: /from 16 to/ },
  { name: 'bad instruction format', body: job({ query_instruction_for_rerank: 'Q: ', query_instruction_format: '{x}{}' }), status: 400, field: 'query_instruction_format', message: /format field \{x\} is not supported/ },
  { name: 'return_documents not a boolean', body: job({ return_documents: 'yes' }), status: 400, field: 'return_documents', message: /expected true or false/ },
  { name: 'too many documents', body: job({ documents: manyDocs(3001, 1) }), status: 413, code: 'limit_exceeded', field: 'documents', message: /3001 documents exceeds the limit of 3000 .*RERANK_MAX_DOCUMENTS/ },
  { name: 'document too long', body: job({ documents: ['x'.repeat(2001)] }), status: 413, field: 'documents[0]', message: /2001 characters exceeds the limit of 2000 .*RERANK_MAX_DOCUMENT_CHARS/ },
  { name: 'too many queries', body: { model: 'tiny', queries: ['a', 'b', 'c', 'd', 'e', 'f'], documents: ['x'] }, status: 413, field: 'queries', message: /RERANK_MAX_QUERIES/ },
  { name: 'too many pairs', body: { model: 'tiny', queries: ['a', 'b', 'c', 'd', 'e'], documents: manyDocs(1001, 1) }, status: 413, field: 'queries', message: /5005 \(query, document\) pairs exceeds the limit of 5000 .*RERANK_MAX_PAIRS/ },
  { name: 'body too large', body: job({ documents: manyDocs(150, 1500) }), status: 413, code: 'limit_exceeded', message: /exceeds the limit of 200000 bytes \(RERANK_MAX_BODY_BYTES\)/ },
  { name: 'Idempotency-Key too long (300)', body: job({}), headers: [['Idempotency-Key', 'k'.repeat(300)]], status: 400, field: 'Idempotency-Key', message: /1 to 255 visible ASCII/ },
  { name: 'sync: top_n zero', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], top_n: 0 }, status: 400, field: 'top_n', message: /from 1 to 50/ },
  { name: 'sync: no document has the rank_fields', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ text: 'a' }], rank_fields: ['title'] }, status: 400, field: 'documents[0]', message: /has none of the rank_fields \(title\)/ },
  { name: 'sync: rank_fields not a list of names', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ text: 'a' }], rank_fields: 'title' }, status: 400, field: 'rank_fields', message: /non-empty list of field names/ },
  { name: 'sync v2: max_tokens_per_doc zero', path: '/v2/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], max_tokens_per_doc: 0 }, status: 400, field: 'max_tokens_per_doc', message: /expected an integer from 1/ },
  { name: 'sync: max_chunks_per_doc zero', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], max_chunks_per_doc: 0 }, status: 400, field: 'max_chunks_per_doc', message: /expected an integer from 1 to 100/ },
  { name: 'sync v2: negative priority', path: '/v2/rerank', body: { model: 'tiny', query: 'q', documents: ['a'], priority: -1 }, status: 400, field: 'priority', message: /expected an integer from 0/ },
  { name: 'sync: document object without text', path: '/v1/rerank', body: { model: 'tiny', query: 'q', documents: [{ id: 1, title: 'a' }] }, status: 400, field: 'documents[0].text', message: /missing; a document is a string or an object with "text"/ },
];

/** Routes, methods, the documentation endpoints. */
const ROUTES: Row[] = [
  { name: 'unknown route under /v1', path: '/v1/nothing-here', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/v1/nothing-here') },
  { name: 'unknown version /v3/rerank', method: 'POST', path: '/v3/rerank', body: sync({}), status: 404, code: 'not_found', message: NO_ROUTE('POST', '/v3/rerank') },
  { name: 'root path', path: '/', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/') },
  { name: 'asterisk request target', path: '*', status: 404, code: 'not_found', message: NO_ROUTE('GET', '*') },
  { name: 'unknown route of 8 KB', path: `/v1/${'z'.repeat(8000)}`, status: 404, code: 'not_found', message: /^no route GET \/v1\/zzz/ },
  { name: 'PUT /v1/jobs', method: 'PUT', body: job({}), status: 404, code: 'not_found', message: NO_ROUTE('PUT', '/v1/jobs') },
  { name: 'DELETE /v1/jobs (no id)', method: 'DELETE', status: 404, code: 'not_found', message: NO_ROUTE('DELETE', '/v1/jobs') },
  { name: 'GET /v1/rerank', path: '/v1/rerank', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/v1/rerank') },
  { name: 'PATCH /v2/rerank', method: 'PATCH', path: '/v2/rerank', body: sync({}), status: 404, code: 'not_found', message: NO_ROUTE('PATCH', '/v2/rerank') },
  { name: 'POST /v1/jobs/{id} (another key\'s job)', method: 'POST', path: `/v1/jobs/${BOB_JOB}`, body: job({}), status: 404, code: 'not_found', message: /^no route POST \/v1\/jobs\/job_/ },
  { name: 'PUT /v1/jobs/{id}/results', method: 'PUT', path: `/v1/jobs/${BOB_JOB}/results`, body: {}, status: 404, code: 'not_found', message: /^no route PUT / },
  { name: 'DELETE /v1/jobs/{id}/results', method: 'DELETE', path: `/v1/jobs/${BOB_JOB}/results`, status: 404, code: 'not_found', message: /^no route DELETE / },
  { name: 'POST /v1/models', method: 'POST', path: '/v1/models', body: { id: 'x', path: '/etc' }, status: 404, code: 'not_found', message: NO_ROUTE('POST', '/v1/models') },
  { name: 'DELETE /v1/models', method: 'DELETE', path: '/v1/models', status: 404, code: 'not_found', message: NO_ROUTE('DELETE', '/v1/models') },
  { name: 'GET /v1/models/{name}', path: '/v1/models/tiny', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/v1/models/tiny') },
  { name: 'POST /health/ready', method: 'POST', path: '/health/ready', body: {}, status: 404, code: 'not_found', message: NO_ROUTE('POST', '/health/ready') },
  { name: 'GET /health/live/extra', path: '/health/live/extra', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/health/live/extra') },
  { name: 'OPTIONS /v1/jobs', method: 'OPTIONS', status: 404, code: 'not_found', message: NO_ROUTE('OPTIONS', '/v1/jobs') },
  { name: 'TRACE /v1/jobs', method: 'TRACE', status: 404, code: 'not_found', message: NO_ROUTE('TRACE', '/v1/jobs') },
  { name: 'unknown method BREW', method: 'BREW', status: 400, answer: 'bare' },
  { name: 'POST /docs', method: 'POST', path: '/docs', body: {}, status: 404, code: 'not_found', message: NO_ROUTE('POST', '/docs') },
  { name: 'POST /openapi.json', method: 'POST', path: '/openapi.json', body: {}, status: 404, code: 'not_found', message: NO_ROUTE('POST', '/openapi.json') },
  { name: '/docs static files: encoded traversal to package.json', path: '/docs/..%2f..%2fpackage.json', status: 404, code: 'not_found', message: /^no route GET \/docs\/\.\.%2f/ },
  { name: '/docs static files: raw traversal to package.json', path: '/docs/../../package.json', status: 404, code: 'not_found', message: /^no route GET \/docs\/\.\.\/\.\.\/package\.json/ },
  { name: '/openapi.json with a hostile query string', path: '/openapi.json?__proto__[x]=1&url=javascript:alert(1)', auth: null, status: 200, check: (j) => expect(Object.keys(j.paths)).toContain('/v1/jobs') },
  { name: '/health/live with a body on GET', method: 'GET', path: '/health/live', raw: '{"a":1}', status: 200, check: (j) => expect(j).toEqual({ status: 'ok' }) },
  { name: 'request without a Host header', path: '/v1/models', host: null, status: 400, answer: 'bare' },
  { name: 'raw UTF-8 bytes in the path', path: '/v1/jobs/job_\xc3\xa9', status: 400, answer: 'bare' },
];

/** Authorization on every endpoint that needs it. */
const AUTH: Row[] = [
  { name: 'no key: POST /v1/rerank', path: '/v1/rerank', auth: null, body: sync({}), ...UNAUTH, message: /missing API key: send the header "Authorization: Bearer <key>"/ },
  { name: 'no key: POST /v2/rerank', path: '/v2/rerank', auth: null, body: sync({}), ...UNAUTH, message: /missing API key/ },
  { name: 'no key: POST /v1/jobs', auth: null, body: job({}), ...UNAUTH, message: /missing API key/ },
  { name: 'no key: GET /v1/jobs/{id}', path: `/v1/jobs/${BOB_JOB}`, auth: null, ...UNAUTH, message: /missing API key/ },
  { name: 'no key: GET /v1/jobs/{id}/results', path: `/v1/jobs/${BOB_JOB}/results`, auth: null, ...UNAUTH, message: /missing API key/ },
  { name: 'no key: DELETE /v1/jobs/{id}', method: 'DELETE', path: `/v1/jobs/${BOB_JOB}`, auth: null, ...UNAUTH, message: /missing API key/ },
  { name: 'no key: GET /v1/models', path: '/v1/models', auth: null, ...UNAUTH, message: /missing API key/ },
  { name: 'empty Authorization', path: '/v1/models', auth: '', ...UNAUTH, message: /missing API key/ },
  { name: 'Basic scheme', path: '/v1/models', auth: `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}`, ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'Token scheme with a valid key', path: '/v1/models', auth: `Token ${ALICE}`, ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'Bearer without a key', path: '/v1/models', auth: 'Bearer', ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'Bearer and spaces only', path: '/v1/models', auth: 'Bearer    ', ...UNAUTH, message: /must be "Bearer <key>"|missing API key/ },
  { name: 'the key without a scheme', path: '/v1/models', auth: ALICE, ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'unknown key', path: '/v1/models', auth: 'Bearer nope-nope-nope', ...UNAUTH, message: /unknown API key/ },
  { name: 'a valid key plus one character', path: '/v1/models', auth: `Bearer ${ALICE}x`, ...UNAUTH, message: /unknown API key/ },
  { name: 'a valid key in upper case', path: '/v1/models', auth: `Bearer ${ALICE.toUpperCase()}`, ...UNAUTH, message: /unknown API key/ },
  { name: 'the label instead of the key', path: '/v1/models', auth: 'Bearer alice', ...UNAUTH, message: /unknown API key/ },
  { name: 'the label:key pair from the config', path: '/v1/models', auth: `Bearer alice:${ALICE}`, ...UNAUTH, message: /unknown API key/ },
  { name: 'two keys in one header (space)', path: '/v1/models', auth: `Bearer ${ALICE} ${BOB}`, ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'two credentials in one header (comma)', path: '/v1/models', auth: `Bearer ${ALICE}, Bearer ${BOB}`, ...UNAUTH, message: /must be "Bearer <key>"/ },
  { name: 'key of 4000 characters', path: '/v1/models', auth: `Bearer ${'k'.repeat(4000)}`, ...UNAUTH, message: /unknown API key/ },
  { name: 'key with latin1 bytes', path: '/v1/models', auth: 'Bearer cl\xe9-\xfc', ...UNAUTH, message: /unknown API key/ },
  { name: 'Authorization of 20 KB (over the header limit)', path: '/v1/models', auth: `Bearer ${'a'.repeat(20000)}`, status: 431, answer: 'bare' },
  { name: 'control character in Authorization', path: '/v1/models', auth: 'Bearer a\x01b', status: 400, answer: 'bare' },
  { name: 'wrong key on a bad body: 401, not the body error', auth: 'Bearer wrong-key-000', body: job({ top_k: 0 }), ...UNAUTH, message: /unknown API key/ },
];

/** Content-Type and Content-Length. */
const BODY_FRAMING: Row[] = [
  { name: 'Content-Type missing', body: job({}), type: null, status: 415, code: 'unsupported_media_type', message: /got none/ },
  { name: 'Content-Type empty', body: job({}), type: '', status: 415, code: 'unsupported_media_type', message: /got none/ },
  { name: 'Content-Type multipart/form-data', raw: '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nq\r\n--x--\r\n', type: 'multipart/form-data; boundary=x', status: 415, code: 'unsupported_media_type', message: /got "multipart\/form-data"/ },
  { name: 'Content-Type x-www-form-urlencoded', raw: 'model=tiny&query=q&documents=a', type: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type', message: /got "application\/x-www-form-urlencoded"/ },
  { name: 'Content-Type text/json', body: job({}), type: 'text/json', status: 415, code: 'unsupported_media_type', message: /got "text\/json"/ },
  { name: 'Content-Type application/jsonx', body: job({}), type: 'application/jsonx', status: 415, code: 'unsupported_media_type', message: /got "application\/jsonx"/ },
  { name: 'Content-Type as a list', body: job({}), type: 'text/plain, application/json', status: 415, code: 'unsupported_media_type', message: /Content-Type must be application\/json/ },
  { name: 'Content-Type on /v2/rerank: text/plain', path: '/v2/rerank', body: sync({}), type: 'text/plain', status: 415, code: 'unsupported_media_type', message: /got "text\/plain"/ },
  { name: 'charset=utf-8 passes to validation', body: job({ top_k: -1 }), type: 'application/json; charset=utf-8', status: 400, field: 'top_k', message: /got a number \(-1\)/ },
  { name: 'upper-case type and charset pass to validation', body: job({ top_k: 'ten' }), type: 'APPLICATION/JSON; CHARSET=UTF-8', status: 400, field: 'top_k', message: /got a string \("ten"\)/ },
  { name: 'charset=latin1: the body is still read as UTF-8', body: job({ model: 'caf\u00e9' }), type: 'application/json; charset=iso-8859-1', status: 400, field: 'model', message: /unknown model "caf\u00e9"/ },
  { name: '+json suffix type passes to validation', body: job({ top_k: [] }), type: 'application/vnd.api+json', status: 400, field: 'top_k', message: /got an empty list/ },
  { name: 'Content-Length not a number', body: job({}), length: 'abc', status: 400, answer: 'bare' },
  { name: 'Content-Length negative', body: job({}), length: '-1', status: 400, answer: 'bare' },
  { name: 'Content-Length twice with different values', body: job({}), headers: [['Content-Length', '3']], status: 400, answer: 'bare' },
  { name: 'Content-Length and Transfer-Encoding together', body: job({}), headers: [['Transfer-Encoding', 'chunked']], status: 400, answer: 'bare' },
  { name: 'Content-Length shorter than the body', body: job({}), length: '10', status: 400, answer: 'either' },
  { name: 'Content-Length 0 with a body', body: job({}), length: '0', status: 400, answer: 'either' },
  { name: 'no Content-Length, body sent anyway', body: job({}), length: null, status: 400, answer: 'either' },
  { name: 'Content-Length 0 and no body', method: 'POST', length: '0', type: 'application/json', status: 400, message: /must be a JSON object .* got nothing/ },
  { name: 'Content-Length over the limit (declared)', body: job({}), length: '99999999999', status: 413, code: 'limit_exceeded', message: /the request body \(99999999999 bytes\) exceeds the limit of 200000 bytes/ },
  { name: 'chunked body over the limit (no length given)', raw: `${(200001).toString(16)}\r\n${' '.repeat(200001)}\r\n0\r\n\r\n`, length: null, headers: [['Transfer-Encoding', 'chunked']], status: 413, code: 'limit_exceeded', message: /more than 200000 bytes/ },
  { name: 'chunked body cut inside the JSON', raw: '5\r\n{"a":\r\n0\r\n\r\n', length: null, headers: [['Transfer-Encoding', 'chunked']], status: 400, code: 'invalid_json', message: /not valid JSON/ },
];

/** Idempotency-Key (every row's body is a valid job: only the key is wrong). */
const IDEMPOTENCY: Row[] = [
  { name: 'Idempotency-Key empty', body: job({}), headers: [['Idempotency-Key', '']], status: 400, field: 'Idempotency-Key', message: /1 to 255 visible ASCII/ },
  { name: 'Idempotency-Key of 256 characters', body: job({}), headers: [['Idempotency-Key', 'k'.repeat(256)]], status: 400, field: 'Idempotency-Key', message: /1 to 255 visible ASCII/ },
  { name: 'Idempotency-Key with latin1 bytes', body: job({}), headers: [['Idempotency-Key', 'cl\xe9']], status: 400, field: 'Idempotency-Key', message: /visible ASCII/ },
  { name: 'Idempotency-Key in UTF-8 (Cyrillic)', body: job({}), headers: [['Idempotency-Key', Buffer.from('ключ', 'utf8').toString('latin1')]], status: 400, field: 'Idempotency-Key', message: /visible ASCII/ },
  { name: 'Idempotency-Key with a space', body: job({}), headers: [['Idempotency-Key', 'a b']], status: 400, field: 'Idempotency-Key', message: /visible ASCII/ },
  { name: 'Idempotency-Key with a tab', body: job({}), headers: [['Idempotency-Key', 'a\tb']], status: 400, field: 'Idempotency-Key', message: /visible ASCII/ },
  { name: 'Idempotency-Key twice (joined with a comma)', body: job({}), headers: [['Idempotency-Key', 'a'], ['Idempotency-Key', 'b']], status: 400, field: 'Idempotency-Key', message: /visible ASCII/ },
  { name: 'Idempotency-Key with a control character', body: job({}), headers: [['Idempotency-Key', 'a\x01b']], status: 400, answer: 'bare' },
  { name: 'Idempotency-Key with DEL', body: job({}), headers: [['Idempotency-Key', 'a\x7fb']], status: 400, answer: 'bare' },
  { name: 'valid Idempotency-Key on a bad body: no key claimed', body: job({ top_k: 0 }), headers: [['Idempotency-Key', 'hostile-valid-key-1']], status: 400, field: 'top_k', message: /from 1 to 50/ },
];

/** Job ids in paths, query parameters. */
const PATHS: Row[] = [
  { name: 'job id malformed', path: '/v1/jobs/abc', status: 404, code: 'not_found', message: /^no job "abc" for this API key/ },
  { name: 'job id well-formed but unknown', path: '/v1/jobs/job_doesnotexist', status: 404, code: 'not_found', message: /^no job "job_doesnotexist"/ },
  { name: 'job id of 65 characters after the prefix', path: `/v1/jobs/job_${'a'.repeat(65)}`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'job id of 7000 characters', path: `/v1/jobs/job_${'b'.repeat(7000)}`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job: GET', path: `/v1/jobs/${BOB_JOB}`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job: results', path: `/v1/jobs/${BOB_JOB}/results`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job: results?all=true', path: `/v1/jobs/${BOB_JOB}/results?all=true&format=json`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job: DELETE (not cancelled)', method: 'DELETE', path: `/v1/jobs/${BOB_JOB}`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job with a trailing slash', path: `/v1/jobs/${BOB_JOB}/`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'another key\'s job: internal key suffix :docs', path: `/v1/jobs/${BOB_JOB}:docs`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'Redis key name as the id', path: `/v1/jobs/rerank:job:${BOB_JOB}`, status: 404, code: 'not_found', message: NO_JOB },
  { name: 'Redis glob as the id', path: '/v1/jobs/job_*', status: 404, code: 'not_found', message: /^no job "job_\*"/ },
  { name: 'path traversal, raw', path: '/v1/jobs/../../etc/passwd', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/v1/jobs/../../etc/passwd') },
  { name: 'path traversal, percent-encoded', path: '/v1/jobs/..%2F..%2Fetc%2Fpasswd', status: 404, code: 'not_found', message: /^no job "\.\.\/\.\.\/etc\/passwd"/ },
  { name: 'path traversal on DELETE, encoded', method: 'DELETE', path: '/v1/jobs/..%2Fmodels', status: 404, code: 'not_found', message: /^no job "\.\.\/models"/ },
  { name: 'job id, percent-encoded unicode', path: '/v1/jobs/job_%C3%A9%F0%9F%98%80', status: 404, code: 'not_found', message: /^no job "job_é😀"/ },
  { name: 'job id, encoded NUL', path: '/v1/jobs/job_%00', status: 404, code: 'not_found', message: /^no job "job_\\u0000"/ },
  { name: 'job id, encoded CR LF (header injection)', path: '/v1/jobs/job_%0D%0ASet-Cookie:%20x=1', status: 404, code: 'not_found', message: /^no job "job_\\r\\nSet-Cookie: x=1"/ },
  { name: 'job id, truncated percent-encoding', path: '/v1/jobs/job_%E0%A4%A', status: 400, code: 'invalid_request', message: /Failed to decode param/ },
  { name: 'job id, a lone percent sign', path: '/v1/jobs/%', status: 400, code: 'invalid_request', message: /Failed to decode param '%'/ },
  { name: 'results: format=xml', path: '/v1/jobs/job_x/results?format=xml', status: 400, field: 'format', message: /expected "json" or "jsonl", got "xml"/ },
  { name: 'results: format empty', path: '/v1/jobs/job_x/results?format=', status: 400, field: 'format', message: /got ""/ },
  { name: 'results: format upper case', path: '/v1/jobs/job_x/results?format=JSON', status: 400, field: 'format', message: /got "JSON"/ },
  { name: 'results: format twice', path: '/v1/jobs/job_x/results?format=json&format=jsonl', status: 400, field: 'format', message: /got \["json","jsonl"\]/ },
  { name: 'results: format checked before ownership', path: `/v1/jobs/${BOB_JOB}/results?format=csv`, status: 400, field: 'format', message: /got "csv"/ },
  { name: 'results: format[]= (array syntax)', path: '/v1/jobs/job_x/results?format[]=json', status: 404, code: 'not_found', message: NO_JOB },
  { name: 'results: all=maybe', path: '/v1/jobs/job_x/results?all=maybe', status: 404, code: 'not_found', message: NO_JOB },
  { name: 'results: __proto__ in the query string', path: '/v1/jobs/job_x/results?__proto__[polluted]=1&all[__proto__]=2&constructor[prototype][x]=1', status: 404, code: 'not_found', message: NO_JOB },
  { name: 'own queued job: results', path: `/v1/jobs/${BOB_JOB}/results`, auth: `Bearer ${BOB}`, status: 409, code: 'job_not_completed', message: /is queued, so it has no results/ },
  { name: 'bogus query parameters on POST /v1/jobs', path: '/v1/jobs?debug=1&admin=true&owner=bob', body: job({ top_k: 1.5 }), status: 400, field: 'top_k', message: /expected an integer/ },
];

/** Malformed JSON and wrong top-level types. */
const JSON_ROWS: Row[] = [
  { name: 'JSON null', raw: 'null', status: 400, message: /must be a JSON object .* got null/ },
  { name: 'JSON true', raw: 'true', status: 400, message: /got true/ },
  { name: 'JSON number', raw: '42', status: 400, message: /got a number \(42\)/ },
  { name: 'JSON string', raw: '"model=tiny"', status: 400, message: /got a string/ },
  { name: 'JSON empty list', raw: '[]', status: 400, message: /got an empty list/ },
  { name: 'JSON empty object', raw: '{}', status: 400, field: 'model', message: /missing; name one of the served models/ },
  { name: 'whitespace only', raw: '   \n ', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'trailing comma', raw: '{"model":"tiny","query":"q","documents":["a"],}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'single quotes', raw: "{'model':'tiny'}", status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'NaN literal', raw: '{"model":"tiny","query":"q","documents":["a"],"top_k":NaN}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'Infinity literal', raw: '{"model":"tiny","query":"q","documents":["a"],"top_k":Infinity}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'comment in JSON', raw: '{"model":"tiny", /* x */ "query":"q","documents":["a"]}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'UTF-8 BOM before the JSON', raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(job({})))]), status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'two JSON documents', raw: '{"model":"tiny"}{"query":"q"}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'duplicate key: the last wins and is checked', raw: '{"model":"tiny","query":"a","query":5,"documents":["a"]}', status: 400, field: 'query', message: /got a number \(5\)/ },
  { name: 'number 1e309 (Infinity after parsing)', raw: '{"model":"tiny","query":"q","documents":["a"],"top_k":1e309}', status: 400, field: 'top_k', message: /got a number \(Infinity\)/ },
  { name: 'documents nested 90000 levels deep', raw: `{"model":"tiny","query":"q","documents":${'['.repeat(90000)}${']'.repeat(90000)}}`, status: 400, field: 'documents[0]', message: /got a list of 1/ },
  { name: 'invalid UTF-8 bytes (read as U+FFFD)', raw: Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","query":"q","documents":["a"]}')]), status: 400, field: 'model', message: /unknown model "\uFFFD\uFFFD"/ },
];

/** Every field of a job with a wrong type or value; numbers; null. */
const JOB_FIELDS: Row[] = [
  { name: 'model null (absent; several models served)', body: job({ model: null }), status: 400, field: 'model', message: /missing; name one of the served models/ },
  { name: 'model a list', body: job({ model: ['tiny'] }), status: 400, field: 'model', message: /got a list of 1/ },
  { name: 'model an object', body: job({ model: { name: 'tiny' } }), status: 400, field: 'model', message: /got an object/ },
  { name: 'model in another case', body: job({ model: 'TINY' }), status: 400, field: 'model', message: /unknown model "TINY"/ },
  { name: 'model with a trailing space', body: job({ model: 'tiny ' }), status: 400, field: 'model', message: /unknown model "tiny "/ },
  { name: 'model a path', body: job({ model: '/etc/passwd' }), status: 400, field: 'model', message: /unknown model "\/etc\/passwd"/ },
  { name: 'model of 5000 characters (echo cut)', body: job({ model: 'm'.repeat(5000) }), status: 400, field: 'model', message: /unknown model "m{100}\.\.\."/ },
  { name: 'query null (absent)', body: job({ query: null }), status: 400, field: 'query', message: /missing; send "query"/ },
  { name: 'query a list', body: job({ query: ['q'] }), status: 400, field: 'query', message: /got a list of 1/ },
  { name: 'query an object', body: job({ query: { text: 'q' } }), status: 400, field: 'query', message: /got an object/ },
  { name: 'query empty string', body: job({ query: '' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'query true', body: job({ query: true }), status: 400, field: 'query', message: /got true/ },
  { name: 'query too long', body: job({ query: 'q'.repeat(2001) }), status: 413, code: 'limit_exceeded', field: 'query', message: /2001 characters exceeds the limit of 2000/ },
  { name: 'documents null (absent)', body: job({ documents: null }), status: 400, field: 'documents', message: /missing; send a list of documents/ },
  { name: 'documents an object', body: job({ documents: { 0: 'a' } }), status: 400, field: 'documents', message: /got an object/ },
  { name: 'documents a number', body: job({ documents: 3 }), status: 400, field: 'documents', message: /got a number \(3\)/ },
  { name: 'document null', body: job({ documents: ['a', null] }), status: 400, field: 'documents[1]', message: /got null/ },
  { name: 'document a nested list', body: job({ documents: [['a']] }), status: 400, field: 'documents[0]', message: /got a list of 1/ },
  { name: 'document text a number', body: job({ documents: [{ text: 5 }] }), status: 400, field: 'documents[0].text', message: /got a number \(5\)/ },
  { name: 'document text null', body: job({ documents: [{ text: null }] }), status: 400, field: 'documents[0].text', message: /got null/ },
  { name: 'document id null', body: job({ documents: [{ id: null, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /got null/ },
  { name: 'document id a fraction', body: job({ documents: [{ id: 1.5, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /got a number \(1.5\)/ },
  { name: 'document id beyond safe integers', body: job({ documents: [{ id: 2 ** 60, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /expected a string or an integer/ },
  { name: 'document id empty string', body: job({ documents: [{ id: '', text: 'a' }] }), status: 400, field: 'documents[0].id', message: /1 to 256 characters, got 0/ },
  { name: 'document id of 257 characters', body: job({ documents: [{ id: 'i'.repeat(257), text: 'a' }] }), status: 400, field: 'documents[0].id', message: /got 257/ },
  { name: 'document id an object', body: job({ documents: [{ id: { $gt: '' }, text: 'a' }] }), status: 400, field: 'documents[0].id', message: /got an object/ },
  { name: 'queries a string', body: { model: 'tiny', queries: 'a,b', documents: ['d'] }, status: 400, field: 'queries', message: /got a string/ },
  { name: 'queries null (absent: then query is missing)', body: { model: 'tiny', queries: null, documents: ['d'] }, status: 400, field: 'query', message: /missing; send "query"/ },
  { name: 'queries an object', body: { model: 'tiny', queries: { query: 'x', documents: ['d'] } }, status: 400, field: 'queries', message: /got an object/ },
  { name: 'query item a number', body: { model: 'tiny', queries: [5], documents: ['d'] }, status: 400, field: 'queries[0]', message: /got a number \(5\)/ },
  { name: 'query item null', body: { model: 'tiny', queries: ['x', null], documents: ['d'] }, status: 400, field: 'queries[1]', message: /got null/ },
  { name: 'query item a nested list', body: { model: 'tiny', queries: [['x']], documents: ['d'] }, status: 400, field: 'queries[0]', message: /got a list of 1/ },
  { name: 'query item without its text', body: { model: 'tiny', queries: [{ id: 'q1' }], documents: ['d'] }, status: 400, field: 'queries[0].query', message: /missing; send the query text/ },
  { name: 'query item text a number', body: { model: 'tiny', queries: [{ query: 9 }], documents: ['d'] }, status: 400, field: 'queries[0].query', message: /got a number \(9\)/ },
  { name: 'query item id a fraction', body: { model: 'tiny', queries: [{ id: 0.5, query: 'x' }], documents: ['d'] }, status: 400, field: 'queries[0].id', message: /got a number \(0.5\)/ },
  { name: 'query item with an unknown field', body: { model: 'tiny', queries: [{ query: 'x', top_k: 3 }], documents: ['d'] }, status: 400, field: 'queries[0].top_k', message: /unknown field in a query/ },
  { name: 'per-query documents a string', body: { model: 'tiny', queries: [{ query: 'x', documents: 'a b' }] }, status: 400, field: 'queries[0].documents', message: /expected a list of documents/ },
  { name: 'per-query documents empty', body: { model: 'tiny', queries: [{ query: 'x', documents: ['a'] }, { query: 'y', documents: [] }] }, status: 400, field: 'queries[1].documents', message: /the list is empty/ },
  { name: 'per-query documents over the limit together', body: { model: 'tiny', queries: [{ query: 'x', documents: manyDocs(1600, 1) }, { query: 'y', documents: manyDocs(1600, 1) }] }, status: 413, code: 'limit_exceeded', field: 'queries[1].documents', message: /3200 documents exceeds the limit of 3000/ },
  { name: 'top_k negative', body: job({ top_k: -1 }), status: 400, field: 'top_k', message: /got a number \(-1\)/ },
  { name: 'top_k huge', body: job({ top_k: 1e20 }), status: 400, field: 'top_k', message: /from 1 to 50/ },
  { name: 'top_k a numeric string', body: job({ top_k: '5' }), status: 400, field: 'top_k', message: /got a string \("5"\)/ },
  { name: 'top_k null is absent: the next error shows', body: job({ top_k: null, max_length: 4 }), status: 400, field: 'max_length', message: /from 16 to/ },
  { name: 'top_k true', body: job({ top_k: true }), status: 400, field: 'top_k', message: /got true/ },
  { name: 'top_k negative zero', raw: JSON.stringify(job({})).replace(/}$/, ',"top_k":-0}'), status: 400, field: 'top_k', message: /from 1 to 50/ },
  { name: 'return_documents the number 1', body: job({ return_documents: 1 }), status: 400, field: 'return_documents', message: /got a number \(1\)/ },
  { name: 'return_documents null is absent: the next error shows', body: job({ return_documents: null, top_k: 0 }), status: 400, field: 'top_k', message: /from 1 to 50/ },
  { name: 'normalize the number 0', body: job({ normalize: 0 }), status: 400, field: 'normalize', message: /got a number \(0\)/ },
  { name: 'max_length negative', body: job({ max_length: -512 }), status: 400, field: 'max_length', message: /got a number \(-512\)/ },
  { name: 'max_length a string', body: job({ max_length: '512' }), status: 400, field: 'max_length', message: /got a string \("512"\)/ },
  { name: 'max_length null is absent: the next error shows', body: job({ max_length: null, query_max_length: -1 }), status: 400, field: 'query_max_length', message: /got a number \(-1\)/ },
  { name: 'max_length above any model (131073)', body: job({ max_length: 131073 }), status: 400, field: 'max_length', message: /131073/ },
  { name: 'max_length a fraction', body: job({ max_length: 100.5 }), status: 400, field: 'max_length', message: /got a number \(100.5\)/ },
  { name: 'query_max_length negative', body: job({ query_max_length: -1 }), status: 400, field: 'query_max_length', message: /got a number \(-1\)/ },
  { name: 'query_max_length a list', body: job({ query_max_length: [32] }), status: 400, field: 'query_max_length', message: /got a list of 1/ },
  { name: 'batch_size zero', body: job({ batch_size: 0 }), status: 400, field: 'batch_size', message: /from 1 to 4096/ },
  { name: 'batch_size above its bound', body: job({ batch_size: 4097 }), status: 400, field: 'batch_size', message: /got a number \(4097\)/ },
  { name: 'max_batch_tokens above its bound', body: job({ max_batch_tokens: 1e10 }), status: 400, field: 'max_batch_tokens', message: /from 1 to 16777216/ },
  { name: 'query_instruction_for_rerank a number', body: job({ query_instruction_for_rerank: 123 }), status: 400, field: 'query_instruction_for_rerank', message: /got a number \(123\)/ },
  { name: 'passage_instruction_for_rerank of 10001 characters', body: job({ passage_instruction_for_rerank: 'p'.repeat(10001) }), status: 400, field: 'passage_instruction_for_rerank', message: /at most 10000 characters, got 10001/ },
  { name: 'query_instruction_format with three placeholders', body: job({ query_instruction_format: '{}{}{}' }), status: 400, field: 'query_instruction_format', message: /asks for field 2; only two are given/ },
  { name: 'passage_instruction_format with an unmatched brace', body: job({ passage_instruction_format: '{' }), status: 400, field: 'passage_instruction_format', message: /unmatched "\{"/ },
  { name: 'passage_instruction_format not a string', body: job({ passage_instruction_format: ['{}{}'] }), status: 400, field: 'passage_instruction_format', message: /got a list of 1/ },
  { name: 'prompt a number on a layer-wise model', body: job({ model: 'layers', prompt: 5 }), status: 400, field: 'prompt', message: /got a number \(5\)/ },
  { name: 'prompt null on an encoder (family checked first)', body: job({ prompt: null }), status: 400, field: 'prompt', message: /families only/ },
  { name: 'cutoff_layers empty', body: job({ model: 'layers', cutoff_layers: [] }), status: 400, field: 'cutoff_layers', message: /non-empty list of layer numbers/ },
  { name: 'cutoff_layers a string', body: job({ model: 'layers', cutoff_layers: '1,2' }), status: 400, field: 'cutoff_layers', message: /got a string/ },
  { name: 'cutoff_layers negative', body: job({ model: 'layers', cutoff_layers: [-1] }), status: 400, field: 'cutoff_layers', message: /integers >= 0/ },
  { name: 'cutoff_layers nested lists', body: job({ model: 'layers', cutoff_layers: [[1], [2]] }), status: 400, field: 'cutoff_layers', message: /integers >= 0/ },
  { name: 'compress_ratio on a layer-wise model', body: job({ model: 'layers', compress_ratio: 2 }), status: 400, field: 'compress_ratio', message: /lightweight families only; model "layers" is a layerwise reranker/ },
  { name: 'compress_layers on an encoder', body: job({ compress_layers: [1] }), status: 400, field: 'compress_layers', message: /lightweight families only/ },
  { name: 'webhook a string', body: job({ webhook: PUBLIC_HOOK }), status: 400, field: 'webhook', message: /got a string/ },
  { name: 'webhook a list', body: job({ webhook: [PUBLIC_HOOK] }), status: 400, field: 'webhook', message: /got a list of 1/ },
  { name: 'webhook url missing', body: job({ webhook: {} }), status: 400, field: 'webhook.url', message: /got nothing/ },
  { name: 'webhook url a number', body: job({ webhook: { url: 8080 } }), status: 400, field: 'webhook.url', message: /got a number \(8080\)/ },
  { name: 'webhook url javascript:', body: job({ webhook: { url: 'javascript:alert(1)' } }), status: 400, field: 'webhook.url', message: /scheme "javascript:" is not supported/ },
  { name: 'webhook url file:', body: job({ webhook: { url: 'file:///etc/passwd' } }), status: 400, field: 'webhook.url', message: /scheme "file:" is not supported/ },
  { name: 'webhook url over 2048 characters', body: job({ webhook: { url: `https://93.184.216.34/${'p'.repeat(2100)}` } }), status: 400, field: 'webhook.url', message: /at most 2048 characters/ },
  { name: 'webhook secret a number', body: job({ webhook: { url: PUBLIC_HOOK, secret: 12345678 } }), status: 400, field: 'webhook.secret', message: /got a number \(12345678\)/ },
  { name: 'webhook secret of 1025 characters', body: job({ webhook: { url: PUBLIC_HOOK, secret: 's'.repeat(1025) } }), status: 400, field: 'webhook.secret', message: /got 1025 characters/ },
  { name: 'metadata a list', body: job({ metadata: [1, 2] }), status: 400, field: 'metadata', message: /got a list of 2/ },
  { name: 'metadata a number', body: job({ metadata: 7 }), status: 400, field: 'metadata', message: /got a number \(7\)/ },
];

/** Prototype keys and unicode edge cases. */
const PROTO_UNICODE: Row[] = [
  { name: '__proto__ at the top level', raw: '{"__proto__":{"isAdmin":true},"model":"tiny","query":"q","documents":["a"]}', status: 400, field: '__proto__', message: /unknown field in a job/ },
  { name: 'constructor.prototype at the top level', body: job({ constructor: { prototype: { polluted: true } } }), status: 400, field: 'constructor', message: /unknown field/ },
  { name: 'hasOwnProperty as a field', body: job({ hasOwnProperty: 1 }), status: 400, field: 'hasOwnProperty', message: /unknown field/ },
  { name: '__proto__ inside a document', raw: '{"model":"tiny","query":"q","documents":[{"text":"a","__proto__":{"id":"x"}}]}', status: 400, field: 'documents[0].__proto__', message: /unknown field/ },
  { name: '__proto__ inside the webhook', raw: `{"model":"tiny","query":"q","documents":["a"],"webhook":{"url":"${PUBLIC_HOOK}","__proto__":{"secret":"s3cr3t-s3cr3t"}}}`, status: 400, field: 'webhook.__proto__', message: /unknown field/ },
  { name: '__proto__ inside a query item', raw: '{"model":"tiny","queries":[{"query":"x","__proto__":{"documents":["a"]}}],"documents":["d"]}', status: 400, field: 'queries[0].__proto__', message: /unknown field/ },
  { name: '__proto__ on /v1/rerank', path: '/v1/rerank', raw: '{"__proto__":{"top_n":1},"model":"tiny","query":"q","documents":["a"]}', status: 400, field: '__proto__', message: /unknown field in a v1 rerank request/ },
  { name: 'model "__proto__"', body: job({ model: '__proto__' }), status: 400, field: 'model', message: /unknown model "__proto__"/ },
  { name: 'model "toString"', body: job({ model: 'toString' }), status: 400, field: 'model', message: /unknown model "toString"/ },
  { name: 'query an ideographic space only', body: job({ query: '\u3000' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'query a byte-order mark only', body: job({ query: '\ufeff' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'query of line separators only', body: job({ query: '\u2028\u2029\n\t' }), status: 400, field: 'query', message: /must not be empty/ },
  { name: 'model a lone surrogate (JSON escape)', raw: '{"model":"\\ud800","query":"q","documents":["a"]}', status: 400, field: 'model', message: /unknown model "\ud800"/ },
  { name: 'lone low surrogate in a document, bad top_k', raw: '{"model":"tiny","query":"q","documents":["\\udc00x"],"top_k":0}', status: 400, field: 'top_k', message: /from 1 to 50/ },
  { name: 'document of 1001 emoji (2002 UTF-16 units)', body: job({ documents: ['\u{1F600}'.repeat(1001)] }), status: 413, code: 'limit_exceeded', field: 'documents[0]', message: /2002 characters exceeds the limit of 2000/ },
  { name: 'model with a NUL character', body: job({ model: 'tiny\u0000' }), status: 400, field: 'model', message: /unknown model "tiny\u0000"/ },
  { name: 'right-to-left override in a field name', body: job({ 'top_k\u202e': 3 }), status: 400, field: 'top_k\u202e', message: /unknown field/ },
];

/** Synchronous endpoints (/v1/rerank, /v2/rerank). */
const SYNC: Row[] = [
  { name: 'v1: query missing', path: '/v1/rerank', body: { model: 'tiny', documents: ['a'] }, status: 400, field: 'query', message: /missing; send the query text/ },
  { name: 'v1: query a number', path: '/v1/rerank', body: sync({ query: 1 }), status: 400, field: 'query', message: /got a number \(1\)/ },
  { name: 'v1: documents missing', path: '/v1/rerank', body: { model: 'tiny', query: 'q' }, status: 400, field: 'documents', message: /missing/ },
  { name: 'v1: top_n above the limit', path: '/v1/rerank', body: sync({ top_n: 51 }), status: 400, field: 'top_n', message: /from 1 to 50/ },
  { name: 'v1: top_n a string', path: '/v1/rerank', body: sync({ top_n: '3' }), status: 400, field: 'top_n', message: /got a string \("3"\)/ },
  { name: 'v1: top_n null is absent: the next error shows', path: '/v1/rerank', body: sync({ top_n: null, return_documents: 'no' }), status: 400, field: 'return_documents', message: /got a string/ },
  { name: 'v1: max_chunks_per_doc above 100', path: '/v1/rerank', body: sync({ max_chunks_per_doc: 101 }), status: 400, field: 'max_chunks_per_doc', message: /from 1 to 100/ },
  { name: 'v1: a job field (top_k)', path: '/v1/rerank', body: sync({ top_k: 3 }), status: 400, field: 'top_k', message: /unknown field in a v1 rerank request/ },
  { name: 'v1: return_documents a string', path: '/v1/rerank', body: sync({ return_documents: 'true' }), status: 400, field: 'return_documents', message: /got a string/ },
  { name: 'v1: rank_fields a string', path: '/v1/rerank', body: sync({ rank_fields: 'text' }), status: 400, field: 'rank_fields', message: /expected a non-empty list of field names/ },
  { name: 'v1: rank_fields empty', path: '/v1/rerank', body: sync({ rank_fields: [] }), status: 400, field: 'rank_fields', message: /got an empty list/ },
  { name: 'v1: rank_fields with a number', path: '/v1/rerank', body: sync({ rank_fields: ['text', 7] }), status: 400, field: 'rank_fields', message: /field names/ },
  { name: 'v1: cutoff layer the model lacks', path: '/v1/rerank', body: sync({ model: 'layers', cutoff_layers: [7] }), status: 400, field: 'cutoff_layers', message: /layer 7 is not one model "layers" scores/ },
  { name: 'v1: document too long', path: '/v1/rerank', body: sync({ documents: ['d'.repeat(2001)] }), status: 413, code: 'limit_exceeded', field: 'documents[0]', message: /RERANK_MAX_DOCUMENT_CHARS/ },
  { name: 'v1: JSON list body', path: '/v1/rerank', raw: '["q","a"]', status: 400, message: /must be a JSON object .* "query" and "documents"/ },
  { name: 'v2: model missing with several served', path: '/v2/rerank', body: { query: 'q', documents: ['a'] }, status: 400, field: 'model', message: /missing; name one of the served models/ },
  { name: 'v2: unknown model', path: '/v2/rerank', body: sync({ model: 'rerank-english-v3.0' }), status: 400, field: 'model', message: /unknown model "rerank-english-v3.0"/ },
  { name: 'v2: a jobs field (queries)', path: '/v2/rerank', body: sync({ queries: ['x'] }), status: 400, field: 'queries', message: /unknown field in a v2 rerank request/ },
  { name: 'v2: option of another family (prompt)', path: '/v2/rerank', body: sync({ prompt: 'yes?' }), status: 400, field: 'prompt', message: /families only/ },
  { name: 'v2: documents null (absent)', path: '/v2/rerank', body: sync({ documents: null }), status: 400, field: 'documents', message: /missing; send a list of documents/ },
  { name: 'v2: too many documents for a synchronous request', path: '/v2/rerank', body: sync({ documents: manyDocs(21) }), status: 413, code: 'too_large_for_sync', field: 'documents', message: /exceed the synchronous limit of 20 \(RERANK_SYNC_MAX_DOCUMENTS\).*POST \/v1\/jobs/ },
  { name: 'v2: malformed JSON', path: '/v2/rerank', raw: '{"model":', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'v2: unknown key', path: '/v2/rerank', auth: 'Bearer not-a-key-0000', body: sync({}), ...UNAUTH, message: /unknown API key/ },
];

/**
 * Behaviours other engineers are building now (issue 8): these rows fail until their branches are
 * merged. SSRF guard (security item 1, 2), metadata depth (input 6), duplicate ids (input 7), the
 * model's positions (input 9), trusted proxies (security item 5).
 */
const hook = (url: string): Row => ({
  name: `pending: webhook to ${url}`,
  body: job({ webhook: { url } }),
  status: 400,
  field: 'webhook.url',
  message: /^webhook\.url: /,
  section: 'pending',
});
const deepMetadata = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
export const PENDING: Row[] = [
  ...[
    'http://127.0.0.1/h',
    'http://localhost:8080/h',
    'http://[::1]/h',
    'http://0.0.0.0/h',
    'http://2130706433/h',
    'http://0x7f.0.0.1/h',
    'http://0177.0.0.1/h',
    'http://127.1/h',
    'http://[::ffff:127.0.0.1]/h',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/h',
    'http://172.16.0.1/h',
    'http://192.168.1.1/h',
    'http://100.64.0.1/h',
    'http://[fc00::1]/h',
    'http://[fe80::1]/h',
    'http://224.0.0.1/h',
    'https://user:pass@example.com/h',
  ].map(hook),
  { name: 'pending: metadata nested 5000 levels', raw: `{"model":"tiny","query":"q","documents":["a"],"metadata":${deepMetadata}}`, status: 400, field: 'metadata', message: /^metadata: /, section: 'pending' },
  { name: 'pending: metadata too large', body: job({ metadata: { blob: 'm'.repeat(70000) } }), status: 400, field: 'metadata', message: /^metadata: /, section: 'pending' },
  { name: 'pending: duplicate document ids', body: job({ documents: [{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }] }), status: 400, field: 'documents[1].id', message: /^documents\[1\]\.id: .*"a"/, section: 'pending' },
  { name: 'pending: duplicate numeric document ids, third document', body: job({ documents: [{ id: 7, text: 'x' }, { id: 8, text: 'y' }, { id: 7, text: 'z' }] }), status: 400, field: 'documents[2].id', message: /^documents\[2\]\.id: /, section: 'pending' },
  { name: 'pending: duplicate document ids of one query', body: { model: 'tiny', queries: [{ query: 'x', documents: [{ id: 'd', text: 'a' }, { id: 'd', text: 'b' }] }] }, status: 400, field: 'queries[0].documents[1].id', message: /^queries\[0\]\.documents\[1\]\.id: /, section: 'pending' },
  { name: 'pending: duplicate shared document ids with several queries', body: { model: 'tiny', queries: ['x', 'y'], documents: [{ id: 1, text: 'a' }, { id: 1, text: 'b' }] }, status: 400, field: 'documents[1].id', message: /^documents\[1\]\.id: /, section: 'pending' },
  { name: 'pending: max_length beyond the model\'s 512 positions (job)', body: job({ max_length: 4000 }), status: 400, field: 'max_length', message: /^max_length: .*512/, section: 'pending' },
  { name: 'pending: max_length beyond the model\'s positions (v1 sync)', path: '/v1/rerank', body: sync({ max_length: 100000 }), status: 400, field: 'max_length', message: /^max_length: .*512/, section: 'pending' },
  { name: 'pending: max_length beyond the model\'s positions (v2 sync)', path: '/v2/rerank', body: sync({ max_length: 131072 }), status: 400, field: 'max_length', message: /^max_length: .*512/, section: 'pending' },
  {
    name: 'pending: X-Forwarded-Host/Proto do not change job links (no RERANK_TRUST_PROXY)',
    path: `/v1/jobs/${BOB_JOB}`,
    auth: `Bearer ${BOB}`,
    headers: [['X-Forwarded-Host', 'evil.example'], ['X-Forwarded-Proto', 'https']],
    status: 200,
    check: (j, { base, bobJob }) => expect(j.links.self).toBe(`${base}/v1/jobs/${bobJob}`),
    section: 'pending',
  },
  {
    name: 'pending: X-Forwarded-Host alone does not change job links',
    path: `/v1/jobs/${BOB_JOB}`,
    auth: `Bearer ${BOB}`,
    headers: [['X-Forwarded-Host', 'attacker.example:8443, proxy.internal']],
    status: 200,
    check: (j, { base, bobJob }) => expect(j.links.self).toBe(`${base}/v1/jobs/${bobJob}`),
    section: 'pending',
  },
];

/**
 * Bugs this suite found (not in the pending list): the rows hold the correct behaviour, so they fail
 * until fixed. See the report of the hostile-suite branch.
 */
export const FINDINGS: Row[] = [
  {
    name: 'finding: two Authorization headers are refused, not resolved to the first',
    path: '/v1/models',
    auth: `Bearer ${ALICE}`,
    headers: [['Authorization', `Bearer ${BOB}`]],
    status: 401,
    code: 'unauthorized',
    message: /Authorization/,
    section: 'finding',
  },
  { name: 'finding: no key and malformed JSON: 401 before the body is read', auth: null, raw: '{{{', status: 401, code: 'unauthorized', message: /missing API key/, section: 'finding' },
  { name: 'finding: no key and an oversized declared body: 401, not 413', auth: null, body: job({}), length: '99999999999', status: 401, code: 'unauthorized', message: /missing API key/, section: 'finding' },
  {
    name: 'finding: a body shorter than its Content-Length, then the client closes (no internal error logged)',
    body: job({}),
    length: '1000',
    halfClose: true,
    status: 400,
    answer: 'bare',
    section: 'finding',
  },
];

/** GET /v1/jobs (the caller's jobs) and its query string; the queue dashboard is off (no RERANK_ADMIN_KEYS). */
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const LIST_STATUS = /^status: expected one or more of queued, running, completed, failed, cancelled \(comma separated\), got /;
const LIST_TIME = (p: string) => new RegExp(`^${p}: expected an RFC 3339 date-time such as 2025-01-01T12:00:00Z, got `);
const LIST_UNKNOWN = /: unknown query parameter; GET \/v1\/jobs takes limit, cursor, status, created_after, created_before$/;
const LISTING: Row[] = [
  { name: 'list: no key', path: '/v1/jobs', auth: null, ...UNAUTH, message: /missing API key/ },
  { name: 'list: unknown key', path: '/v1/jobs?limit=100', auth: 'Bearer nope-nope-nope', ...UNAUTH, message: /unknown API key/ },
  {
    name: 'list: never shows another key\'s job',
    path: '/v1/jobs?limit=100',
    status: 200,
    check: (j, { bobJob }) => {
      expect(j.object).toBe('list');
      expect(j.data.map((v: { id: string }) => v.id)).not.toContain(bobJob);
    },
  },
  {
    name: 'list: the other key sees its own job, with links on this API',
    path: '/v1/jobs?status=queued',
    auth: `Bearer ${BOB}`,
    status: 200,
    check: (j, { base, bobJob }) => {
      expect(j.data.map((v: { id: string }) => v.id)).toContain(bobJob);
      expect(j.data.find((v: { id: string }) => v.id === bobJob).links.self).toBe(`${base}/v1/jobs/${bobJob}`);
    },
  },
  { name: 'list: "owner" parameter', path: '/v1/jobs?owner=bob', status: 400, field: 'owner', message: LIST_UNKNOWN },
  { name: 'list: parameter name in another case', path: '/v1/jobs?LIMIT=5', status: 400, field: 'LIMIT', message: LIST_UNKNOWN },
  { name: 'list: bracketed parameter (__proto__)', path: '/v1/jobs?__proto__[status]=queued', status: 400, field: '__proto__[status]', message: LIST_UNKNOWN },
  { name: 'list: parameter without a name', path: '/v1/jobs?=1', status: 400, field: '(unnamed parameter)', message: LIST_UNKNOWN },
  { name: 'list: limit twice', path: '/v1/jobs?limit=1&limit=2', status: 400, field: 'limit', message: /^limit: given more than once/ },
  { name: 'list: limit zero', path: '/v1/jobs?limit=0', status: 400, field: 'limit', message: /^limit: expected an integer from 1 to 100, got "0"/ },
  { name: 'list: limit 101', path: '/v1/jobs?limit=101', status: 400, field: 'limit', message: /got "101"/ },
  { name: 'list: limit negative', path: '/v1/jobs?limit=-5', status: 400, field: 'limit', message: /got "-5"/ },
  { name: 'list: limit in exponent form', path: '/v1/jobs?limit=1e2', status: 400, field: 'limit', message: /got "1e2"/ },
  { name: 'list: limit of 25 digits', path: `/v1/jobs?limit=${'9'.repeat(25)}`, status: 400, field: 'limit', message: /^limit: expected an integer from 1 to 100/ },
  { name: 'list: limit empty', path: '/v1/jobs?limit=', status: 400, field: 'limit', message: /got ""/ },
  { name: 'list: cursor not base64url', path: '/v1/jobs?cursor=***', status: 400, field: 'cursor', message: /^cursor: not a cursor of this API/ },
  { name: 'list: cursor of 5000 characters', path: `/v1/jobs?cursor=${'A'.repeat(5000)}`, status: 400, field: 'cursor', message: /^cursor: not a cursor of this API/ },
  { name: 'list: cursor with a Redis glob as the job id', path: `/v1/jobs?cursor=${b64('1735732800000.job_*')}`, status: 400, field: 'cursor', message: /^cursor: / },
  { name: 'list: cursor with a time of 17 digits', path: `/v1/jobs?cursor=${b64('12345678901234567.job_x')}`, status: 400, field: 'cursor', message: /^cursor: / },
  { name: 'list: cursor with a negative time', path: `/v1/jobs?cursor=${b64('-5.job_x')}`, status: 400, field: 'cursor', message: /^cursor: / },
  { name: 'list: cursor empty', path: '/v1/jobs?cursor=', status: 400, field: 'cursor', message: /^cursor: / },
  { name: 'list: status unknown', path: '/v1/jobs?status=done', status: 400, field: 'status', message: LIST_STATUS },
  { name: 'list: status empty', path: '/v1/jobs?status=', status: 400, field: 'status', message: LIST_STATUS },
  { name: 'list: status with a trailing comma', path: '/v1/jobs?status=queued,', status: 400, field: 'status', message: LIST_STATUS },
  { name: 'list: status __proto__', path: '/v1/jobs?status=__proto__', status: 400, field: 'status', message: LIST_STATUS },
  { name: 'list: status with a Lua-looking value', path: '/v1/jobs?status=queued%27%29%20or%201%3D1', status: 400, field: 'status', message: LIST_STATUS },
  { name: 'list: created_after a date without time', path: '/v1/jobs?created_after=2025-01-01', status: 400, field: 'created_after', message: LIST_TIME('created_after') },
  { name: 'list: created_after Unix seconds', path: '/v1/jobs?created_after=1735732800', status: 400, field: 'created_after', message: LIST_TIME('created_after') },
  { name: 'list: created_after without an offset', path: '/v1/jobs?created_after=2025-01-01T00:00:00', status: 400, field: 'created_after', message: LIST_TIME('created_after') },
  { name: 'list: created_before on February 30', path: '/v1/jobs?created_before=2025-02-30T00:00:00Z', status: 400, field: 'created_before', message: LIST_TIME('created_before') },
  { name: 'list: created_before with an offset of +25:00', path: '/v1/jobs?created_before=2025-01-01T00:00:00%2B25:00', status: 400, field: 'created_before', message: LIST_TIME('created_before') },
  { name: 'list: created_before not after created_after', path: '/v1/jobs?created_after=2025-01-02T00:00:00Z&created_before=2025-01-01T00:00:00Z', status: 400, field: 'created_before', message: /^created_before: must be later than created_after/ },
  { name: 'list: the first bad parameter is named (limit before status)', path: '/v1/jobs?status=nope&limit=0', status: 400, field: 'limit', message: /^limit: / },
  { name: 'GET /admin/queues without RERANK_ADMIN_KEYS: not served', path: '/admin/queues', status: 404, code: 'not_found', message: NO_ROUTE('GET', '/admin/queues') },
];

export const CURRENT: Row[] = [...MOVED, ...ROUTES, ...AUTH, ...BODY_FRAMING, ...IDEMPOTENCY, ...PATHS, ...JSON_ROWS, ...JOB_FIELDS, ...PROTO_UNICODE, ...SYNC, ...LISTING];
