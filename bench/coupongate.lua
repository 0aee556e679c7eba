-- wrk script for bench/bench.sh and bench/bench-distributed.sh.
--
--   wrk ... -s bench/coupongate.lua http://127.0.0.1:PORT -- health
--   wrk ... -s bench/coupongate.lua http://127.0.0.1:PORT -- apply
--   wrk ... -s bench/coupongate.lua http://127.0.0.1:PORT -- win PATH[,PATH...] RUN
--
-- health: GET /health/live, every response must be 200.
-- apply:  POST /coupon/apply?userId=N with a new N for every request, every
--         response must be 422 (the campaign 'default' is sold out).
--         Thread t (1, 2, ...) sends userIds t * 10^12 + 1, + 2, ... so no
--         two requests share a user and none is user 1 (the one winner).
-- win:    POST PATH?userId=N (e.g. /campaigns/bench-win/apply) with a new N
--         for every request, every response must be 200 (a new winner, so
--         the campaign's limit must exceed the requests). Several PATHs,
--         comma-separated, are taken in turn (each thread starting at
--         another). RUN (1 to 9000)
--         numbers the wrk run: thread t sends the userIds formed by the
--         digits of RUN, t as 4 digits and a counter as 11 digits (RUN 3,
--         thread 2: 3000200000000001, 3000200000000002, ...), so no user
--         repeats within a run or across runs with different RUN values (a
--         repeated user would get 409).
--
-- All modes go through request() and response(), so wrk does the same
-- per-request Lua work in all and the comparison measures the server.
--
-- done() prints one line that the bench scripts check:
--   coupongate-check: mode=apply expected=422 responses=N unexpected=M statuses=422:N p50_ms=X p99_ms=Y max_ms=Z
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
   if mode == "apply" or mode == "win" then
      local paths, user_prefix = {}, nil
      if mode == "apply" then
         expected = 422
         paths = { "/coupon/apply" }
         user_prefix = ""
         user_format = "%.0f"
         base = id * 1e12 -- exact in a double up to 2^53 (about 9000 threads)
      else
         expected = 200
         local run = tonumber(args[3])
         for path in string.gmatch(args[2] or "", "[^,]+") do
            if path:sub(1, 1) ~= "/" or path:find("[?#@]") then
               error("coupongate.lua: win needs PATHs like /campaigns/ID/apply (got '" .. path .. "')")
            end
            table.insert(paths, path)
         end
         if #paths == 0 then
            error("coupongate.lua: win needs a PATH like /campaigns/ID/apply (got '" .. tostring(args[2]) .. "')")
         end
         if not run or run ~= math.floor(run) or run < 1 or run > 9000 then
            error("coupongate.lua: win needs a RUN from 1 to 9000 (got '" .. tostring(args[3]) .. "')")
         end
         if id > 9999 then
            error("coupongate.lua: win supports at most 9999 threads")
         end
         -- at most 4 + 4 + 11 = 19 digits, below 2^63 - 1 since RUN <= 9000
         user_prefix = string.format("%d%04d", run, id)
         user_format = "%011.0f"
         base = 0
      end
      -- Splice the userId into requests formatted once by wrk (Host etc.).
      templates = {}
      for _, path in ipairs(paths) do
         local template = wrk.format("POST", path .. "?userId=@")
         local at = template:find("@", 1, true)
         table.insert(templates, { template:sub(1, at - 1) .. user_prefix, template:sub(at + 1) })
      end
      counter = 0
   elseif mode == "health" then
      expected = 200
      health_request = wrk.format("GET", "/health/live")
   else
      error("coupongate.lua: unknown mode '" .. tostring(mode) .. "' (use health, apply or win)")
   end
end

function request()
   if counter then
      counter = counter + 1
      local template = templates[(counter + id) % #templates + 1]
      return template[1] .. string.format(user_format, base + counter) .. template[2]
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
      "coupongate-check: mode=%s expected=%d responses=%d unexpected=%d statuses=%s p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      mode, expected, total, bad, #parts > 0 and table.concat(parts, ",") or "none",
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
