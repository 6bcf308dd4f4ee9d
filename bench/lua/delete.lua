-- delete: DELETE /posts/<id> of the thread's own posts, each once, in order. bench/writes.py
-- creates enough of them for the run; past the last, the 404s count as errors.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local k
setup = common.setup
wrk.method = "DELETE"
function init(args)
  common.authorize()
  common.init_own_posts()
  k = -1
end

function request()
  k = k + 1
  return wrk.format(nil, "/posts/" .. common.own_post(k, false))
end
