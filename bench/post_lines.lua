-- Cycles through pre-built POSTs ("<header value> <body>" lines); each wrk
-- thread takes its own share, so no line is sent twice while the pool lasts
-- (for webhooks a wrapped-around resend is a duplicate: acknowledged, no
-- second event). Arguments: FILE NTHREADS URI [HEADER [PREFIX]]: the first
-- field of a line is sent as HEADER (default X-Hub-Signature-256), after
-- PREFIX ("Bearer " for API keys).
local threads = 0
local reqs, n = {}, 0

function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

function init(args)
    local path, nthreads, uri = args[1], tonumber(args[2]), args[3]
    local header, prefix = args[4] or "X-Hub-Signature-256", args[5] or ""
    local i = 0
    for line in io.lines(path) do
        if i % nthreads == tid then
            local sp = line:find(" ", 1, true)
            reqs[#reqs + 1] = wrk.format("POST", uri, {
                ["Content-Type"] = "application/json",
                [header] = prefix .. line:sub(1, sp - 1),
            }, line:sub(sp + 1))
        end
        i = i + 1
    end
end

function request()
    n = n + 1
    if n > #reqs then n = 1 end
    return reqs[n]
end

function done(summary, latency, requests)
    io.write(string.format("BENCH requests=%d duration_us=%d rps=%.0f p50_us=%d p99_us=%d errors=%d\n",
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99),
        summary.errors.status + summary.errors.connect + summary.errors.read +
        summary.errors.write + summary.errors.timeout))
end
