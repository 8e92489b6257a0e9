// Prelude's own Node SDK (@prelude.so/sdk) against the gateway: one POST
// through the SDK's client (its headers, its retry rule: 408/409/429/5xx
// unless x-should-retry says otherwise). Prints one JSON line:
// {"ok":true,"body":...} or {"ok":false,"status":N,"body":...}.
// usage: node prelude_post.mjs SDK_DIR BASE_URL API_KEY PATH BODY_JSON [IDEMPOTENCY_KEY]
import { createRequire } from "node:module";
import path from "node:path";

const [sdkDir, baseURL, apiToken, route, bodyJson, idempotencyKey] = process.argv.slice(2);
const require = createRequire(path.join(sdkDir, "package.json"));
const Prelude = require("@prelude.so/sdk").default;

const client = new Prelude({ baseURL, apiToken, timeout: 30000 });
const options = { body: JSON.parse(bodyJson) };
if (idempotencyKey) options.headers = { "Idempotency-Key": idempotencyKey };
try {
    const body = await client.post(route, options);
    console.log(JSON.stringify({ ok: true, body }));
} catch (e) {
    console.log(JSON.stringify({ ok: false, status: e.status ?? 0, body: e.error ?? String(e) }));
}
