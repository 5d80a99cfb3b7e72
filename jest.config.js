/** Tests run from TypeScript sources; processes they spawn (workers, the API) run from dist/, built by `npm test`. */
module.exports = {
  testEnvironment: '<rootDir>/test/jest-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  moduleNameMapper: {
    '^@rerank/engine$': '<rootDir>/libs/engine/src',
    '^@rerank/model-gen$': '<rootDir>/libs/model-gen/src',
    '^@rerank/jobs$': '<rootDir>/libs/jobs/src',
    '^@rerank/harness$': '<rootDir>/libs/harness/src',
    '^@rerank/client$': '<rootDir>/libs/client/src',
  },
  testTimeout: 120000,
};
