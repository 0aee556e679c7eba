-- wrk script for bench/bench.sh.
--
--   wrk ... -s bench/coupongate.lua http://127.0.0.1:PORT -- health
--   wrk ... -s bench/coupongate.lua http://127.0.0.1:PORT -- apply
--
-- health: GET /health/live, every response must be 200.
-- apply:  POST /coupon/apply?userId=N with a new N for every request, every
--         response must be 422 (the campaign 'default' is sold out).
--         Thread t (1, 2, ...) sends userIds t * 10^12 + 1, + 2, ... so no
--         two requests share a user and none is user 1 (the one winner).
--
-- Both modes go through request() and response(), so wrk does the same
-- per-request Lua work in both and the comparison measures the server.
--
-- done() prints one line that bench.sh checks:
--   coupongate-check: mode=apply expected=422 responses=N unexpected=M statuses=422:N
-- with unexpected = responses whose status was not the expected one.

local threads = {}
local next_thread_id = 1

function setup(thread)
   thread:set("id", next_thread_id)
   next_thread_id = next_thread_id + 1
   table.insert(threads, thread)
end

function init(args)
   mode = args[1]
   responses = 0
   unexpected = 0
   statuses = {}
   if mode == "apply" then
      expected = 422
      -- Splice the userId into a request formatted once by wrk (Host etc.).
      local template = wrk.format("POST", "/coupon/apply?userId=@")
      local at = template:find("@", 1, true)
      prefix = template:sub(1, at - 1)
      suffix = template:sub(at + 1)
      base = id * 1e12 -- exact in a double up to 2^53 (about 9000 threads)
      counter = 0
   elseif mode == "health" then
      expected = 200
      health_request = wrk.format("GET", "/health/live")
   else
      error("coupongate.lua: unknown mode '" .. tostring(mode) .. "' (use health or apply)")
   end
end

function request()
   if expected == 422 then
      counter = counter + 1
      return prefix .. string.format("%.0f", base + counter) .. suffix
   end
   return health_request
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= expected then
      unexpected = unexpected + 1
   end
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local mode, expected, total, bad = "?", 0, 0, 0
   local by_status = {}
   for _, thread in ipairs(threads) do
      mode = thread:get("mode") or mode
      expected = thread:get("expected") or expected
      total = total + (thread:get("responses") or 0)
      bad = bad + (thread:get("unexpected") or 0)
      local s = thread:get("statuses")
      if s then
         for status, count in pairs(s) do
            by_status[status] = (by_status[status] or 0) + count
         end
      end
   end
   local keys = {}
   for status in pairs(by_status) do
      table.insert(keys, status)
   end
   table.sort(keys)
   local parts = {}
   for _, status in ipairs(keys) do
      table.insert(parts, string.format("%d:%d", status, by_status[status]))
   end
   io.write(string.format(
      "coupongate-check: mode=%s expected=%d responses=%d unexpected=%d statuses=%s\n",
      mode, expected, total, bad, #parts > 0 and table.concat(parts, ",") or "none"))
end
