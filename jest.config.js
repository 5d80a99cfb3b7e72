/**
 * Two tiers, as jest projects (`npm test` runs both; `npm run test:unit` the first):
 * - unit: test/unit and test/repo, in-process only (no redis-server, no child process, no model
 *   files): the services on fakes of their ports, the pure core, and checks of the repository's own
 *   files (paths cited in comments and docs); seconds.
 * - integration: everything else: the adapters on a real redis-server, the engine on real ONNX
 *   Runtime sessions, the apps as processes from dist/ (built by `npm test`).
 */
const shared = {
  testEnvironment: '<rootDir>/test/jest-environment.js',
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  moduleNameMapper: {
    '^@rerank/engine$': '<rootDir>/libs/engine/src',
    '^@rerank/model-gen$': '<rootDir>/libs/model-gen/src',
    '^@rerank/jobs$': '<rootDir>/libs/jobs/src',
    '^@rerank/harness$': '<rootDir>/libs/harness/src',
    '^@rerank/client$': '<rootDir>/libs/client/src',
  },
};

module.exports = {
  testTimeout: 120000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit', '<rootDir>/test/repo'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/', '<rootDir>/test/repo/'],
    },
  ],
};
