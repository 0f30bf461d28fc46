-- wrk script: cycle through the requests of a file, count answers by status, report JSON.
-- Each line of the file (the script's first argument): METHOD PATH [JSON body].
-- Run: wrk -s requests.lua <url> -- <requests file> [API key] [one more header, "Name: value"]
local requests_ = {}
local next_ = 1
local threads = {}
local headers = {["Content-Type"] = "application/json"}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[2] ~= nil and args[2] ~= "" then headers["X-API-Key"] = args[2] end
  if args[3] ~= nil and args[3] ~= "" then
    local name, value = args[3]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
    if body == "" then body = nil end
    table.insert(requests_, wrk.format(method, path, headers, body))
  end
  next_ = math.random(#requests_)
  ok, refused, failed = 0, 0, 0
end

function request()
  next_ = next_ % #requests_ + 1
  return requests_[next_]
end

function response(status, headers, body)
  if status < 300 then ok = ok + 1 elseif status < 500 then refused = refused + 1 else failed = failed + 1 end
end

function done(summary, latency, requests)
  local sums = {ok = 0, refused = 0, failed = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(sums) do sums[key] = sums[key] + thread:get(key) end
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "ok": %d, "status_4xx": %d, "status_5xx": %d, ' ..
    '"socket_errors": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, sums.ok, sums.refused, sums.failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
