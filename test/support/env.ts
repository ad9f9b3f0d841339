/** Settings the global test setup hands to every test file through the environment. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run tests through \`npm test\` or \`npx vitest\` so test/support/globalSetup.ts starts the services`,
    );
  }
  return value;
}
