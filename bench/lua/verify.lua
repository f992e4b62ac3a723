-- POST /api/v1/auth/otp/verify with the right code of a fresh request each time, read from
-- the server's "request_id code" lines. Past the end it wraps around: those requests
-- (counted in `reused`) present used codes and get 400.
-- Args: <pairs file> <threads>.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local pairs_list
local stride

function init(args)
  pairs_list = read_lines(args[1])
  stride = tonumber(args[2])
end

function request()
  -- Thread `id` takes every `stride`-th pair, so no two threads present the same code.
  local n = id + used * stride
  used = used + 1
  if n >= #pairs_list then reused = reused + 1 end
  local request_id, code = pairs_list[(n % #pairs_list) + 1]:match("^(%S+) (%S+)$")
  return wrk.format("POST", "/api/v1/auth/otp/verify",
    { ["Content-Type"] = "application/json" },
    '{"request_id":"' .. request_id .. '","code":"' .. code .. '"}')
end
