-- floor: GET /floor/<id> on bench/floor.py (one query, nothing else), random published ids.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local published
setup = common.setup
function init(args)
  common.randomize()
  published = common.published_count(common.env_number("BENCH_POSTS"))
end

function request()
  local id = common.published_id(math.random(0, published - 1))
  return wrk.format("GET", "/floor/" .. id)
end
