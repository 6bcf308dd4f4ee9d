-- deep: GET /posts?skip=10000, a deep page of the feed (OFFSET 10000).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

wrk.path = "/posts?skip=10000"
setup = common.setup
function init(args)
  common.authorize()
end
