-- list: GET /posts (first page, default limit 10), as a logged-in seeded user.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

wrk.path = "/posts"
setup = common.setup
function init(args)
  common.authorize()
end
