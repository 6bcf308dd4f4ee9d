-- floor: GET /floor/<id> on bench/floor.py (one query, nothing else), random published ids.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
function init(args)
  common.init_published()
end

function request()
  return common.get_random_published("/floor/")
end
