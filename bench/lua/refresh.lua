-- POST /api/v1/auth/refresh, every request with a refresh token never presented before:
-- first the server's tokens (one a line), then each new token a 200 answer hands back, as a
-- client rotating its sign-in would. Only if none is left (many failures) does it present an
-- old one again: those requests, counted in `reused`, get 401.
-- Args: <tokens file> <threads>.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local queue, head, tail
local from_file

function init(args)
  from_file = read_lines(args[1])
  -- Threads split the file: thread `id` takes every `threads`-th token.
  local stride = tonumber(args[2])
  queue, head, tail = {}, 1, 0
  for i = id + 1, #from_file, stride do
    tail = tail + 1
    queue[tail] = from_file[i]
  end
end

local function body(token)
  return wrk.format("POST", "/api/v1/auth/refresh",
    { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function request()
  used = used + 1
  if head > tail then
    reused = reused + 1
    return body(from_file[(used % #from_file) + 1])
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return body(token)
end

function response(status, headers, answer)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    local token = answer:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
