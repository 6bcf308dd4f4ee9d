-- search: GET /posts?search=<word>, cycling over BENCH_SEARCH_WORDS (comma-separated: common
-- title words, each in about 2% of the titles, and a rare one in about 0.01%).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local words, k
setup = common.setup
function init(args)
  common.authorize()
  words = common.split(os.getenv("BENCH_SEARCH_WORDS"))
  assert(#words > 0, "BENCH_SEARCH_WORDS is empty")
  k = thread_index -- threads start at different words
end

function request()
  k = k + 1
  return wrk.format("GET", "/posts?search=" .. words[k % #words + 1])
end
