-- get: GET /posts/<id> for random PUBLISHED seeded posts (a 404 is a real error).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local published
setup = common.setup
function init(args)
  common.authorize()
  common.randomize()
  published = common.published_count(common.env_number("BENCH_POSTS"))
end

function request()
  local id = common.published_id(math.random(0, published - 1))
  return wrk.format("GET", "/posts/" .. id)
end
