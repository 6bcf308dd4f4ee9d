-- update: PUT /posts/<id> (a full replace) of the thread's own posts, in turn, each with a new
-- title (so that every request really changes the row).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local k
setup = common.setup
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  common.authorize()
  common.init_own_posts()
  k = 0
end

function request()
  local post = common.own_post(k, true)
  k = k + 1
  local body = string.format(
    '{"title":"Bench post %d-%d, replaced","content":"Replaced by the benchmark.",'
      .. '"published":true}',
    thread_index, k)
  return wrk.format(nil, "/posts/" .. post, nil, body)
end
