-- comment: POST /posts/<id>/comments on random PUBLISHED seeded posts (a 404 is a real error);
-- the body carries a per-thread counter. The comments go with the run's writers afterwards.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local k, published
setup = common.setup
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  common.authorize()
  common.randomize()
  published = common.published_count(common.env_number("BENCH_POSTS"))
  k = 0
end

function request()
  k = k + 1
  local post = common.published_id(math.random(0, published - 1))
  local body = string.format('{"body":"Bench comment %d-%d, a sentence long."}', thread_index, k)
  return wrk.format(nil, string.format("/posts/%d/comments", post), nil, body)
end
