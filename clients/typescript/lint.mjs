// Lints an OpenAPI document with Redocly's recommended rules; exits 1 on any problem, warnings
// included. Run by tests/test_typescript_client.py: `node lint.mjs openapi.json`.
import { createConfig, lint } from "@redocly/openapi-core";

const config = await createConfig({
  extends: ["recommended"],
  rules: {
    // A classroom server with no accounts: no operation takes credentials (README).
    "security-defined": "off",
    // The probes answer 200 or 503 and nothing else; every /api operation has its 4xx.
    "operation-4xx-response": "off",
  },
});
const problems = await lint({ ref: process.argv[2], config });
for (const problem of problems) {
  const where = problem.location?.[0]?.pointer ?? "";
  console.log(`${problem.severity} ${problem.ruleId} ${where}: ${problem.message}`);
}
process.exit(problems.length === 0 ? 0 : 1);
