-- patch: PATCH /posts/<id> of the thread's own posts, in turn: a new title only.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local k
setup = common.setup
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  common.authorize()
  common.init_own_posts()
  k = 0
end

function request()
  local post = common.own_post(k, true)
  k = k + 1
  local body = string.format('{"title":"Bench post %d-%d, patched"}', thread_index, k)
  return wrk.format(nil, "/posts/" .. post, nil, body)
end
