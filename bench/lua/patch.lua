-- patch: PATCH /posts/<id> of the thread's own posts, in turn: a new title only.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

common.change_own_posts("PATCH", '{"title":"Bench post %d-%d, patched"}')
