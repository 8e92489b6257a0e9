-- Cycles through pre-built POSTs ("<header value> <body>" lines); each wrk
-- thread takes its own share, so no line is sent twice while the pool lasts
-- (for webhooks a wrapped-around resend is a duplicate: acknowledged, no
-- second event). Arguments: FILE NTHREADS URI [HEADER [PREFIX]]: the first
-- field of a line is sent as HEADER (default X-Hub-Signature-256), after
-- PREFIX ("Bearer " for API keys). URI "-" makes them GETs: each line is
-- "<header value> <path>" (bench/inbox). With BENCH_READY set, each thread creates
-- the file "$BENCH_READY.<thread>" once its share is loaded, so that the
-- caller samples CPU use over the run only, not over the loading.
local threads = {}
local reqs, n = {}, 0
sent = 0  -- global: done() reads each thread's count

function setup(thread)
    thread:set("tid", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    local path, nthreads, uri = args[1], tonumber(args[2]), args[3]
    local header, prefix = args[4] or "X-Hub-Signature-256", args[5] or ""
    local i = 0
    for line in io.lines(path) do
        if i % nthreads == tid then
            local sp = line:find(" ", 1, true)
            if uri == "-" then
                reqs[#reqs + 1] = wrk.format("GET", line:sub(sp + 1), {
                    [header] = prefix .. line:sub(1, sp - 1),
                })
            else
                reqs[#reqs + 1] = wrk.format("POST", uri, {
                    ["Content-Type"] = "application/json",
                    [header] = prefix .. line:sub(1, sp - 1),
                }, line:sub(sp + 1))
            end
        end
        i = i + 1
    end
    local ready = os.getenv("BENCH_READY")
    if ready then io.open(ready .. "." .. tid, "w"):close() end
end

function request()
    sent = sent + 1
    n = n + 1
    if n > #reqs then n = 1 end
    return reqs[n]
end

-- requests= counts the answered ones, sent= those sent (the ones still in
-- flight when wrk stopped included: the server got them too).
function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get("sent") end
    io.write(string.format("BENCH requests=%d sent=%d duration_us=%d rps=%.0f p50_us=%d p99_us=%d errors=%d\n",
        summary.requests, total, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99),
        summary.errors.status + summary.errors.connect + summary.errors.read +
        summary.errors.write + summary.errors.timeout))
end
