-- Shared by the scenario scripts: which wrk thread this is, its bearer token, and the
-- published post ids of the seeded dataset. Everything comes from environment variables set
-- by bench/run.py (wrk passes its environment to the scripts):
--   BENCH_TOKENS  comma-separated access tokens; wrk thread i uses token i (round robin)
--   BENCH_POSTS   the number of seeded posts (ids 1..BENCH_POSTS; every 10th is a draft)
--   BENCH_OWN_POSTS_FIRST, BENCH_OWN_POSTS  the write scenarios' own posts (init_own_posts)
--
-- Usage, at the top of a scenario script:
--   package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
--   local common = require("common")
--   setup = common.setup            -- then, in init(): common.authorize()

local common = {}

local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do
    items[#items + 1] = item
  end
  return items
end
common.split = split

-- Runs in wrk's main Lua state, once per thread, before the threads start: hands each thread
-- its index (1-based) and its token. Each thread then reads them as globals in init().
local threads = 0
function common.setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
  local tokens = split(os.getenv("BENCH_TOKENS"))
  if #tokens > 0 then
    thread:set("token", tokens[(threads - 1) % #tokens + 1])
  end
end

-- In init(): every request of this thread carries its bearer token.
function common.authorize()
  assert(token, "BENCH_TOKENS is empty")
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- A different random sequence per thread (wrk's Lua states all start from the same seed).
function common.randomize()
  math.randomseed(os.time() * 1000 + thread_index)
end

function common.env_number(name)
  local value = tonumber(os.getenv(name))
  assert(value, name .. " is not set")
  return value
end

-- The g-th published post (g from 0): ids 1-9, 11-19, 21-29, ... (multiples of 10 are drafts).
function common.published_id(g)
  return math.floor(g / 9) * 10 + g % 9 + 1
end

-- How many of the ids 1..posts are published.
function common.published_count(posts)
  return posts - math.floor(posts / 10)
end

-- For the scripts that GET one random published post (get, floor): in init(), then request().
local published
function common.init_published()
  common.randomize()
  published = common.published_count(common.env_number("BENCH_POSTS"))
end

function common.get_random_published(prefix, suffix)
  local id = common.published_id(math.random(0, published - 1))
  return wrk.format("GET", prefix .. id .. (suffix or ""))
end

-- For the scripts that change the thread's own posts (update, patch, delete; see
-- bench/writes.py): BENCH_OWN_POSTS_FIRST holds each thread's first id (comma-separated, in
-- thread order), BENCH_OWN_POSTS how many consecutive ids each thread owns.
local own_first, own_count
function common.init_own_posts()
  own_first = tonumber(split(os.getenv("BENCH_OWN_POSTS_FIRST"))[thread_index])
  assert(own_first, "BENCH_OWN_POSTS_FIRST has no id for thread " .. thread_index)
  own_count = common.env_number("BENCH_OWN_POSTS")
end

-- The k-th (from 0) of this thread's posts; with `cycle`, k wraps around (updates may come
-- back to a post, a delete may not).
function common.own_post(k, cycle)
  return own_first + (cycle and k % own_count or k)
end

-- The whole of a script that changes the thread's own posts in turn (update, patch): `method`
-- on /posts/<id>, with the JSON body `body` formatted with the thread's index and a counter, so
-- that every request really changes the row.
function common.change_own_posts(method, body)
  local k
  setup = common.setup
  wrk.method = method
  wrk.headers["Content-Type"] = "application/json"
  function init(args)
    common.authorize()
    common.init_own_posts()
    k = 0
  end
  function request()
    local post = common.own_post(k, true)
    k = k + 1
    return wrk.format(nil, "/posts/" .. post, nil, string.format(body, thread_index, k))
  end
end

return common
