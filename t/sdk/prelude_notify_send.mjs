// Prelude's own Node SDK (@prelude.so/sdk) against the gateway: one
// notify.send (POST /v2/notify) or notify.sendBatch (POST
// /v2/notify/batch) as an application makes it, without the SDK's
// retries. Prints one JSON line: {"ok":true,"body":...} or
// {"ok":false,"status":N,"body":...}.
// usage: node prelude_notify_send.mjs SDK_DIR BASE_URL API_KEY send|sendBatch PARAMS_JSON
import { createRequire } from "node:module";
import path from "node:path";

const [sdkDir, baseURL, apiToken, method, params] = process.argv.slice(2);
const require = createRequire(path.join(sdkDir, "package.json"));
const Prelude = require("@prelude.so/sdk").default;

const client = new Prelude({ baseURL, apiToken, maxRetries: 0, timeout: 30000 });
try {
    const body = await client.notify[method](JSON.parse(params));
    console.log(JSON.stringify({ ok: true, body }));
} catch (e) {
    console.log(JSON.stringify({ ok: false, status: e.status ?? 0, body: e.error ?? String(e) }));
}
