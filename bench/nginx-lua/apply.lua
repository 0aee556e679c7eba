-- The seed's apply flow in nginx + Lua, the baseline bench/bench-distributed.sh
-- compares CouponGate with: three Redis calls per request, as the seed's Spring
-- service made them (SADD applied_user, INCR coupon_count, then the broker
-- produce, here an XADD to a stream standing in for Kafka).
--
--   POST /coupon/apply?userId=N                -> campaign "default", limit 1
--   POST /campaigns/bench-win/apply?userId=N   -> campaign "win", limit 100,000,000
--
-- 200 issued, 409 duplicate (the seed records every applicant), 422 sold out,
-- 400 without a userId, 503 when Redis does not answer. Redis is reached over
-- cosockets with a keep-alive pool; RESP is written and read by hand (Debian
-- packages no lua-resty-redis).

local function call(sock, ...)
  local args = { ... }
  local parts = { "*", #args, "\r\n" }
  for _, arg in ipairs(args) do
    arg = tostring(arg)
    parts[#parts + 1] = "$" .. #arg .. "\r\n" .. arg .. "\r\n"
  end
  local ok, err = sock:send(table.concat(parts))
  if not ok then return nil, err end
  local line, receive_err = sock:receive("*l")
  if not line then return nil, receive_err end
  local kind = line:sub(1, 1)
  if kind == ":" then return tonumber(line:sub(2)) end
  if kind == "+" then return line:sub(2) end
  if kind == "$" then
    local length = tonumber(line:sub(2))
    if length < 0 then return ngx.null end
    local data = sock:receive(length + 2)
    return data and data:sub(1, length)
  end
  return nil, line
end

local function answer(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(body)
end

local user = ngx.var.arg_userId
if not user or not user:match("^%d+$") then
  return answer(400, '{"error":"userId"}')
end
local campaign, limit = "default", 1
if ngx.var.uri == "/campaigns/bench-win/apply" then
  campaign, limit = "win", 100000000
end

local sock = ngx.socket.tcp()
sock:settimeouts(1000, 1000, 1000)
local ok, err = sock:connect("127.0.0.1", tonumber(ngx.var.redis_port))
if not ok then return answer(503, '{"error":"redis"}') end

local prefix = "nginx:" .. campaign .. ":"
local added = call(sock, "SADD", prefix .. "applied_user", user)
if added == nil then sock:close() return answer(503, '{"error":"redis"}') end
if added == 0 then
  sock:setkeepalive(10000, 256)
  return answer(409, '{"error":"duplicate"}')
end
local count = call(sock, "INCR", prefix .. "coupon_count")
if count == nil then sock:close() return answer(503, '{"error":"redis"}') end
if count > limit then
  sock:setkeepalive(10000, 256)
  return answer(422, '{"error":"sold out"}')
end
local id = call(sock, "XADD", prefix .. "outbox", "*", "user", user, "seq", count)
if id == nil then sock:close() return answer(503, '{"error":"redis"}') end
sock:setkeepalive(10000, 256)
answer(200, '{"campaignId":"' .. campaign .. '","userId":' .. user .. ',"sequence":' .. count .. '}')
