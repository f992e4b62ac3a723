-- GET or POST with the Bearer tokens of many signed-in users, round-robin.
-- Args: <method> <path> <tokens file> [<ids file>]; with an ids file the path gets
-- ?user_ids=<the ids, comma-separated> (GET /api/v1/presence).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local requests = {}
local n = 0

function init(args)
  local method, path, tokens_file, ids_file = args[1], args[2], args[3], args[4]
  if ids_file then
    path = path .. "?user_ids=" .. table.concat(read_lines(ids_file), ",")
  end
  for _, token in ipairs(read_lines(tokens_file)) do
    local headers = { ["Authorization"] = "Bearer " .. token }
    if method == "POST" then headers["Content-Length"] = "0" end
    requests[#requests + 1] = wrk.format(method, path, headers)
  end
  -- Threads start at different users.
  n = id
end

function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end
