-- Replays pre-signed requests, one line each: METHOD \t PATH \t SIGNATURE \t BODY
-- (SIGNATURE is a MessageBird-Signature-JWT, or "Header-Name:value").
-- Every signature carries its own jti (the server refuses a replayed one), so each line
-- is sent once; when a thread has sent all of its lines it stops. With no file
-- (argument "-") it sends wrk's default request for the URL given.
-- done() prints one JSON line: counts, non-200 answers, latency percentiles (microseconds).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local lines = {}
local position = 0
local forwarded = { ["X-Forwarded-Proto"] = "https" }
bad = 0
exhausted = 0

function init(args)
  local prefix = args[1]
  if prefix == nil or prefix == "-" then
    lines = nil
    wrk.headers["X-Forwarded-Proto"] = "https"
    return
  end
  local file = assert(io.open(prefix .. "." .. id, "r"))
  for line in file:lines() do
    local method, path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["X-Forwarded-Proto"] = "https" }
    -- "Header-Name:value" names its header (no JWT or base64 holds a colon).
    local name, value = signature:match("^([%w-]+):(.*)$")
    if name then
      headers[name] = value
    else
      headers["MessageBird-Signature-JWT"] = signature
    end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
    lines[#lines + 1] = wrk.format(method, path, headers, body)
  end
  file:close()
end

function request()
  if lines == nil then
    return wrk.format(nil, nil, forwarded)
  end
  position = position + 1
  if position > #lines then
    exhausted = 1
    wrk.thread:stop()
    return lines[#lines]
  end
  return lines[position]
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local non200, ran_out = 0, 0
  for _, thread in ipairs(threads) do
    non200 = non200 + thread:get("bad")
    ran_out = ran_out + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non200": %d, "ran_out": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, non200, ran_out,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
