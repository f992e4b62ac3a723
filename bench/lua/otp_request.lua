-- POST /api/v1/auth/otp/request, every request for a new phone: +1415 followed by 7 digits
-- from 2000000 up (valid numbers for libphonenumber), all from one client IP. The measured
-- run starts at the warm-up's `next`, so no phone is asked for twice. The peer (better-auth)
-- takes another path and names the field `phoneNumber`.
-- Args: <threads> <offset> [<path> <phone field>].
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local FIRST, LAST = 2000000, 9999999
local stride
local path, field = "/api/v1/auth/otp/request", "phone"

function init(args)
  stride = tonumber(args[1])
  offset = tonumber(args[2])
  path = args[3] or path
  field = args[4] or field
end

function request()
  -- Thread `id` takes every `stride`-th phone.
  local n = offset + id + used * stride
  used = used + 1
  if n > LAST - FIRST then
    reused = reused + 1
    n = n % (LAST - FIRST + 1)
  end
  return wrk.format("POST", path,
    { ["Content-Type"] = "application/json" },
    '{"' .. field .. '":"+1415' .. (FIRST + n) .. '"}')
end
