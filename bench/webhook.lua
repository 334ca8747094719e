-- wrk script for bench/webhook.py: sends pre-signed Twilio voice webhooks, each once.
--
-- wrk ... -s bench/webhook.lua URL -- POOL THREADS
--   POOL     a file of lines "X-Twilio-Signature<TAB>urlencoded form body", one per call
--   THREADS  wrk's -t value; thread k sends lines k, k+THREADS, ... so no CallSid repeats
-- Prints one line "BENCH-JSON {...}" with throughput, latency and answer counts.
-- A thread that runs out of lines starts again from its first one and counts "reused":
-- the caller treats that as an error (a repeated CallSid takes CallGuard's cheap path).

local pool, size, next_index = {}, 0, 0
issued, non200, degraded, reused = 0, 0, 0, 0
connect, divert, refuse, other = 0, 0, 0, 0

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2] or "1")
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = "",
  }
  local line_no = 0
  for line in io.lines(path) do
    if line_no % count == thread_index then
      local tab = line:find("\t", 1, true)
      headers["X-Twilio-Signature"] = line:sub(1, tab - 1)
      size = size + 1
      pool[size] = wrk.format("POST", wrk.path, headers, line:sub(tab + 1))
    end
    line_no = line_no + 1
  end
  if size == 0 then
    error("empty request pool " .. path)
  end
end

function request()
  issued = issued + 1
  next_index = next_index + 1
  if next_index > size then
    next_index = 1
  end
  if issued > size then
    reused = reused + 1
  end
  return pool[next_index]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
  if headers["X-CallGuard-Degraded"] == "1" then
    degraded = degraded + 1
  end
  local outcome = headers["X-CallGuard-Outcome"]
  if outcome == "connect" then
    connect = connect + 1
  elseif outcome == "divert_spoc" then
    divert = divert + 1
  elseif outcome == "refuse" then
    refuse = refuse + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = {
    issued = 0, non200 = 0, degraded = 0, reused = 0,
    connect = 0, divert_spoc = 0, refuse = 0, other = 0,
  }
  for _, thread in ipairs(threads) do
    totals.issued = totals.issued + thread:get("issued")
    totals.non200 = totals.non200 + thread:get("non200")
    totals.degraded = totals.degraded + thread:get("degraded")
    totals.reused = totals.reused + thread:get("reused")
    totals.connect = totals.connect + thread:get("connect")
    totals.divert_spoc = totals.divert_spoc + thread:get("divert")
    totals.refuse = totals.refuse + thread:get("refuse")
    totals.other = totals.other + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests":%d,"duration_s":%.6f,"p50_ms":%.3f,"p99_ms":%.3f,'
      .. '"max_ms":%.3f,"socket_errors":%d,"non200":%d,"degraded":%d,"reused":%d,'
      .. '"outcomes":{"connect":%d,"divert_spoc":%d,"refuse":%d,"other":%d}}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect + e.read + e.write + e.timeout, totals.non200, totals.degraded, totals.reused,
    totals.connect, totals.divert_spoc, totals.refuse, totals.other
  ))
end
