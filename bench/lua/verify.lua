-- POST /api/v1/auth/otp/verify with the right code of a fresh request each time, read from
-- the server's "request_id code" lines. Past the end it wraps around: those requests
-- (counted in `reused`) present used codes and get 400. The peer (better-auth) takes another
-- path, and its lines are "phone code": the first word goes in the field named `phoneNumber`.
-- Args: <pairs file> <threads> [<path> <first word's field>].
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local pairs_list
local stride
local path, field = "/api/v1/auth/otp/verify", "request_id"

function init(args)
  pairs_list = read_lines(args[1])
  stride = tonumber(args[2])
  path = args[3] or path
  field = args[4] or field
end

function request()
  -- Thread `id` takes every `stride`-th pair, so no two threads present the same code.
  local n = id + used * stride
  used = used + 1
  if n >= #pairs_list then reused = reused + 1 end
  local id, code = pairs_list[(n % #pairs_list) + 1]:match("^(%S+) (%S+)$")
  return wrk.format("POST", path,
    { ["Content-Type"] = "application/json" },
    '{"' .. field .. '":"' .. id .. '","code":"' .. code .. '"}')
end
