-- GET or POST with the Bearer tokens of many signed-in users, round-robin.
-- Args: <method> <path> <tokens file> [<ids file> [<lists>]]; with an ids file the path gets
-- ?user_ids=<the ids, comma-separated> (GET /api/v1/presence). With <lists>, the ids file holds
-- more ids than a query takes, and the requests ask for <lists> different lists of 100 of them
-- (a rotation and a stride through the ids each), in turn: more lists than the server keeps
-- (512), so none is asked for again before it has been forgotten.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status.lua")

local requests = {}
local n = 0

local STRIDES = { 1, 3, 7, 9, 11, 13, 17, 19, 21, 23 }

-- The `j`-th list: 100 of `ids` (their count coprime with each stride), from a rotation of them.
local function list(ids, j)
  local stride = STRIDES[math.floor(j / #ids) % #STRIDES + 1]
  local out = {}
  for k = 0, 99 do
    out[#out + 1] = ids[((j + k * stride) % #ids) + 1]
  end
  return table.concat(out, ",")
end

function init(args)
  local method, path, tokens_file, ids_file, lists = args[1], args[2], args[3], args[4], args[5]
  local tokens = read_lines(tokens_file)
  local paths = { path }
  if ids_file and lists then
    local ids = read_lines(ids_file)
    paths = {}
    for j = 0, tonumber(lists) - 1 do
      paths[#paths + 1] = path .. "?user_ids=" .. list(ids, j)
    end
  elseif ids_file then
    paths = { path .. "?user_ids=" .. table.concat(read_lines(ids_file), ",") }
  end
  for i = 0, math.max(#tokens, #paths) - 1 do
    local headers = { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] }
    if method == "POST" then headers["Content-Length"] = "0" end
    requests[#requests + 1] = wrk.format(method, paths[(i % #paths) + 1], headers)
  end
  -- Threads start at different users.
  n = id
end

function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end
