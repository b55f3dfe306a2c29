-- wrk script for bench/exam_load.py: rotate over a generated table of requests and count
-- every response that is not 200 as an error (a redirect means a lost session or a finished
-- attempt, which would make the figures meaningless).
--
--   wrk -t2 -c32 -d20s -s bench/exam_load.lua http://127.0.0.1:PORT -- requests.lua
--
-- requests.lua returns a list of {method, path, headers, body}; exam_load.py writes it.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

function init(args)
  local list = dofile(args[1])
  requests = {}
  for i, r in ipairs(list) do
    requests[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
  -- each thread starts at its own place so that two threads do not walk in step
  index = ((thread_number or 1) - 1) * math.floor(#requests / 2)
  errors = 0
  last_bad_status = 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    last_bad_status = status
  end
end

function done(summary, latency, requests_done)
  local bad, last = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("errors")
    local status = thread:get("last_bad_status")
    if status ~= 0 then last = status end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "bad_status": %d, "last_bad_status": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, bad, last, e.connect, e.read, e.write, e.timeout))
end
