-- update: PUT /posts/<id> (a full replace) of the thread's own posts, in turn, each with a new
-- title.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

common.change_own_posts("PUT", '{"title":"Bench post %d-%d, replaced",'
  .. '"content":"Replaced by the benchmark.","published":true}')
