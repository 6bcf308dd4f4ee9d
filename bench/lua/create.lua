-- create: POST /posts with a JSON body; the title carries a per-thread counter.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local k
setup = common.setup
wrk.method = "POST"
wrk.path = "/posts"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  common.authorize()
  k = 0
end

function request()
  k = k + 1
  local body = string.format(
    '{"title":"Bench post %d-%d about the river","content":"Created by the benchmark.",'
      .. '"published":true}',
    thread_index, k)
  return wrk.format(nil, nil, nil, body)
end
