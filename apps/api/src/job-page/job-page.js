// The job page's script (served at /assets/job-page.js for /jobs/{id}): reads the job, then its
// Server-Sent Events (GET /v1/jobs/{id}/events) through fetch(), since EventSource cannot send the
// Authorization header. The API key is asked for only when the API answers 401 and lives in `apiKey`
// alone (no storage, cookie or URL). Every value from the API reaches the page as textContent.
'use strict';

(() => {
  const jobId = decodeURIComponent(location.pathname.slice(location.pathname.lastIndexOf('/') + 1));
  const $ = (id) => document.getElementById(id);
  const ENDED = new Set(['completed', 'failed', 'cancelled']);

  let apiKey = null;
  /** The stream's last event id (`Last-Event-ID` on a reconnect) and reconnect delay (its `retry:`). */
  let lastEventId = null;
  let retryMs = 2000;
  /** query_index → {query_index, query_id?, query?, top_k}: the provisional best k, then the final one. */
  const tops = new Map();

  const api = (path) => fetch(path, { headers: apiKey === null ? {} : { authorization: `Bearer ${apiKey}` } });

  /** The API's error message from an error answer, or its status line. */
  async function errorOf(response) {
    try {
      const body = await response.json();
      if (body && body.error && typeof body.error.message === 'string') return body.error.message;
    } catch {
      /* not JSON */
    }
    return `${response.status} ${response.statusText}`;
  }

  function say(text) {
    $('message').textContent = text;
    $('message').hidden = text === '';
  }

  const number = (n) => (n === null || n === undefined ? '–' : n.toLocaleString('en'));

  function showJob(job) {
    $('status').textContent = job.status;
    $('model').textContent = job.model;
    $('queries').textContent = number(job.counts.queries);
    $('documents').textContent = number(job.counts.documents);
    $('pairs').textContent = number(job.counts.pairs);
    $('top-k-size').textContent = String(job.top_k);
    showProgress({ ...job.progress, status: job.status, pairs_per_second: null, eta_seconds: null });
    if (job.error) {
      $('job-error').textContent = `${job.error.code}: ${job.error.message}`;
      $('job-error').hidden = false;
    }
    $('job').hidden = false;
  }

  /** `p`: a progress event's data (GET /v1/jobs/{id} has no rate or ETA: they keep their last values). */
  function showProgress(p) {
    $('status').textContent = p.status;
    $('shards-done').textContent = String(p.shards_done);
    $('shards-total').textContent = String(p.shards_total);
    $('pairs-done').textContent = String(p.pairs_done);
    $('pairs-total').textContent = String(p.pairs_total);
    $('bar').max = Math.max(p.pairs_total, 1);
    $('bar').value = p.pairs_done;
    if (p.pairs_per_second !== null) $('rate').textContent = number(Math.round(p.pairs_per_second));
    if (p.eta_seconds !== null) $('eta').textContent = `${Math.ceil(p.eta_seconds)} s`;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
  }

  /** The best k per query as table rows; `final`: the results of the completed job (with document texts when asked). */
  function showTops(final) {
    const state = $('results-state');
    state.className = final ? 'final' : 'provisional';
    state.textContent = final
      ? 'Final: every shard is scored; these are the results of GET /v1/jobs/{id}/results.'
      : 'Provisional: the best so far while shards are scored. An entry leaves a top k only for a document with a higher score.';
    const body = $('top-k').tBodies[0];
    body.className = state.className;
    body.replaceChildren();
    for (const q of [...tops.values()].sort((a, b) => a.query_index - b.query_index)) {
      const name = `${q.query_id ?? `#${q.query_index}`}${q.query === undefined ? '' : `: ${q.query}`}`;
      q.top_k.forEach((r, rank) => {
        const row = body.insertRow();
        row.dataset.queryIndex = String(q.query_index);
        row.dataset.rank = String(rank + 1);
        cell(row, name, 'query');
        cell(row, String(rank + 1), 'rank');
        cell(row, String(r.index), 'index');
        cell(row, r.id ?? '', 'id');
        cell(row, r.score === null ? 'not finite' : String(r.score), 'score');
        cell(row, r.document ? r.document.text : '', 'document');
      });
    }
  }

  function onEvent(name, data) {
    if (name === 'progress') return showProgress(data);
    if (name === 'partial') {
      for (const q of data.results) tops.set(q.query_index, q);
      return showTops(false);
    }
    if (!ENDED.has(name)) return;
    showJob(data.job);
    if (name === 'completed') {
      tops.clear();
      for (const q of data.results) tops.set(q.query_index, q);
      showTops(true);
      $('download').hidden = false;
    } else {
      $('results-state').className = '';
      $('results-state').textContent = `The job ${data.job.status === 'failed' ? 'failed' : 'was cancelled'}: it has no results.`;
    }
  }

  /** Feeds a text/event-stream body to `onEvent` as the HTML standard parses it; resolves when the body ends. */
  async function readStream(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = '';
    let data = [];
    let idBuffer = lastEventId;
    const line = (text) => {
      if (text === '') {
        lastEventId = idBuffer;
        if (data.length > 0) onEvent(event || 'message', JSON.parse(data.join('\n')));
        event = '';
        data = [];
        return;
      }
      if (text.startsWith(':')) return; // a comment: heartbeat
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) idBuffer = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // Lines end with CRLF, LF or CR; a CR last in the buffer may be the first half of a CRLF.
      let end;
      while ((end = buffer.search(/\r\n|\r(?!$)|\n/)) >= 0) {
        line(buffer.slice(0, end));
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      }
    }
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** The job's events until its final one; a cut stream reconnects after `retryMs`, resuming after `lastEventId`. */
  async function watch() {
    while (lastEventId !== 'end') {
      $('connection').textContent = lastEventId === null ? 'connecting' : 'reconnecting';
      const headers = { accept: 'text/event-stream' };
      if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`;
      if (lastEventId !== null) headers['last-event-id'] = lastEventId;
      try {
        const response = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers });
        if (response.status === 204) break;
        if (response.status === 200) {
          $('connection').textContent = 'live';
          await readStream(response.body);
        } else if (response.status === 429 || response.status >= 500) {
          $('connection').textContent = `${response.status}: ${await errorOf(response)}`;
        } else {
          $('connection').textContent = await errorOf(response);
          return;
        }
      } catch (e) {
        $('connection').textContent = `cut (${e.message})`;
      }
      if (lastEventId !== 'end') await pause(retryMs);
    }
    $('connection').textContent = 'ended';
  }

  /** GET /v1/jobs/{id}: the job, then its events; asks for the key on 401. */
  async function start() {
    const response = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
    if (response.status === 401) {
      say(await errorOf(response));
      $('key-form').hidden = false;
      $('key').focus();
      return;
    }
    if (response.status !== 200) {
      say(await errorOf(response));
      return;
    }
    say('');
    $('key-form').hidden = true;
    showJob(await response.json());
    await watch();
  }

  async function download() {
    const button = $('download');
    button.disabled = true;
    try {
      const response = await api(`/v1/jobs/${encodeURIComponent(jobId)}/results?all=true`);
      if (response.status !== 200) return say(await errorOf(response));
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${jobId}-scores.jsonl`;
      document.body.append(a);
      a.click();
      a.remove();
      // The download has read the blob by then; the URL would otherwise hold it until the page closes.
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } finally {
      button.disabled = false;
    }
  }

  const fail = (e) => say(`the page stopped: ${e.message}`);

  document.addEventListener('DOMContentLoaded', () => {
    $('job-id').textContent = jobId;
    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      apiKey = $('key').value.trim();
      $('key').value = '';
      start().catch(fail);
    });
    $('download').addEventListener('click', () => download().catch(fail));
    start().catch(fail);
  });
})();
