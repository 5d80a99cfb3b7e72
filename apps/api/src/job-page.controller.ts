import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Controller, Get, Res } from '@nestjs/common';
import { nestPath, ROUTES } from './routes';

/**
 * What a browser may do on the page: load this origin's script and style and call this origin's API,
 * nothing else (no inline script or style, no frames, no form posts, not framed by another site).
 */
export const JOB_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's files (job-page/, copied into dist/ by scripts/copy-assets.js), read once. */
const read = (name: string) => readFileSync(join(__dirname, 'job-page', name), 'utf8');

/**
 * The job page: GET /jobs/{id} in a browser shows the job's progress, its live best k per query and
 * the final results, read from the API by job-page/job-page.js with the caller's key. The page and its
 * assets hold no job data, so they are served without a key (the key guard is not on this controller).
 */
@Controller()
export class JobPageController {
  private readonly html = read('job-page.html');
  private readonly script = read('job-page.js');
  private readonly style = read('job-page.css');

  @Get(nestPath(ROUTES.jobPage))
  page(@Res() res: ServerResponse): void {
    send(res, 'text/html; charset=utf-8', this.html);
  }

  @Get(nestPath(ROUTES.jobPageScript))
  pageScript(@Res() res: ServerResponse): void {
    send(res, 'text/javascript; charset=utf-8', this.script);
  }

  @Get(nestPath(ROUTES.jobPageStyle))
  pageStyle(@Res() res: ServerResponse): void {
    send(res, 'text/css; charset=utf-8', this.style);
  }
}

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'content-security-policy': JOB_PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Revalidated on each load, so a new version of the API never runs an old script.
    'cache-control': 'no-cache',
  });
  res.end(body);
}
