-- comments: GET /posts/<id>/comments for random PUBLISHED seeded posts (a 404 is a real error).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
function init(args)
  common.authorize()
  common.init_published()
end

function request()
  return common.get_random_published("/posts/", "/comments")
end
