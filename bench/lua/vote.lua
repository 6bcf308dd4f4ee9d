-- vote: POST /vote cycling vote/unvote over many posts, without 409 or 404.
-- Each thread has its own fresh user (no seeded votes) and its own BENCH_VOTE_POSTS published
-- posts (disjoint from the other threads'). Request k of a thread targets post k mod M of its
-- range, with dir 1 on even passes over the range and dir 0 on odd ones: by the time a pass
-- comes back to a post, the request of the previous pass finished long ago (M is far larger
-- than the connections in flight). A request still in flight at a pass boundary would show as
-- a 409 or 404: such overlaps are counted as errors, not hidden.
-- The first call to request() in each thread returns GET /health instead: wrk calls request()
-- once on its first thread to check the script, without sending what it gets (the check for
-- pipelining), and the vote cycle must not lose its first vote to that.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local range, first, k
setup = common.setup
wrk.method = "POST"
wrk.path = "/vote"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  common.authorize()
  range = common.env_number("BENCH_VOTE_POSTS")
  first = (thread_index - 1) * range -- this thread's first published-post index
  k = -1
end

function request()
  if k < 0 then
    k = 0
    return wrk.format("GET", "/health", nil, "")
  end
  local post = common.published_id(first + k % range)
  local dir = math.floor(k / range) % 2 == 0 and 1 or 0
  k = k + 1
  return wrk.format(nil, nil, nil, string.format('{"post_id":%d,"dir":%d}', post, dir))
end
