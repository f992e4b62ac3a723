-- Shared by every bench script (and the whole script of the two ceilings): counts answers
-- by exact status in each wrk thread, and in done() prints one line that bench/mod.ts reads:
--   BENCH_RESULT {"requests":…,"p50_us":…,"statuses":{"200":…,"429":…},…}
-- wrk's own summary only says "Non-2xx or 3xx responses". Defining response() makes wrk
-- parse every answer, which costs it a little: fine, it has a core of its own.
--
-- Scripts that use up a list (codes, refresh tokens, phones) count into `used`, and into
-- `reused` when the list ran out and they had to present a spent item again; done() adds
-- them up and reports `next`, where a following run should start (otp_request.lua's offset).

local threads = {}

-- Runs in wrk's main Lua state, once per thread, before that thread's init().
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

-- Per-thread state (each wrk thread has its own Lua state).
statuses = {}
reused = 0
used = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- The non-empty lines of a file.
function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

local function encode(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(value)
end

function done(summary, latency, requests)
  local by_status = {}
  local total_reused, most_used, offset = 0, 0, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      by_status[code] = (by_status[code] or 0) + n
    end
    total_reused = total_reused + (thread:get("reused") or 0)
    most_used = math.max(most_used, thread:get("used") or 0)
    offset = thread:get("offset") or 0
  end
  local errors = summary.errors
  io.write("BENCH_RESULT ", encode({
    requests = summary.requests,
    duration_us = summary.duration,
    p50_us = latency:percentile(50),
    p90_us = latency:percentile(90),
    p99_us = latency:percentile(99),
    max_us = latency.max,
    statuses = by_status,
    socket_errors = {
      connect = errors.connect,
      read = errors.read,
      write = errors.write,
      timeout = errors.timeout,
    },
    reused = total_reused,
    -- Threads take every #threads-th item, so the next free one is past the busiest thread.
    next = offset + most_used * #threads,
  }), "\n")
end

